import { ErrorCode, TabgridError } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import { Kernel, Verdict, unitLeaves, type ChallengedUnit, type HostMessage, type Receipt, type VolunteerMessage, type WorkUnit } from '../protocol';
import type { HostState, Tx, UnitRecord } from './host-state';
import { jobUnit, unitWork } from './job';
import { makeReceipt } from './receipt';
import { StoredUnitState as UnitState } from './store/store';
import { matmulLeafCheck } from './verify-matmul';
import { checkOpenings, chooseChallenge } from './verify-openings';
import { checkPowResult } from './verify-pow';
import { sha256LeafCheck } from './verify-sha256';

type Result = Extract<VolunteerMessage, { type: 'result' }>;
type Openings = Extract<VolunteerMessage, { type: 'openings' }>;

/**
 * Decides on results: a committed root gets a challenge (hashing, matrices) or, for proof of
 * work, a verdict at once; the openings of a challenge get a verdict. Accepting grants credit
 * and a receipt, rejecting requeues the unit; both are staged in the caller's Tx.
 */
export class Judge {
  constructor(
    private readonly state: HostState,
    private readonly hash: Hasher,
    private readonly random: () => number,
  ) {}

  unitOf(u: UnitRecord): WorkUnit {
    return jobUnit(this.state.job(u.jobId)!.spec, u.index);
  }

  /** A result for unit `u`, which is leased to `who`. */
  result(who: string, u: UnitRecord, message: Result, deadline: number, now: number, tx: Tx): HostMessage {
    const unit = this.unitOf(u);
    if (unit.kernel === Kernel.Sha256dPow) {
      const check = checkPowResult(unit, message.root, message.shares, this.hash);
      const judged = { ...u, root: message.root };
      return check.failure ? this.reject(who, judged, check.failure, tx) : this.accept(who, judged, unit, now, tx, check.solutions);
    }
    if (message.shares !== undefined) throw new TabgridError(ErrorCode.BadMessage, `shares are for proof-of-work units; ${u.unitId} is ${unit.kernel}`);
    const spec = this.state.job(u.jobId)!.spec;
    const samples = spec.kernel === Kernel.Sha256dPow ? 0 : spec.samples;
    const challenge = chooseChallenge(unitLeaves(unit).count, samples, this.random);
    tx.putUnit({ ...u, state: UnitState.Verifying, root: message.root, challenge, leaseDeadline: deadline });
    return { type: 'challenge', unitId: u.unitId, indices: challenge };
  }

  /** The openings answering the challenge of unit `u` (verifying, held by `who`). */
  openings(who: string, u: UnitRecord, message: Openings, now: number, tx: Tx): HostMessage {
    const unit = this.unitOf(u) as ChallengedUnit;
    const failure = checkOpenings(unit, u.root!, u.challenge!, message.openings, this.hash, this.leafCheck(unit));
    return failure ? this.reject(who, u, failure, tx) : this.accept(who, u, unit, now, tx, null);
  }

  verdict(who: string, unitId: string, verdict: Verdict, reason: string, credit: number, receipt: Receipt | undefined, tx: Tx): HostMessage {
    const totalCredit = tx.volunteer(who).credit;
    return receipt ? { type: 'verdict', unitId, verdict, reason, credit, totalCredit, receipt } : { type: 'verdict', unitId, verdict, reason, credit, totalCredit };
  }

  private accept(who: string, u: UnitRecord, unit: WorkUnit, now: number, tx: Tx, solutions: number[] | null): HostMessage {
    const volunteer = tx.volunteer(who);
    const credit = unitWork(unit);
    const receipt = makeReceipt({ jobId: u.jobId, unitId: u.unitId, volunteer: who, credit, root: u.root!, issuedAt: now }, this.hash);
    tx.putUnit({ ...u, state: UnitState.Accepted, challenge: null, leaseDeadline: null, acceptedAt: now, solutions });
    tx.putVolunteer({ ...volunteer, credit: volunteer.credit + credit, accepted: volunteer.accepted + 1 });
    tx.putReceipt(receipt);
    return this.verdict(who, u.unitId, Verdict.Accepted, 'verified', credit, receipt, tx);
  }

  private reject(who: string, u: UnitRecord, reason: string, tx: Tx): HostMessage {
    const volunteer = tx.volunteer(who);
    tx.putVolunteer({ ...volunteer, rejected: volunteer.rejected + 1 });
    tx.putUnit({ ...requeued(u), rejectedBy: [...u.rejectedBy, who] });
    return this.verdict(who, u.unitId, Verdict.Rejected, reason, 0, undefined, tx);
  }

  private leafCheck(unit: ChallengedUnit) {
    return unit.kernel === Kernel.Sha256Batch ? sha256LeafCheck(unit, this.hash) : matmulLeafCheck(unit);
  }
}

/** The unit back in the queue, forgetting its holder and any result. */
export function requeued(u: UnitRecord): UnitRecord {
  return { ...u, state: UnitState.Queued, holder: null, leaseDeadline: null, progress: 0, root: null, challenge: null, solutions: null };
}
