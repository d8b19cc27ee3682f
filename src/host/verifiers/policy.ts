import { DEFAULT_FREIVALDS_ROUNDS } from '../../proof/freivalds-modp';
import { validateTrustPolicy, type TrustPolicy } from '../../proof/trust';
import type { Kernel } from '../../protocol';
import type { JobSpec } from '../job';
import { DEFAULT_REPLICA_SAMPLES } from '../../kernels/job-spec';
import { kernelChecks, type KernelChecks } from './kernel-checks';

/**
 * How a job's results are checked, as data: the host's reading of a job file's `samples`,
 * `verify`, `replicate`, `collect` and `trust` (the file format stays as the README documents
 * it), derived once per job by `policyOf`. `kind` picks the check and its verifier
 * (verifiers/registry.ts); `output` and `trust` apply to every kind, so the Judge handles them
 * itself: it keeps the output of a result that passed (or was spared) its check, and runs the
 * spot-check step of adaptive trust before any check (see SpotCheck in verifier.ts).
 */
export const PolicyKind = {
  /** The host recomputes `samples` leaves it picks after the commitment. */
  Challenge: 'challenge',
  /** The volunteer sends all of C; the host runs `rounds` rounds of Freivalds' check. */
  Freivalds: 'freivalds',
  /** Two keys must agree (a third decides); a key without an earned record is challenged first (`samples` leaves). */
  Replicate: 'replicate',
  /** Every share of a proof-of-work result is rechecked. */
  RecheckAll: 'recheck-all',
} as const;
export type PolicyKind = (typeof PolicyKind)[keyof typeof PolicyKind];

/**
 * Whether the host keeps each unit's output (`collect: true`): once a result passes its check
 * (or a trusted key's check is skipped, or before a replica votes) the host asks for the whole
 * output (`send-rows`), checks it against the committed root, and stores it with the accepted
 * unit, for the researcher to download. Without it the host keeps roots and receipts only.
 */
export const OutputPolicy = { Keep: 'keep', Discard: 'discard' } as const;
export type OutputPolicy = (typeof OutputPolicy)[keyof typeof OutputPolicy];

/** Leaves challenged per replica from a key without an earned record, when the job gives no `samples` (job-spec.ts). */
export { DEFAULT_REPLICA_SAMPLES };

/** What every policy has besides its check. */
interface Orthogonal {
  readonly output: OutputPolicy;
  /** Adaptive trust (proof/trust.ts), with its defaults filled in; undefined: every result is checked and nobody is banned. */
  readonly trust: TrustPolicy | undefined;
}

export interface ChallengePolicy extends Orthogonal {
  readonly kind: typeof PolicyKind.Challenge;
  readonly samples: number;
}

export interface FreivaldsPolicy extends Orthogonal {
  readonly kind: typeof PolicyKind.Freivalds;
  readonly rounds: number;
}

export interface ReplicatePolicy extends Orthogonal {
  readonly kind: typeof PolicyKind.Replicate;
  /** Leaves challenged per replica from a key without an earned record. */
  readonly samples: number;
}

export interface RecheckAllPolicy extends Orthogonal {
  readonly kind: typeof PolicyKind.RecheckAll;
}

export type VerificationPolicy = ChallengePolicy | FreivaldsPolicy | ReplicatePolicy | RecheckAllPolicy;
export type PolicyOf<K extends PolicyKind> = Extract<VerificationPolicy, { readonly kind: K }>;

/**
 * The policy of a job file (one parseJob accepted; it refuses the combinations that have no
 * policy, e.g. `replicate` with `verify`, or `samples` with Freivalds).
 */
export function policyOf(spec: JobSpec): VerificationPolicy {
  const trust = spec.trust === undefined ? undefined : validateTrustPolicy(spec.trust);
  // A proof-of-work job file has no policy fields: its shares are always rechecked, its solutions always kept.
  if (kernelChecks(spec.kernel).shares) return { kind: PolicyKind.RecheckAll, output: OutputPolicy.Discard, trust };
  const output = 'collect' in spec && spec.collect === true ? OutputPolicy.Keep : OutputPolicy.Discard;
  const samples = 'samples' in spec ? spec.samples : undefined;
  if ('replicate' in spec && spec.replicate === true) return { kind: PolicyKind.Replicate, samples: samples ?? DEFAULT_REPLICA_SAMPLES, output, trust };
  if ('verify' in spec && spec.verify?.policy === 'freivalds') {
    return { kind: PolicyKind.Freivalds, rounds: spec.verify.rounds ?? DEFAULT_FREIVALDS_ROUNDS, output, trust };
  }
  // parseJob requires samples here; 0 only for a spec it would refuse.
  return { kind: PolicyKind.Challenge, samples: samples ?? 0, output, trust };
}

/** The most leaves the host challenges in one result (what the openings reply must fit): 0 for policies without a challenge. */
export function challengedLeaves(policy: VerificationPolicy): number {
  switch (policy.kind) {
    case PolicyKind.Challenge:
    case PolicyKind.Replicate:
      return policy.samples;
    case PolicyKind.Freivalds:
    case PolicyKind.RecheckAll:
      return 0;
  }
}

/** Whether the host keeps the accepted units' output (the dashboard's downloads). */
export function keepsOutput(policy: VerificationPolicy): boolean {
  switch (policy.output) {
    case OutputPolicy.Keep:
      return true;
    case OutputPolicy.Discard:
      return false;
  }
}

/** What each policy needs of a kernel's results (kernel-checks.ts). */
export const POLICY_NEEDS = {
  [PolicyKind.Challenge]: (k) => k.leaves,
  [PolicyKind.Freivalds]: (k) => k.product,
  // Replicas must agree bit for bit, and a replica from a key without an earned record is challenged.
  [PolicyKind.Replicate]: (k) => k.bitExact && k.leaves,
  [PolicyKind.RecheckAll]: (k) => k.shares,
} as const satisfies Record<PolicyKind, (k: KernelChecks) => boolean>;

/**
 * The policies a kernel's jobs may choose, in PolicyKind order (the first is what a job file
 * without `verify` or `replicate` gets). For the job form: its choice of policy can read this
 * rather than repeat the rules.
 */
export function policiesFor(kernel: Kernel): PolicyKind[] {
  const checks: KernelChecks = kernelChecks(kernel);
  return Object.values(PolicyKind).filter((p) => POLICY_NEEDS[p](checks));
}
