/**
 * The parts of a job spec every kernel's schema (kernels/<kernel>/spec.ts) is built from: the
 * fields every job has, the verification-policy fields a kernel takes or refuses, and the rules
 * between them. Each piece carries the message the job's parse (host/job.ts parseJob) gives.
 */
import * as v from 'valibot';
import { checkRounds } from '../proof/freivalds-modp';
import { validateTrustPolicy, type TrustPolicy } from '../proof/trust';
import { MAX_CHALLENGE } from '../protocol';
import { MAX_UNIT_MATRIX_DIM } from './matmul/unit';
import { fields, intIn, refused } from './spec-fields';

/**
 * Adaptive trust (proof/trust.ts), any job: once a key has a run of valid results, its results
 * are verified only with decreasing probability, and `banAfter` invalid results ban it from the
 * job. Missing fields take DEFAULT_TRUST_POLICY's values. Without `trust`, every result is
 * verified and no key is banned.
 */
export type JobTrust = Partial<TrustPolicy>;

/** Leaves challenged per replica from a key without an earned record, when the job gives no `samples`. */
export const DEFAULT_REPLICA_SAMPLES = 8;

/** The most output a unit of a job that collects may upload: the largest C (1024 × 1024 words). */
export const MAX_COLLECT_BYTES = 4 * MAX_UNIT_MATRIX_DIM * MAX_UNIT_MATRIX_DIM;

/** A value that `check` (which throws an Error saying what is wrong) accepts; the message is the Error's, after `prefix`. */
function checkedBy<T>(check: (value: unknown) => void, prefix = '') {
  const problem = (value: unknown): string | undefined => {
    try {
      check(value);
      return undefined;
    } catch (err) {
      return prefix + (err instanceof Error ? err.message : String(err));
    }
  };
  return v.custom<T>(
    (value) => problem(value) === undefined,
    (issue) => problem(issue.input) ?? 'invalid',
  );
}

/** Units one job may have at most. */
export const MAX_JOB_UNITS = 1_000_000;

/** The fields of every job, whatever its kernel. */
export const jobEntries = {
  id: v.pipe(v.string('id must be 1..64 letters, digits, . _ or -'), v.regex(/^[\w.-]{1,64}$/, 'id must be 1..64 letters, digits, . _ or -')),
  units: intIn('units', 1, MAX_JOB_UNITS),
  seed: intIn('seed', 0, 0xffffffff),
  /** Jobs with a higher priority are leased first (default 0). */
  priority: v.optional(intIn('priority', -1000, 1000)),
  trust: v.optional(checkedBy<JobTrust>((value) => validateTrustPolicy(value))),
};

/**
 * Results checked leaf by leaf. `samples`: leaves the host challenges per result (a volunteer
 * faking a fraction f of a unit is caught with probability 1 − (1 − f)^samples); optional with
 * `replicate` (the check of each replica from a key without an earned record, default
 * DEFAULT_REPLICA_SAMPLES). `collect`: keep every unit's output (OutputPolicy in verifiers/policy.ts).
 */
export const leafPolicyEntries = {
  samples: v.optional(intIn('samples', 1, MAX_CHALLENGE)),
  collect: v.optional(v.boolean('collect must be true or false')),
};

/*
 * Replication (`replicate: true`, for kernels whose output is bit-exact on every device): each
 * unit goes to two keys in turn and is accepted when their roots agree; on disagreement a third
 * key decides (verify-replicas.ts). Keys cost nothing to make, so agreement alone proves
 * nothing: a replica from a key without an earned record (in its warm-up, spot-checked, or in a
 * job without `trust`) is challenged like a result of the challenge policy (`samples` leaves,
 * default DEFAULT_REPLICA_SAMPLES) before its vote counts. It costs a second computation of
 * every unit (less under `trust`: a trusted key's result is accepted alone). It needs at least
 * two volunteers.
 */
const replicateMessage = 'replicate must be true when given';
export const replicateEntry = {
  replicate: v.optional(
    v.pipe(
      v.boolean(replicateMessage),
      v.check((replicate) => replicate, replicateMessage),
    ),
  ),
};

