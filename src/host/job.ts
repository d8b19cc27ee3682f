import { ErrorCode, TabgridError } from '../errors';
import { isPrime, MODP_MAX } from '../kernels/matmul';
import { Kernel, MAX_CHALLENGE, MAX_SHARES, MAX_UNIT_MATRIX_DIM, MAX_UNIT_MESSAGES, MAX_UNIT_MESSAGE_BYTES, type WorkUnit } from '../protocol';
import { sha256Blocks } from '../hash/sha256-ref';
import { toHex } from '../hex';
import { HEADER_BYTES, targetFromLeadingZeroBits } from '../kernels/sha256d-pow';
import { mix32, seededMessage } from '../work/seeded';
import { validateTrustPolicy, type TrustPolicy } from '../proof/trust';
import { checkRounds } from '../proof/freivalds-modp';
import { challengedLeaves, policyOf } from './verifiers/policy';

/**
 * Adaptive trust (proof/trust.ts), any job: once a key has a run of valid results, its results
 * are verified only with decreasing probability, and `banAfter` invalid results ban it from the
 * job. Missing fields take DEFAULT_TRUST_POLICY's values. Without `trust`, every result is
 * verified and no key is banned.
 */
export type JobTrust = Partial<TrustPolicy>;

/*
 * Replication (`replicate: true`, sha256-batch and matmul-modp: the kernels whose output is
 * bit-exact on every device): each unit goes to two keys in turn and is accepted when their
 * roots agree; on disagreement a third key decides (verify-replicas.ts). Keys cost nothing to
 * make, so agreement alone proves nothing: a replica from a key without an earned record (in
 * its warm-up, spot-checked, or in a job without `trust`) is challenged like a result of the
 * challenge policy (`samples` leaves, default DEFAULT_REPLICA_SAMPLES in verifiers/policy.ts)
 * before its vote counts. It costs a second computation of every unit (less under `trust`: a
 * trusted key's result is accepted alone). It needs at least two volunteers.
 */

/**
 * How a matrix job checks results. 'challenge' (the default): the host recomputes `samples`
 * rows of C it picks after the commitment. 'freivalds': the volunteer sends all of C, which must
 * hash to its committed root, and the host runs `rounds` (default 2) rounds of Freivalds' check
 * (proof/freivalds-*.ts): a wrong modp product passes with probability ≤ (1/p + 2^-32)^rounds;
 * f32 is checked within a rounding tolerance (see freivalds-f32.ts).
 */
export interface MatmulVerify {
  readonly policy: 'challenge' | 'freivalds';
  readonly rounds?: number;
}

/** A hashing job as a researcher describes it (the job file's JSON). */
export interface Sha256JobSpec {
  readonly id: string;
  readonly kernel: typeof Kernel.Sha256Batch;
  /** Number of work units. */
  readonly units: number;
  /** Messages per unit and their length in bytes. */
  readonly messagesPerUnit: number;
  readonly messageLength: number;
  /** Seed of the whole job; each unit's seed derives from it. */
  readonly seed: number;
  /**
   * Leaves the host challenges per result: a volunteer faking a fraction f of a unit is caught
   * with probability 1 − (1 − f)^samples. Optional with `replicate` (the check of each replica
   * from a key without an earned record; default DEFAULT_REPLICA_SAMPLES).
   */
  readonly samples?: number;
  readonly replicate?: boolean;
  /** Keep every unit's digests (OutputPolicy in verifiers/policy.ts). */
  readonly collect?: boolean;
  /** Jobs with a higher priority are leased first (default 0). */
  readonly priority?: number;
  readonly trust?: JobTrust;
}

/** A matrix job: `units` independent products of seeded m×k and k×n matrices. */
export interface MatmulJobSpec {
  readonly id: string;
  readonly kernel: typeof Kernel.MatmulF32 | typeof Kernel.MatmulModp;
  readonly units: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** The prime modulus, matmul-modp only (≤ 65521). */
  readonly p?: number;
  readonly seed: number;
  /** Rows of C the host recomputes per result (the challenge policy; absent with Freivalds). */
  readonly samples?: number;
  readonly verify?: MatmulVerify;
  /** matmul-modp only (f32 results differ bitwise between devices). */
  readonly replicate?: boolean;
  /** Keep every unit's C (OutputPolicy in verifiers/policy.ts). */
  readonly collect?: boolean;
  readonly priority?: number;
  readonly trust?: JobTrust;
}

/**
 * A proof-of-work search: unit i searches nonces [nonceStart + i·noncesPerUnit, …) of `header`
 * (160 hex digits; seeded from `seed` when absent) for hashes with `targetBits` leading zero
 * bits (solutions) and reports every hash with `shareBits` (shares). The host rechecks every
 * share, so there is no sampling; noncesPerUnit · 2^-shareBits (the expected shares per unit)
 * must lie in 16..2048, enough for the share-count test to catch a skipped range and few
 * enough to fit one message.
 */
