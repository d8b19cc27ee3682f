import { ErrorCode, TabgridError } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import { verifyCommitment, unitInputDigest } from '../proof/commitment';
import type { Identity } from '../proof/identity';
import type { Random } from '../proof/random';
import { signReceipt } from '../proof/receipt-signing';
import {
  Kernel,
  Verdict,
  unitLeaves,
  type ChallengedUnit,
  type HostMessage,
  type MatmulUnit,
  type Receipt,
  type VolunteerMessage,
  type WorkUnit,
} from '../protocol';
import { neverLeasedTo, requeued, type HostState, type Tx, type UnitRecord } from './host-state';
import { challengeSamples, collects, freivaldsRounds, isReplicated, jobUnit, unitWork, type JobSpec } from './job';
import { makeReceipt } from '../proof/receipt';
import { StoredUnitState as UnitState } from './store/store';
import { HostTrust } from './trust-store';
import { checkFreivalds } from './verify-freivalds';
import { hashesTo, RowCollector } from './row-collector';
import { matmulLeafCheck } from './verify-matmul';
import { checkOpenings, chooseChallenge } from './verify-openings';
import { checkPowResult } from './verify-pow';
import { sha256LeafCheck } from './verify-sha256';
import {
  awaitingRecompute,
  castVote,
  decideByRecompute,
  MAX_REPLICAS,
  MAX_REPLICAS_WITHOUT_HOST,
  replicaReason,
  type ReplicaDecision,
} from './verify-replicas';
import { QuorumStatus } from '../proof/replication';
import type { Settlement, Settler } from './settler';
import type { Vote } from './store/store';

const UNSETTLED = 'replicas all disagree and the host had no room to compute the unit; it starts over with other keys';

type Result = Extract<VolunteerMessage, { type: 'result' }>;
type Openings = Extract<VolunteerMessage, { type: 'openings' }>;
type Rows = Extract<VolunteerMessage, { type: 'rows' }>;

/** The volunteer a message comes from: its identity and the public key it proved it holds. */
export interface Speaker {
  readonly id: string;
  readonly publicKey: string;
}

/**
 * Decides on results. Each result's signed commitment is checked first; then, by the job's
 * policy and the key's trust, the host challenges leaves (hashing, matrices), asks for all of C
 * (Freivalds), rechecks every share (proof of work) or, for a trusted key, skips the spot
 * check. Accepting grants credit and a signed receipt, rejecting requeues the unit; both are
 * staged in the caller's Tx with the key's new trust record.
 */
export class Judge {
  readonly trust: HostTrust;
  private readonly rowsInFlight: RowCollector;

  constructor(
    private readonly state: HostState,
    private readonly hash: Hasher,
    private readonly random: Random,
    private readonly identity: Identity,
    private readonly settler: Pick<Settler, 'hasRoom'>,
    maxUploadBytes: number,
  ) {
    this.trust = new HostTrust(state, random);
    this.rowsInFlight = new RowCollector(maxUploadBytes);
  }

  /** Bytes held by uploads in flight. */
  get uploadBytes(): number {
    return this.rowsInFlight.bytes;
  }

  /**
   * After a commit: drops the uploads of `units` that no longer wait for rows from the key
   * uploading them (judged, requeued after a rejection, a lapsed lease or a ban, or leased on).
   */
  release(units: readonly UnitRecord[]): void {
    for (const u of units) this.rowsInFlight.keepOnly(u.unitId, u.state === UnitState.Verifying && !u.challenge ? (u.holder ?? undefined) : undefined);
  }

  /** Uploads that received nothing since `before` (see RowCollector.stalled). */
  stalledUploads(before: number): { readonly who: string; readonly unitId: string }[] {
    return this.rowsInFlight.stalled(before);
  }

  /** The connection `name` closed (and with a relay, its children's): what it was uploading goes. */
  dropUploadsVia(name: string): void {
    this.rowsInFlight.dropVia(name);
  }

  unitOf(u: UnitRecord): WorkUnit {
    return jobUnit(this.state.job(u.jobId)!.spec, u.index);
  }

