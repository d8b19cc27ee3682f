import { TrustLedger, type TrustPolicy, type TrustState } from '../proof/trust';
import type { Random } from '../proof/random';
import { requeued, type HostState, type Tx } from './host-state';
import { policyOf } from './verifiers/policy';

/**
 * The host's adaptive trust: one TrustLedger per job (the job file's `trust`, as the job's
 * verification policy holds it: verifiers/policy.ts), its records kept per (job, key) in the
 * host's store and staged in the Tx like every other change, so a verdict and the trust it
 * earned commit together. A job without `trust` verifies every
 * result and bans nobody.
 *
 * The ledger logic is TrustLedger's: each decision restores a one-key ledger from the record,
 * asks it, and stores the new state back.
 */
export class HostTrust {
  private readonly policies = new Map<string, TrustPolicy | undefined>();

  constructor(
    private readonly state: HostState,
    private readonly random: Random,
  ) {}

  /**
   * Whether `key`'s result for `jobId` must be verified. Always during the warm-up, and always
   * for a key with no valid result yet, even under a policy with warmup 0: a fresh key costs
   * nothing to make, so it earns no trust.
   */
  shouldVerify(tx: Tx, jobId: string, key: string): boolean {
    const policy = this.policy(jobId);
    if (!policy) return true;
    const state = tx.trust(jobId, key);
    if (!state || state.valid < Math.max(1, policy.warmup)) return true;
    return this.ledger(policy, key, state).shouldVerify(key, this.random);
  }

  /**
   * Records a verified result. A key banned by it loses its other leases in the job (they go
   * back to the queue); `except` is the unit being judged, which the caller requeues itself.
   */
  record(tx: Tx, jobId: string, key: string, valid: boolean, except?: string): TrustState | undefined {
    const policy = this.policy(jobId);
    if (!policy) return undefined;
    const next = this.ledger(policy, key, tx.trust(jobId, key)).record(key, valid);
    tx.putTrust({ jobId, key, ...next });
    if (next.banned) {
      for (const u of this.state.heldBy(key)) if (u.jobId === jobId && u.unitId !== except) tx.putUnit(requeued(u));
    }
    return next;
  }

  isBanned(jobId: string, key: string): boolean {
    return this.state.trust(jobId, key)?.banned === true;
  }

  /** Banned from every job this host serves (a job without trust bans nobody). */
  bannedEverywhere(key: string): boolean {
    const jobs = this.state.jobSpecs();
    return jobs.length > 0 && jobs.every((j) => this.isBanned(j.id, key));
  }

  private policy(jobId: string): TrustPolicy | undefined {
    if (!this.policies.has(jobId)) this.policies.set(jobId, policyOf(this.state.job(jobId)!.spec).trust);
    return this.policies.get(jobId);
  }

  private ledger(policy: TrustPolicy, key: string, state: TrustState | undefined): TrustLedger {
    const s = state && { streak: state.streak, valid: state.valid, invalid: state.invalid, banned: state.banned };
    return TrustLedger.restore(policy, { version: 1, entries: s ? [[key, s]] : [] });
  }
}