export interface PowJobSpec {
  readonly id: string;
  readonly kernel: typeof Kernel.Sha256dPow;
  readonly units: number;
  readonly header?: string;
  readonly seed: number;
  readonly nonceStart?: number;
  readonly noncesPerUnit: number;
  readonly shareBits: number;
  readonly targetBits: number;
  readonly priority?: number;
  readonly trust?: JobTrust;
}

export type JobSpec = Sha256JobSpec | MatmulJobSpec | PowJobSpec;

/** The demo job `npm start` publishes: small enough for a CPU adapter to finish in a minute or two. */
export const DEMO_JOB: JobSpec = {
  id: 'demo-sha256',
  kernel: Kernel.Sha256Batch,
  units: 32,
  messagesPerUnit: 4096,
  messageLength: 64,
  seed: 2026,
  samples: 16,
};

export function validateJob(spec: JobSpec): JobSpec {
  const bad = (what: string): never => {
    throw new TabgridError(ErrorCode.BadInput, `job ${JSON.stringify(spec?.id)}: ${what}`);
  };
  if (typeof spec !== 'object' || spec === null) bad('a job is a JSON object');
  if (typeof spec.id !== 'string' || !/^[\w.-]{1,64}$/.test(spec.id)) bad('id must be 1..64 letters, digits, . _ or -');
  const intIn = (v: unknown, lo: number, hi: number, name: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`${name} must be an integer in ${lo}..${hi}`);
  };
  const fields = (...names: string[]) => {
    const known = new Set(['id', 'kernel', 'units', 'seed', 'samples', 'priority', 'trust', 'replicate', 'collect', ...names]);
    for (const key of Object.keys(spec)) if (!known.has(key)) bad(`unknown field '${key}'`);
  };
  intIn(spec.units, 1, 1_000_000, 'units');
  intIn(spec.seed, 0, 0xffffffff, 'seed');
  const freivalds = (spec.kernel === Kernel.MatmulF32 || spec.kernel === Kernel.MatmulModp) && spec.verify?.policy === 'freivalds';
  const replicated = spec.kernel !== Kernel.Sha256dPow && spec.replicate !== undefined;
  if (replicated) {
    if (spec.replicate !== true) bad('replicate must be true when given');
    if (spec.kernel === Kernel.MatmulF32) bad('replicate needs bit-exact results; matmul-f32 differs between devices (use verify.policy "freivalds")');
    if ('verify' in spec && spec.verify !== undefined) bad('replicate replaces verify: give one policy');
  }
  if (spec.kernel === Kernel.Sha256dPow && 'replicate' in spec) bad('replicate does not apply to sha256d-pow (every share is rechecked)');
  if (spec.kernel === Kernel.Sha256dPow && 'collect' in spec) bad('collect does not apply to sha256d-pow (its solutions are always kept)');
  if (spec.kernel !== Kernel.Sha256dPow && spec.collect !== undefined && typeof spec.collect !== 'boolean') bad('collect must be true or false');
  if (spec.kernel !== Kernel.Sha256dPow && !freivalds && (!replicated || spec.samples !== undefined)) intIn(spec.samples, 1, MAX_CHALLENGE, 'samples');
  if (freivalds && 'samples' in spec) bad('samples does not apply to verify.policy "freivalds" (every row is checked)');
  if (spec.priority !== undefined) intIn(spec.priority, -1000, 1000, 'priority');
  try {
    validateTrustPolicy(spec.trust);
  } catch (err) {
    bad((err as Error).message);
  }
  switch (spec.kernel) {
    case Kernel.Sha256dPow: {
      fields('header', 'nonceStart', 'noncesPerUnit', 'shareBits', 'targetBits');
      if ('samples' in spec) bad('samples does not apply to sha256d-pow (every share is rechecked)');
      if (spec.header !== undefined && (typeof spec.header !== 'string' || !/^[0-9a-f]{160}$/.test(spec.header)))
        bad('header must be 160 lower-case hex digits (80 bytes)');
      intIn(spec.nonceStart ?? 0, 0, 0xffffffff, 'nonceStart');
      intIn(spec.noncesPerUnit, 1, 2 ** 32, 'noncesPerUnit');
      if ((spec.nonceStart ?? 0) + spec.units * spec.noncesPerUnit > 2 ** 32) bad('the nonce ranges of all units must end at or before 2^32');
      intIn(spec.shareBits, 0, 64, 'shareBits');
      intIn(spec.targetBits, spec.shareBits, 256, 'targetBits (at least shareBits)');
      const expected = spec.noncesPerUnit * 2 ** -spec.shareBits;
      if (expected < MIN_EXPECTED_SHARES || expected > MAX_SHARES / 2) {
        bad(`noncesPerUnit · 2^-shareBits = ${expected} expected shares per unit; it must lie in ${MIN_EXPECTED_SHARES}..${MAX_SHARES / 2}`);
      }
      break;
    }
    case Kernel.Sha256Batch:
      fields('messagesPerUnit', 'messageLength');
      intIn(spec.messagesPerUnit, 1, MAX_UNIT_MESSAGES, 'messagesPerUnit');
      intIn(spec.messageLength, 0, MAX_UNIT_MESSAGE_BYTES, 'messageLength');
      // Matrices stay under the cap by their sides; digests would reach 32 MiB a unit.
      if (spec.collect === true && 32 * spec.messagesPerUnit > MAX_COLLECT_BYTES)
        bad(`messagesPerUnit must be at most ${MAX_COLLECT_BYTES / 32} to collect the output (32 bytes a digest, at most 4 MiB a unit)`);
      break;
    case Kernel.MatmulF32:
    case Kernel.MatmulModp:
      fields('m', 'n', 'k', 'p', 'verify');
      validateVerify(spec.verify, bad);
      intIn(spec.m, 1, MAX_UNIT_MATRIX_DIM, 'm');
      intIn(spec.n, 1, MAX_UNIT_MATRIX_DIM, 'n');
      intIn(spec.k, 1, MAX_UNIT_MATRIX_DIM, 'k');
      if (spec.kernel === Kernel.MatmulModp && (spec.p === undefined || !isPrime(spec.p) || spec.p > MODP_MAX)) bad(`p must be a prime ≤ ${MODP_MAX}`);
      if (spec.kernel === Kernel.MatmulF32 && spec.p !== undefined) bad('p is for matmul-modp only');
      // The openings of one result (rows of 8n hex characters plus paths) must fit a message.
      if (challengedLeaves(policyOf(spec)) * (8 * spec.n + 70 * 11) > 480_000)
        bad(`samples × row size is too large for one message: use fewer samples or a smaller n`);
      break;
    default:
      bad(`kernel must be one of ${Object.values(Kernel).join(', ')}`);
  }
  return spec;
}