  async result(who: Speaker, message: Result, deadline: number, now: number, tx: Tx): Promise<HostMessage> {
    const u = this.state.unit(message.unitId);
    if (!u) throw new TabgridError(ErrorCode.UnknownUnit, `there is no unit ${message.unitId}`);
    const unit = this.unitOf(u);
    // Leased to this key, or lapsed from it with nobody else leasing it since (host-state.ts `lapsed`).
    const lapsedFromMe = u.state === UnitState.Queued && !u.rejectedBy.includes(who.id) && !this.trust.isBanned(u.jobId, who.id);
    const mine = u.holder === who.id && (u.state === UnitState.Leased || lapsedFromMe);
    // Before anything else: a result another key signed, or one signed for another unit, job or root, is not this key's word.
    if (!(await this.signed(who.publicKey, unit, message))) {
      if (mine) return this.reject(who.id, u, 'bad signature', tx);
      throw new TabgridError(ErrorCode.BadSignature, `the result's signature does not verify for unit ${u.unitId}`);
    }
    // Signed, so the key stands by it: a claim on work it was never given is an invalid result.
    if (neverLeasedTo(u, who.id)) return this.unearned(who.id, u, tx);
    if (u.state === UnitState.Accepted) {
      return this.verdict(who.id, u.unitId, Verdict.Duplicate, 'already accepted', 0, this.state.receipt(u.unitId, who.id), tx);
    }
    // A replica on file, sent again after a reconnect: still waiting for the others.
    if (!mine && u.votes?.some((v) => v.key === who.id && v.root === message.root)) {
      return this.verdict(who.id, u.unitId, Verdict.Pending, 'replica on file; waiting for another key', 0, undefined, tx);
    }
    // The same result again (the volunteer reconnected before the challenge reached it): the
    // same challenge again, so resending cannot be used to shop for easier leaves.
    if (u.state === UnitState.Verifying && u.holder === who.id && u.root === message.root) {
      // Rows are sent again from the first: drop any half-received upload.
      if (!u.challenge) this.rowsInFlight.forget(who.id, u.unitId);
      return u.challenge ? { type: 'challenge', unitId: u.unitId, indices: u.challenge } : { type: 'send-rows', unitId: u.unitId };
    }
    if (!mine) throw new TabgridError(ErrorCode.UnknownUnit, `unit ${message.unitId} is not leased to you (its lease may have lapsed)`);
    if (unit.kernel === Kernel.Sha256dPow) {
      // Rechecking every share is cheap, so proof of work is always verified.
      const check = checkPowResult(unit, message.root, message.shares, this.hash);
      const judged = { ...u, root: message.root };
      return check.failure ? this.reject(who.id, judged, check.failure, tx) : this.accept(who.id, judged, unit, now, tx, check.solutions, true);
    }
    if (message.shares !== undefined) throw new TabgridError(ErrorCode.BadMessage, `shares are for proof-of-work units; ${u.unitId} is ${unit.kernel}`);
    const spec = this.state.job(u.jobId)!.spec;
    const judged = { ...u, root: message.root, leaseDeadline: deadline };
    // Under `trust`, a key past its warm-up is spot-checked only now and then; otherwise every result is checked.
    const verify = this.trust.shouldVerify(tx, u.jobId, who.id);
    if (isReplicated(spec)) {
      // A key without an earned record is challenged before its vote counts: two free keys
      // agreeing on a made-up root would otherwise settle a unit. A trusted key's result is
      // accepted alone, unless a replica is on file (comparing costs nothing).
      if (verify) return this.challenge(judged, spec, tx);
      if ((u.votes?.length ?? 0) === 0) return collects(spec) ? this.collect(judged, 'trusted', tx) : this.accept(who.id, judged, unit, now, tx, null, false);
      return collects(spec) ? this.collect(judged, 'verified', tx) : this.replica(who.id, judged, unit, now, tx);
    }
    if (!verify) return collects(spec) ? this.collect(judged, 'trusted', tx) : this.accept(who.id, judged, unit, now, tx, null, false);
    if (freivaldsRounds(spec) !== undefined) {
      tx.putUnit({ ...judged, state: UnitState.Verifying, challenge: null });
      return { type: 'send-rows', unitId: u.unitId };
    }
    return this.challenge(judged, spec, tx);
  }

  /** Challenges leaves the host picks now, after the commitment. */
  private challenge(judged: UnitRecord, spec: JobSpec, tx: Tx): HostMessage {
    const challenge = chooseChallenge(unitLeaves(this.unitOf(judged) as ChallengedUnit).count, challengeSamples(spec), this.random);
    tx.putUnit({ ...judged, state: UnitState.Verifying, challenge });
    return { type: 'challenge', unitId: judged.unitId, indices: challenge };
  }

