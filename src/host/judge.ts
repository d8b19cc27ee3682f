import { ErrorCode, TabgridError } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import { unitInputDigest } from '../proof/commitment';
import type { ResultKey } from '../proof/result-key';
import type { Identity } from '../proof/identity';
import type { Random } from '../proof/random';
import type { TrustState } from '../proof/trust';
import { signReceipt } from '../proof/receipt-signing';
import { Verdict, type ChallengedUnit, type HostMessage, type Receipt, type VolunteerMessage, type WorkUnit } from '../protocol';
import { awaitsRows, madeBy, neverLeasedTo, requeued, withoutMadeBy, type HostState, type Tx, type UnitRecord } from './host-state';
import { jobUnit, unitWork } from './job';
import { makeReceipt } from '../proof/receipt';
import { teamKeyOf } from '../protocol/display-name';
import { creditedTeam, creditedVolunteer } from './standings';
import { Awaiting, StoredUnitState as UnitState } from './store/store';
import { HostTrust } from './trust-store';
import { hashesTo, RowCollector } from './row-collector';
import { awaitingRecompute } from './verify-replicas';
import type { Settlement, Settler } from './settler';
import { keepsOutput, policyOf, type VerificationPolicy } from './verifiers/policy';
import { verifierFor } from './verifiers/registry';
import { failed, passed, SpotCheck, StepKind, TRUSTED, type Case, type Court, type Step, type Verifier } from './verifiers/verifier';

type Result = Extract<VolunteerMessage, { type: 'result' }>;
type Openings = Extract<VolunteerMessage, { type: 'openings' }>;
type Rows = Extract<VolunteerMessage, { type: 'rows' }>;

const NOT_THE_ROOT = 'the rows do not hash to the committed root';

/** The volunteer a message comes from: its identity, the public key it proved it holds, and its connection's result key. */
export interface Speaker {
  readonly id: string;
  readonly publicKey: string;
  readonly resultKey: ResultKey;
  /** Its messages come through a relay, which could have made any of them up. */
  readonly relayed?: boolean;
}

/**
 * Decides on results. Each result's commitment MAC is checked first; then the spot-check step
 * of adaptive trust decides whether the key's result is checked or spared, and the job's
 * verifier (verifiers/: one per policy) says what the check needs: leaves opened (a challenge),
 * the whole output (Freivalds), a vote (replication), nothing more (proof of work). The Judge
 * stores what each unit awaits, keeps the output of jobs that collect it, and gives the
 * verdicts: accepting grants credit and a signed receipt, rejecting requeues the unit; both are
 * staged in the caller's Tx with the key's new trust record.
 */