function validateVerify(verify: MatmulVerify | undefined, bad: (what: string) => never): void {
  if (verify === undefined) return;
  if (typeof verify !== 'object' || verify === null) bad('verify must be an object');
  for (const key of Object.keys(verify)) if (key !== 'policy' && key !== 'rounds') bad(`verify has an unknown field '${key}'`);
  if (verify.policy !== 'challenge' && verify.policy !== 'freivalds') bad('verify.policy must be "challenge" or "freivalds"');
  if (verify.rounds === undefined) return;
  if (verify.policy !== 'freivalds') bad('verify.rounds is for the freivalds policy');
  try {
    checkRounds(verify.rounds);
  } catch (err) {
    bad(`verify.${(err as Error).message}`);
  }
}

/** The most output a unit of a job that collects may upload: the largest C (1024 × 1024 words). */
export const MAX_COLLECT_BYTES = 4 * MAX_UNIT_MATRIX_DIM * MAX_UNIT_MATRIX_DIM;

/** The adaptive-trust policy of a job, or undefined when it verifies every result. */
export function jobTrustPolicy(spec: JobSpec): TrustPolicy | undefined {
  return spec.trust === undefined ? undefined : validateTrustPolicy(spec.trust);
}

/** Below this many expected shares per unit, skipping part of a range is hard to detect. */
export const MIN_EXPECTED_SHARES = 16;

/** A pow job's header: the given one, or 80 bytes from the job seed. */
function powHeader(spec: PowJobSpec): string {
  return spec.header ?? toHex(seededMessage(spec.seed, 0, HEADER_BYTES));
}

/** Unit i of a job. Unit seeds are decorrelated from each other by mix32. */
export function jobUnit(spec: JobSpec, index: number): WorkUnit {
  if (spec.kernel === Kernel.Sha256dPow) {
    return {
      kernel: spec.kernel,
      jobId: spec.id,
      unitId: `${spec.id}/${index}`,
      header: powHeader(spec),
      nonceStart: (spec.nonceStart ?? 0) + index * spec.noncesPerUnit,
      nonceCount: spec.noncesPerUnit,
      target: toHex(targetFromLeadingZeroBits(spec.targetBits)),
      shareTarget: toHex(targetFromLeadingZeroBits(spec.shareBits)),
    };
  }
  const common = { jobId: spec.id, unitId: `${spec.id}/${index}`, seed: mix32((spec.seed ^ mix32(index + 1)) >>> 0) };
  if (spec.kernel === Kernel.Sha256Batch) return { kernel: spec.kernel, ...common, count: spec.messagesPerUnit, messageLength: spec.messageLength };
  return { kernel: spec.kernel, ...common, m: spec.m, n: spec.n, k: spec.k, p: spec.p ?? 0 };
}

/**
 * The credit a unit earns, in proportion to its work: SHA-256 compression blocks for hashing,
 * multiply-adds for matrix products.
 */
export function unitWork(unit: WorkUnit): number {
  switch (unit.kernel) {
    case Kernel.Sha256Batch:
      return unit.count * sha256Blocks(unit.messageLength);
    case Kernel.Sha256dPow:
      // Double SHA-256 of an 80-byte header: two compression blocks, then one.
      return unit.nonceCount * 3;
    case Kernel.MatmulF32:
    case Kernel.MatmulModp:
      return unit.m * unit.n * unit.k;
  }
}