  /** The openings answering a challenge. */
  async openings(who: string, message: Openings, now: number, tx: Tx): Promise<HostMessage> {
    const u = this.state.unit(message.unitId);
    if (!u || u.holder !== who || u.state !== UnitState.Verifying || !u.challenge) {
      throw new TabgridError(ErrorCode.UnknownUnit, `no challenge of unit ${message.unitId} is open for you`);
    }
    const unit = this.unitOf(u) as ChallengedUnit;
    const failure = checkOpenings(unit, u.root!, u.challenge, message.openings, this.hash, this.leafCheck(unit));
    if (failure) return this.reject(who, u, failure, tx);
    const spec = this.state.job(u.jobId)!.spec;
    if (collects(spec)) return this.collect(u, 'verified', tx);
    // A replica that passed its challenge now votes.
    return isReplicated(spec) ? this.replica(who, { ...u, challenge: null }, unit, now, tx) : this.accept(who, u, unit, now, tx, null, true);
  }

  /**
   * Rows answering `send-rows` over connection `via`: no reply until the last row (or `busy`,
   * when the host has no memory left for the upload). Then the whole output must hash to
   * the committed root, and, by the job's policy, pass Freivalds' check, be kept (collect), or
   * both; a replica of a collecting job votes only now.
   */
  async rows(who: string, via: string, message: Rows, now: number, tx: Tx): Promise<HostMessage[]> {
    const u = this.state.unit(message.unitId);
    if (!u || u.holder !== who || u.state !== UnitState.Verifying || u.challenge) {
      throw new TabgridError(ErrorCode.UnknownUnit, `no request for the rows of unit ${message.unitId} is open for you`);
    }
    const unit = this.unitOf(u) as ChallengedUnit;
    const got = this.rowsInFlight.add(who, via, unit, message.first, message.data, now);
    if (got.busy) throw new TabgridError(ErrorCode.Busy, got.busy);
    if (got.failure) return [this.reject(who, u, got.failure, tx)];
    if (!got.data) return [];
    const spec = this.state.job(u.jobId)!.spec;
    // A trusted key's skipped check stays skipped: its rows are only kept.
    const rounds = u.collecting === 'trusted' ? undefined : freivaldsRounds(spec);
    const failure = rounds
      ? checkFreivalds(unit as MatmulUnit, u.root!, got.data, rounds, this.random, this.hash)
      : hashesTo(unit, got.data, u.root!, this.hash)
        ? undefined
        : 'the rows do not hash to the committed root';
    if (failure) return [this.reject(who, u, failure, tx)];
    if (collects(spec)) tx.putOutput({ unitId: u.unitId, root: u.root!, data: got.data });
    // A trusted key's result is accepted alone, in a replicated job too.
    if (isReplicated(spec) && u.collecting !== 'trusted') return [await this.replica(who, u, unit, now, tx)];
    return [await this.accept(who, u, unit, now, tx, null, u.collecting !== 'trusted')];
  }

  /** Asks for a unit's whole output before it is accepted (or votes), remembering why it may be. */
  private collect(u: UnitRecord, why: 'verified' | 'trusted', tx: Tx): HostMessage {
    tx.putUnit({ ...u, state: UnitState.Verifying, challenge: null, collecting: why });
    return { type: 'send-rows', unitId: u.unitId };
  }

  verdict(who: string, unitId: string, verdict: Verdict, reason: string, credit: number, receipt: Receipt | undefined, tx: Tx): HostMessage {
    const totalCredit = tx.volunteer(who).credit;
    return receipt
      ? { type: 'verdict', unitId, verdict, reason, credit, totalCredit, receipt }
      : { type: 'verdict', unitId, verdict, reason, credit, totalCredit };
  }

  /** `verified`: false when a trusted key's spot check was skipped (which earns no trust). */
  private async accept(who: string, u: UnitRecord, unit: WorkUnit, now: number, tx: Tx, solutions: number[] | null, verified: boolean): Promise<HostMessage> {
    const { collecting: _, ...rest } = u;
    tx.putUnit({ ...rest, state: UnitState.Accepted, challenge: null, leaseDeadline: null, acceptedAt: now, solutions });
    return this.credit(who, u, unit, now, tx, verified ? 'verified' : 'accepted on commitment (trusted key; spot check skipped)', verified);
  }