export class Judge {
  readonly trust: HostTrust;
  private readonly rowsInFlight: RowCollector;
  /** Each job's policy and its verifier, made once. */
  private readonly verification = new Map<string, { readonly policy: VerificationPolicy; readonly verifier: Verifier }>();

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
    for (const u of units) this.rowsInFlight.keepOnly(u.unitId, awaitsRows(u) ? (u.holder ?? undefined) : undefined);
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
    // Before anything else: a result whose MAC does not verify under this connection's result key
    // (made on another connection, or for another unit, job or root) is not this key's word.
    // Straight from the key (end-to-end DTLS) it is an invalid result; through a relay, the relay
    // may have made it up to get the key penalised, so it is refused and counts for nothing.
    if (!this.authentic(who.resultKey, unit, message)) {
      if (mine && !who.relayed) return this.reject(who.id, u, 'bad MAC', tx);
      throw new TabgridError(ErrorCode.BadSignature, `the result's MAC does not verify for unit ${u.unitId}`);
    }
    // Authentic, so the key stands by it: a claim on work it was never given is an invalid result.
    if (neverLeasedTo(u, who.id)) return this.unearned(who.id, u, tx);
    if (u.state === UnitState.Accepted) {
      // The unit is written again with the answer: with several processes, the acceptance this
      // receipt comes from may still be in flight, and if it is fenced (another process took the
      // unit) this answer is fenced too, so no receipt goes out for an acceptance the database
      // never kept. Rare (a result sent again), and a no-op write otherwise.
      tx.putUnit(u);
      return this.verdict(who.id, u.unitId, Verdict.Duplicate, 'already accepted', 0, this.state.receipt(u.unitId, who.id), tx);
    }
    // A replica on file, sent again after a reconnect: still waiting for the others.
    if (!mine && u.votes?.some((v) => v.key === who.id && v.root === message.root)) {
      return this.verdict(who.id, u.unitId, Verdict.Pending, 'replica on file; waiting for another key', 0, undefined, tx);
    }
    // The same result again (the volunteer reconnected before the challenge reached it): the
    // same challenge again, so resending cannot be used to shop for easier leaves.
    if (u.state === UnitState.Verifying && u.holder === who.id && u.root === message.root) {
      if (u.awaiting === Awaiting.Openings && u.challenge) return { type: 'challenge', unitId: u.unitId, indices: u.challenge };
      // Rows are sent again from the first: drop any half-received upload.
      this.rowsInFlight.forget(who.id, u.unitId);
      return { type: 'send-rows', unitId: u.unitId };
    }
    if (!mine) throw new TabgridError(ErrorCode.UnknownUnit, `unit ${message.unitId} is not leased to you (its lease may have lapsed)`);
    const { verifier } = this.verificationOf(u.jobId);
    if (message.shares !== undefined && !verifier.shares) {
      throw new TabgridError(ErrorCode.BadMessage, `shares are for proof-of-work units; ${u.unitId} is ${unit.kernel}`);
    }
    // What computed it (and a proof-of-work result's shares) goes with the result: kept while it is judged, and with the unit once accepted.
    const { shares: _, ...rest } = withoutMadeBy(u);
    const judged = { ...rest, root: message.root, leaseDeadline: deadline, ...madeBy(message), ...(message.shares ? { shares: message.shares } : {}) };
    const trusted = this.spared(verifier, u.jobId, who.id, tx);
    return this.take(who.id, judged, unit, verifier.onResult({ who: who.id, record: judged, unit, shares: message.shares, trusted }), undefined, now, tx);
  }

  /**
   * The spot-check step, before any policy's check: under the job's `trust`, a key past its
   * warm-up is checked only now and then (proof/trust.ts); a key spared is "trusted". Without
   * `trust`, or for a policy that checks every result, nobody is spared.
   */
  private spared(verifier: Verifier, jobId: string, key: string, tx: Tx): boolean {
    switch (verifier.spotCheck) {
      case SpotCheck.Always:
        return false;
      case SpotCheck.WhenDrawn:
        return !this.trust.shouldVerify(tx, jobId, key);
    }
  }

  /** The openings answering a challenge. */
  async openings(who: string, message: Openings, now: number, tx: Tx): Promise<HostMessage> {
    const u = this.state.unit(message.unitId);
    const { verifier } = u ? this.verificationOf(u.jobId) : { verifier: undefined };
    if (!u || u.holder !== who || u.state !== UnitState.Verifying || u.awaiting !== Awaiting.Openings || !u.challenge || !verifier?.onOpenings) {
      throw new TabgridError(ErrorCode.UnknownUnit, `no challenge of unit ${message.unitId} is open for you`);
    }
    const unit = this.unitOf(u);
    return this.take(who, u, unit, verifier.onOpenings({ who, record: u, unit }, message.openings), undefined, now, tx);
  }

  /**
   * Rows answering `send-rows` over connection `via`: no reply until the last row (or `busy`,
   * when the host has no memory left for the upload). Then the whole output must hash to the
   * committed root and, when it is the policy's check, pass it (Freivalds); a job that collects
   * keeps it.
   */
  async rows(who: string, via: string, message: Rows, now: number, tx: Tx): Promise<HostMessage[]> {
    const u = this.state.unit(message.unitId);
    if (!u || u.holder !== who || !awaitsRows(u)) {
      throw new TabgridError(ErrorCode.UnknownUnit, `no request for the rows of unit ${message.unitId} is open for you`);
    }
    const unit = this.unitOf(u);
    const got = this.rowsInFlight.add(who, via, unit as ChallengedUnit, message.first, message.data, now);
    if (got.busy) throw new TabgridError(ErrorCode.Busy, got.busy);
    if (got.failure) return [this.reject(who, u, got.failure, tx)];
    if (!got.data) return [];
    return [await this.take(who, u, unit, this.rowsStep({ who, record: u, unit }, got.data), got.data, now, tx)];
  }

  /** What the whole output says, by what the unit awaited it for. */
  private rowsStep(c: Case, data: Uint8Array): Step {
    const matches = () => hashesTo(c.unit as ChallengedUnit, data, c.record.root!, this.hash);
    const awaiting = c.record.awaiting!;
    switch (awaiting) {
      case Awaiting.RowsToCheck: {
        const { verifier } = this.verificationOf(c.record.jobId);
        if (!verifier.onRows) throw new Error(`unit ${c.record.unitId} awaits rows its policy does not check`);
        return verifier.onRows(c, data);
      }
      case Awaiting.RowsToKeep:
        return matches() ? passed() : failed(NOT_THE_ROOT);
      // A trusted key's skipped check stays skipped: its rows are only kept.
      case Awaiting.RowsTrusted:
        return matches() ? TRUSTED : failed(NOT_THE_ROOT);
      case Awaiting.Openings:
      case Awaiting.Recompute:
        throw new Error(`unit ${c.record.unitId} awaits ${awaiting}, not rows`);
    }
  }

  /**
   * Carries out a verifier's step for `who`'s result: asks for what the check needs (storing what
   * the unit now awaits), or rejects, or once the check passed or was spared keeps the output of
   * a job that collects it (asking for it first when `rows` are not in hand) and settles the unit.
   */
  private async take(who: string, u: UnitRecord, unit: WorkUnit, step: Step, rows: Uint8Array | undefined, now: number, tx: Tx): Promise<HostMessage> {
    switch (step.kind) {
      case StepKind.Challenge:
        tx.putUnit({ ...u, state: UnitState.Verifying, challenge: step.indices, awaiting: Awaiting.Openings });
        return { type: 'challenge', unitId: u.unitId, indices: step.indices };
      case StepKind.SendRows:
        return this.askRows(u, Awaiting.RowsToCheck, tx);
      case StepKind.Failed:
        return this.reject(who, u, step.reason, tx);
      case StepKind.Passed:
      case StepKind.Trusted: {
        const { policy, verifier } = this.verificationOf(u.jobId);
        if (keepsOutput(policy)) {
          if (!rows) return this.askRows(u, step.kind === StepKind.Passed ? Awaiting.RowsToKeep : Awaiting.RowsTrusted, tx);
          tx.putOutput({ unitId: u.unitId, root: u.root!, data: rows });
        }
        const settled = { ...u, challenge: null };
        if (step.kind === StepKind.Trusted) return this.accept(who, settled, unit, now, tx, null, false);
        return verifier.onPassed({ who, record: settled, unit }, this.court(now, tx), step.solutions ?? null);
      }
    }
  }

  /** Asks for a unit's whole output, remembering why (the unit's `awaiting`). */
  private askRows(u: UnitRecord, why: Awaiting, tx: Tx): HostMessage {
    tx.putUnit({ ...u, state: UnitState.Verifying, challenge: null, awaiting: why });
    return { type: 'send-rows', unitId: u.unitId };
  }

  /** The Judge's verdicts, for a verifier settling a unit within this message's Tx. */
  private court(now: number, tx: Tx): Court {
    return {
      tx,
      now,
      accept: (who, record, verified, solutions = null) => this.accept(who, record, this.unitOf(record), now, tx, solutions, verified),
      credit: (who, accepted, reason) => this.credit(who, accepted, this.unitOf(accepted), now, tx, reason, true),
      penalise: (who, record, reason) => this.penalise(who, record, reason, tx),
      verdict: (who, unitId, verdict, reason) => this.verdict(who, unitId, verdict, reason, 0, undefined, tx),
      isBanned: (jobId, key) => this.trust.isBanned(jobId, key),
      hasRoom: (jobId, voters) => this.settler.hasRoom(jobId, voters),
    };
  }

  /** A job's policy (policyOf) and its verifier, made on first use. */
  private verificationOf(jobId: string): { readonly policy: VerificationPolicy; readonly verifier: Verifier } {
    let v = this.verification.get(jobId);
    if (!v) {
      const policy = policyOf(this.state.job(jobId)!.spec);
      v = { policy, verifier: verifierFor(policy, { hash: this.hash, random: this.random }) };
      this.verification.set(jobId, v);
    }
    return v;
  }

  verdict(who: string, unitId: string, verdict: Verdict, reason: string, credit: number, receipt: Receipt | undefined, tx: Tx): HostMessage {
    const totalCredit = tx.volunteer(who).credit;
    return receipt
      ? { type: 'verdict', unitId, verdict, reason, credit, totalCredit, receipt }
      : { type: 'verdict', unitId, verdict, reason, credit, totalCredit };
  }

  /** `verified`: false when a trusted key's spot check was skipped (which earns no trust). */
  private async accept(
    who: string,
    u: UnitRecord,
    unit: WorkUnit,
    now: number,
    tx: Tx,
    solutions: readonly number[] | null,
    verified: boolean,
  ): Promise<HostMessage> {
    const { awaiting: _, ...rest } = u;
    tx.putUnit({ ...rest, state: UnitState.Accepted, challenge: null, leaseDeadline: null, acceptedAt: now, solutions });
    return this.credit(who, u, unit, now, tx, verified ? 'verified' : 'accepted on commitment (trusted key; spot check skipped)', verified);
  }

  /** Grants `who` the unit's credit and a signed receipt (and, when `verified`, trust). */
  private async credit(who: string, u: UnitRecord, unit: WorkUnit, now: number, tx: Tx, reason: string, verified: boolean): Promise<HostMessage> {
    const volunteer = tx.volunteer(who);
    const credit = unitWork(unit);
    const unsigned = makeReceipt({ jobId: u.jobId, unitId: u.unitId, volunteer: who, credit, root: u.root!, issuedAt: now }, this.hash);
    const receipt = { ...unsigned, signature: await signReceipt(this.identity, unsigned) };
    tx.putVolunteer(creditedVolunteer(volunteer, credit, now));
    // The team the key is in now earns it too, and keeps it if the key later moves (standings.ts).
    const team = volunteer.team === undefined ? undefined : creditedTeam(volunteer, tx.team(teamKeyOf(volunteer.team)), credit, now);
    if (team) tx.putTeam(team);
    tx.putReceipt(receipt);
    if (verified) this.trust.record(tx, u.jobId, who, true);
    return this.verdict(who, u.unitId, Verdict.Accepted, reason, credit, receipt, tx);
  }

  private reject(who: string, u: UnitRecord, reason: string, tx: Tx): HostMessage {
    tx.putUnit({ ...requeued(u), rejectedBy: [...u.rejectedBy, who] });
    this.rowsInFlight.forget(who, u.unitId);
    return this.penalise(who, u, reason, tx);
  }

  /** A result for a unit `who` never held: an error reply, and an invalid result for its trust (which may ban it). */
  private unearned(who: string, u: UnitRecord, tx: Tx): HostMessage {
    const trust = this.countInvalid(who, u, tx);
    const message = `unit ${u.unitId} was never leased to you; an authenticated result for it counts as an invalid result${trust?.banned ? `, and this key is now banned from job ${u.jobId}` : ''}`;
    return { type: 'error', code: trust?.banned ? ErrorCode.Banned : ErrorCode.UnknownUnit, message, unitId: u.unitId };
  }

  /** Counts a rejection against `who`, and an invalid result against its trust (a ban requeues its other units). */
  private penalise(who: string, u: UnitRecord, reason: string, tx: Tx): HostMessage {
    const trust = this.countInvalid(who, u, tx);
    return this.verdict(who, u.unitId, Verdict.Rejected, trust?.banned ? `${reason}; this key is now banned from job ${u.jobId}` : reason, 0, undefined, tx);
  }

  /**
   * A rejection on `who`'s record and an invalid result on its trust in `u`'s job; a ban requeues
   * its other units there (the caller settles `u` itself).
   */
  private countInvalid(who: string, u: UnitRecord, tx: Tx): TrustState | undefined {
    const volunteer = tx.volunteer(who);
    tx.putVolunteer({ ...volunteer, rejected: volunteer.rejected + 1 });
    return this.trust.record(tx, u.jobId, who, false, u.unitId);
  }

  /**
   * The host's own computation of a unit awaiting it (settler.ts) is in: the unit's verifier
   * settles it (replication: the keys that reported its root are credited, the others rejected).
   */
  async settle(unitId: string, settlement: Settlement, now: number, tx: Tx): Promise<void> {
    const u = this.state.unit(unitId);
    if (!u || !awaitingRecompute(u)) return;
    const { verifier } = this.verificationOf(u.jobId);
    if (!verifier.onRecomputed) throw new Error(`unit ${unitId} awaits a computation its policy does not use`);
    await verifier.onRecomputed(u, settlement, this.court(now, tx));
  }

  private authentic(key: ResultKey, unit: WorkUnit, message: Result): boolean {
    return key.verify({ jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root: message.root }, message.mac);
  }
}