/** What a kernel whose results differ between devices says to `replicate`. */
export function replicateRefused(kernel: string, instead: string) {
  return { replicate: refused<boolean>(`replicate needs bit-exact results; ${kernel} differs between devices (${instead})`) };
}

/**
 * How a matrix job checks results. 'challenge' (the default): the host recomputes `samples`
 * rows of C it picks after the commitment. 'freivalds': the volunteer sends all of C, which must
 * hash to its committed root, and the host runs `rounds` (default 2) rounds of Freivalds' check
 * (proof/freivalds-*.ts): a wrong modp product passes with probability ≤ (1/p + 2^-32)^rounds;
 * f32 is checked within a rounding tolerance (see freivalds-f32.ts).
 */
export const verifySchema = fields(
  {
    policy: v.picklist(['challenge', 'freivalds'], 'verify.policy must be "challenge" or "freivalds"'),
    rounds: v.optional(checkedBy<number>((value) => checkRounds(value as number), 'verify.')),
  },
  { notObject: 'verify must be an object', unknown: (key) => `verify has an unknown field '${key}'` },
);
export type MatmulVerify = v.InferOutput<typeof verifySchema>;
export const verifyEntry = { verify: v.optional(verifySchema) };

/** Why a result needs no policy (proof of work: every share is rechecked), said to each policy field given. */
export function policiesRefused(kernel: string, why: string, kept: string) {
  return {
    samples: refused<number>(`samples does not apply to ${kernel} (${why})`),
    replicate: refused<boolean>(`replicate does not apply to ${kernel} (${why})`),
    collect: refused<boolean>(`collect does not apply to ${kernel} (${kept})`),
  };
}

/** A rule between fields: why the spec is wrong, or undefined. */
export type SpecRule<S> = (spec: S) => string | undefined;

interface LeafPolicyFields {
  readonly samples?: number;
  readonly replicate?: boolean;
  readonly verify?: MatmulVerify;
}

/** The policy fields of a kernel checked leaf by leaf: one policy at a time, and `samples` exactly where a policy uses it. */
export const leafPolicyRules: readonly SpecRule<LeafPolicyFields>[] = [
  (spec) => (spec.replicate !== undefined && spec.verify !== undefined ? 'replicate replaces verify: give one policy' : undefined),
  (spec) =>
    spec.verify?.policy === 'freivalds' && 'samples' in spec ? 'samples does not apply to verify.policy "freivalds" (every row is checked)' : undefined,
  (spec) =>
    spec.samples === undefined && spec.replicate === undefined && spec.verify?.policy !== 'freivalds'
      ? `samples must be an integer in 1..${MAX_CHALLENGE}`
      : undefined,
  (spec) => (spec.verify?.rounds !== undefined && spec.verify.policy !== 'freivalds' ? 'verify.rounds is for the freivalds policy' : undefined),
];

/**
 * A kernel's job spec: the fields every job has, the kernel's own `entries` (its sizes and the
 * policy fields it takes or refuses), no other field, then `rules` in order. Every failure is
 * one message, which the caller prefixes with the job's id.
 */
export function jobSpecSchema<const K extends string, const E extends v.ObjectEntries>(
  kernel: K,
  entries: E,
  rules: readonly SpecRule<v.InferOutput<ReturnType<typeof specObject<K, E>>>>[],
) {
  const object = specObject(kernel, entries);
  return v.pipe(
    object,
    v.rawCheck<v.InferOutput<typeof object>>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      for (const rule of rules) {
        const problem = rule(dataset.value);
        if (problem) return addIssue({ message: problem });
      }
    }),
  );
}

function specObject<const K extends string, const E extends v.ObjectEntries>(kernel: K, entries: E) {
  return fields(
    { kernel: v.literal(kernel, `kernel must be ${kernel}`), ...jobEntries, ...entries },
    { notObject: 'a job is a JSON object', unknown: (key) => `unknown field '${key}'` },
  );
}