  /** Grants `who` the unit's credit and a signed receipt (and, when `verified`, trust). */
  private async credit(who: string, u: UnitRecord, unit: WorkUnit, now: number, tx: Tx, reason: string, verified: boolean): Promise<HostMessage> {
    const volunteer = tx.volunteer(who);
    const credit = unitWork(unit);
    const unsigned = makeReceipt({ jobId: u.jobId, unitId: u.unitId, volunteer: who, credit, root: u.root!, issuedAt: now }, this.hash);
    const receipt = { ...unsigned, signature: await signReceipt(this.identity, unsigned) };
    tx.putVolunteer({ ...volunteer, credit: volunteer.credit + credit, accepted: volunteer.accepted + 1 });
    tx.putReceipt(receipt);
    if (verified) this.trust.record(tx, u.jobId, who, true);
    return this.verdict(who, u.unitId, Verdict.Accepted, reason, credit, receipt, tx);
  }

  private reject(who: string, u: UnitRecord, reason: string, tx: Tx): HostMessage {
    tx.putUnit({ ...requeued(u), rejectedBy: [...u.rejectedBy, who] });
    this.rowsInFlight.forget(who, u.unitId);
    return this.penalise(who, u, reason, tx, true);
  }

  /** A result for a unit `who` never held: an error reply, and an invalid result for its trust (which may ban it). */
  private unearned(who: string, u: UnitRecord, tx: Tx): HostMessage {
    const volunteer = tx.volunteer(who);
    tx.putVolunteer({ ...volunteer, rejected: volunteer.rejected + 1 });
    const trust = this.trust.record(tx, u.jobId, who, false);
    const message = `unit ${u.unitId} was never leased to you; a signed result for it counts as an invalid result${trust?.banned ? `, and this key is now banned from job ${u.jobId}` : ''}`;
    return { type: 'error', code: trust?.banned ? ErrorCode.Banned : ErrorCode.UnknownUnit, message, unitId: u.unitId };
  }

  /** Counts a rejection against `who` (and, when `invalid`, against its trust; a ban requeues its other units). */
  private penalise(who: string, u: UnitRecord, reason: string, tx: Tx, invalid: boolean): HostMessage {
    const volunteer = tx.volunteer(who);
    tx.putVolunteer({ ...volunteer, rejected: volunteer.rejected + 1 });
    const trust = invalid ? this.trust.record(tx, u.jobId, who, false, u.unitId) : undefined;
    return this.verdict(who, u.unitId, Verdict.Rejected, trust?.banned ? `${reason}; this key is now banned from job ${u.jobId}` : reason, 0, undefined, tx);
  }

  /**
   * A replicated unit's result: a vote. Until a quorum the unit goes back to the queue (barred
   * to the keys that voted) and the volunteer hears `pending`; at a quorum every agreeing key is
   * credited and every other key rejected, and the keys not speaking now hear it with their
   * next message. Three different roots are settled by the host computing the unit itself, off
   * the message queue (settler.ts): the unit waits, and every voter hears the outcome later. If
   * the host has no room for that (its budget per job and per key), more keys vote instead.
   */
  private async replica(who: string, u: UnitRecord, unit: WorkUnit, now: number, tx: Tx): Promise<HostMessage> {
    const discounted = (key: string) => this.trust.isBanned(u.jobId, key);
    const standing = (u.votes ?? []).filter((v) => v.key !== who && !discounted(v.key));
    const voters = [...standing.map((v) => v.key), who];
    // Five votes at most; a third disagreeing vote goes to the host only when it has room.
    const hostSettles = standing.length >= MAX_REPLICAS_WITHOUT_HOST - 1 || (standing.length < MAX_REPLICAS && this.settler.hasRoom(u.jobId, voters));
    const d = castVote(u, who, u.root!, discounted, hostSettles ? Math.max(MAX_REPLICAS, standing.length + 1) : MAX_REPLICAS_WITHOUT_HOST);
    this.dropLosingOutputs(u, d.votes, undefined, tx);
    switch (d.status) {
      case QuorumStatus.Pending:
      case QuorumStatus.NeedsReplica:
        tx.putUnit({ ...requeued(u), votes: d.votes });
        return this.verdict(who, u.unitId, Verdict.Pending, replicaReason(d, who), 0, undefined, tx);
      case QuorumStatus.Unresolved: {
        if (!this.settler.hasRoom(u.jobId, voters)) {
          // No room even after five votes: the unit starts over with other keys; nobody is blamed, since the host did not check.
          tx.putUnit({ ...requeued(u), votes: [], rejectedBy: [...u.rejectedBy, ...voters] });
          this.dropLosingOutputs(u, d.votes, null, tx);
          for (const key of voters.filter((k) => k !== who)) tx.notify(key, this.verdict(key, u.unitId, Verdict.Rejected, UNSETTLED, 0, undefined, tx));
          return this.verdict(who, u.unitId, Verdict.Rejected, UNSETTLED, 0, undefined, tx);
        }
        const { collecting: _, ...rest } = u;
        tx.putUnit({ ...rest, state: UnitState.Verifying, holder: null, leaseDeadline: null, challenge: null, votes: d.votes });
        tx.settle(u.unitId, voters);
        return this.verdict(who, u.unitId, Verdict.Pending, replicaReason(d, who), 0, undefined, tx);
      }
      case QuorumStatus.Accepted:
        return (await this.conclude(who, u, unit, d, now, tx))!;
    }
  }

  /**
   * The host's own computation of a unit awaiting it (settler.ts) is in: the keys that reported
   * its root are credited, every other voter rejected; all hear it with their next message. If
   * the computation failed, the unit starts over with other keys and nobody is blamed.
   */
  async settle(unitId: string, settlement: Settlement, now: number, tx: Tx): Promise<void> {
    const u = this.state.unit(unitId);
    if (!u || !awaitingRecompute(u)) return;
    const votes = (u.votes ?? []).filter((v) => !this.trust.isBanned(u.jobId, v.key));
    if ('error' in settlement) {
      tx.putUnit({ ...requeued(u), votes: [] });
      this.dropLosingOutputs(u, votes, null, tx);
      return;
    }
    const undecided: ReplicaDecision = { status: QuorumStatus.Unresolved, votes, right: [], wrong: [] };
    await this.conclude(undefined, u, this.unitOf(u), decideByRecompute(undecided, settlement.root), now, tx);
  }

  /**
   * Credits the keys that agree with a settled unit and rejects the others; `who`, if speaking
   * now, gets its verdict as the reply, the others with their next message. Every replica wrong
   * (the host's computation matches none): the unit starts over with other keys.
   */
  private async conclude(
    who: string | undefined,
    u: UnitRecord,
    unit: WorkUnit,
    settled: ReplicaDecision,
    now: number,
    tx: Tx,
  ): Promise<HostMessage | undefined> {
    const { collecting: _, ...rest } = u;
    const holder = who !== undefined && settled.right.includes(who) ? who : (settled.right[0] ?? null);
    const accepted: UnitRecord = {
      ...rest,
      state: UnitState.Accepted,
      holder,
      root: settled.root!,
      votes: settled.votes,
      challenge: null,
      leaseDeadline: null,
      acceptedAt: now,
      solutions: null,
    };
    if (settled.status === QuorumStatus.Unresolved) tx.putUnit({ ...requeued(u), votes: [], rejectedBy: [...u.rejectedBy, ...settled.wrong] });
    else tx.putUnit(accepted);
    this.dropLosingOutputs(u, settled.votes, settled.status === QuorumStatus.Accepted ? settled.root! : null, tx);
    let reply: HostMessage | undefined;
    const tell = (key: string, message: HostMessage) => (key === who ? (reply = message) : tx.notify(key, message));
    for (const key of settled.right) tell(key, await this.credit(key, accepted, unit, now, tx, replicaReason(settled, key), true));
    for (const key of settled.wrong) tell(key, this.penalise(key, accepted, replicaReason(settled, key), tx, true));
    return reply;
  }

  /**
   * Collecting jobs keep one output per root voted for: drop those of votes that no longer
   * count, and once the unit is settled (`keep`: the winning root, or null for none) every other.
   */
  private dropLosingOutputs(u: UnitRecord, counted: readonly Vote[], keep: string | null | undefined, tx: Tx): void {
    const roots = new Set(counted.map((v) => v.root));
    for (const r of new Set((u.votes ?? []).map((v) => v.root))) if (!roots.has(r)) tx.dropOutput(u.unitId, r);
    if (keep !== undefined) for (const r of roots) if (r !== keep) tx.dropOutput(u.unitId, r);
  }

  private signed(publicKey: string, unit: WorkUnit, message: Result): Promise<boolean> {
    const fields = { jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root: message.root };
    return verifyCommitment(publicKey, fields, message.signature);
  }

  private leafCheck(unit: ChallengedUnit) {
    return unit.kernel === Kernel.Sha256Batch ? sha256LeafCheck(unit, this.hash) : matmulLeafCheck(unit);
  }
}
