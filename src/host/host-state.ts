import type { Backend, HostMessage } from '../protocol';
import type { HostSnapshot, StoreBatch, StoredJob, StoredOutput, StoredReceipt, StoredTeam, StoredTrust, StoredUnit, StoredVolunteer } from './store/store';
import { Awaiting, JobStatus, LEASE_HISTORY, StoredUnitState as UnitState } from './store/store';

export type UnitRecord = StoredUnit;

/**
 * The host's state in memory, with the indexes leasing needs (queued units per job in queue
 * order, leased units, units per holder). Records are immutable: a change is a new record,
 * staged in a Tx, committed to the store, and only then applied here.
 */
/** How many of a job's queued units the locality preference looks through for one whose datasets the volunteer holds. */
export const LOCALITY_SCAN = 512;
/** The rank nextQueued stops looking at: nothing beats it. */
export const BEST_RANK = 2;

export class HostState {
  private readonly jobs = new Map<string, StoredJob>();
  private jobOrder: StoredJob[] = [];
  private readonly units = new Map<string, StoredUnit>();
  private readonly byJob = new Map<string, string[]>();
  /** Queued unit ids per job; a Set keeps insertion order, so requeued units go to the back. */
  private readonly queued = new Map<string, Set<string>>();
  /**
   * Queued replicated units that already have a replica on file, per job: leased before the
   * rest, so a unit's replicas follow each other closely and its voters hear soon.
   */
  private readonly awaitingReplica = new Map<string, Set<string>>();
  private readonly leased = new Set<string>();
  private readonly holders = new Map<string, Set<string>>();
  private readonly volunteers = new Map<string, StoredVolunteer>();
  /** By unit, then volunteer: a replicated unit has one receipt per agreeing key. */
  private readonly receipts = new Map<string, Map<string, StoredReceipt>>();
  private readonly trustRecords = new Map<string, StoredTrust>();
  private readonly teams = new Map<string, StoredTeam>();
  /** Units per state, kept as units move: the announcer logs them at every acceptance, which a count over every unit made O(units). */
  private readonly perState: Record<UnitState, number> = { queued: 0, leased: 0, verifying: 0, accepted: 0 };

  constructor(snapshot: HostSnapshot) {
    for (const j of snapshot.jobs) this.putJob(j);
    for (const u of snapshot.units) this.putUnit(u);
    for (const v of snapshot.volunteers) this.volunteers.set(v.id, v);
    for (const r of snapshot.receipts) this.putReceipt(r);
    for (const t of snapshot.trust) this.putTrust(t);
    for (const t of snapshot.teams) this.teams.set(t.key, t);
  }

  tx(): Tx {
    return new Tx(this);
  }

  job(id: string): StoredJob | undefined {
    return this.jobs.get(id);
  }

  jobSpecs(): StoredJob['spec'][] {
    return this.jobOrder.map((j) => j.spec);
  }

  unit(id: string): StoredUnit | undefined {
    return this.units.get(id);
  }

  volunteer(id: string): StoredVolunteer | undefined {
    return this.volunteers.get(id);
  }

  /** `volunteer`'s receipt for the unit; without `volunteer`, the unit's first receipt. */
  receipt(unitId: string, volunteer?: string): StoredReceipt | undefined {
    const all = this.receipts.get(unitId);
    return volunteer === undefined ? all?.values().next().value : all?.get(volunteer);
  }

  /** A key's trust record in a job, if it has one. */
  trust(jobId: string, key: string): StoredTrust | undefined {
    return this.trustRecords.get(trustKey(jobId, key));
  }

  /** The units `volunteer` holds now (leased or verifying). */
  heldBy(volunteer: string): StoredUnit[] {
    return [...(this.holders.get(volunteer) ?? [])].map((id) => this.units.get(id)!);
  }

  private dropHeld(holder: string, unitId: string): void {
    const held = this.holders.get(holder);
    if (!held?.delete(unitId) || held.size > 0) return;
    // A key that holds nothing has no entry: the index stays as large as the leases.
    this.holders.delete(holder);
  }

  leasedUnits(): StoredUnit[] {
    return [...this.leased].map((id) => this.units.get(id)!);
  }

  /** Queued units whose lease lapsed and that wait for their last holder (holds.ts `reserved`). */
  reservedUnits(): StoredUnit[] {
    return [...this.queued.values()].flatMap((q) => [...q].map((id) => this.units.get(id)!).filter((u) => u.holder !== null && u.hold?.lapsedAt !== undefined));
  }

  /**
   * The next unit this volunteer may take (not one it was rejected for or already reported a
   * replica of), from the highest-priority job that has one, skipping jobs `skip` names. Units
   * waiting for a second replica come first, but which one is drawn by `choose(n)` (an index
   * below n) among them and the next fresh unit: handing a waiting replica to whoever asks next
   * would let one person's second key ask right after its first and vote with it. Units `barred`
   * names are passed over too (one the volunteer held for the maximum hold, holds.ts). Among a
   * job's fresh units, the one `rank` ranks highest wins over the first in line (the earliest of
   * equals), looking LOCALITY_SCAN units deep and stopping at the first of rank BEST_RANK: for
   * locality, as BOINC schedules sticky files, a unit reading datasets the volunteer holds.
   */
  nextQueued(
    volunteer: string,
    skip: (jobId: string) => boolean = () => false,
    choose: (n: number) => number = () => 0,
    barred: (u: StoredUnit) => boolean = () => false,
    rank?: (u: StoredUnit, spec: StoredJob['spec']) => number,
  ): StoredUnit | undefined {
    const mayTake = (u: StoredUnit) => !u.rejectedBy.includes(volunteer) && !u.votes?.some((v) => v.key === volunteer) && !barred(u);
    for (const job of this.jobOrder) {
      if (!leases(job) || skip(job.id)) continue;
      const candidates = [...(this.awaitingReplica.get(job.id) ?? [])].map((id) => this.units.get(id)!).filter(mayTake);
      let best: StoredUnit | undefined;
      let bestRank = -Infinity;
      let seen = 0;
      for (const id of this.queued.get(job.id) ?? []) {
        const u = this.units.get(id)!;
        if (!mayTake(u)) continue;
        const r = rank ? rank(u, job.spec) : BEST_RANK;
        if (r > bestRank) {
          best = u;
          bestRank = r;
        }
        if (r >= BEST_RANK || ++seen >= LOCALITY_SCAN) break;
      }
      if (best) candidates.push(best);
      if (candidates.length > 0) return candidates[candidates.length === 1 ? 0 : choose(candidates.length)];
    }
    return undefined;
  }

  /** Whether every unit is accepted, the queued units of cancelled jobs aside (they will never run). */
  allAccepted(): boolean {
    for (const [jobId, q] of [...this.queued, ...this.awaitingReplica]) if (q.size > 0 && this.jobs.get(jobId)?.status !== JobStatus.Cancelled) return false;
    return this.leased.size === 0;
  }

  /** Whether a job's units may be leased (it is neither paused nor cancelled); false for a job this host does not have. */
  leasable(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    return job !== undefined && leases(job);
  }

  /** Every job, highest priority first. */
  allJobs(): StoredJob[] {
    return [...this.jobOrder];
  }

  counts(): Record<UnitState, number> & { total: number } {
    return { total: this.units.size, ...this.perState };
  }

  accepted(jobId?: string): StoredUnit[] {
    const jobs = jobId ? [jobId] : this.jobOrder.map((j) => j.id);
    return jobs.flatMap((j) => this.unitsOf(j).filter((u) => u.state === UnitState.Accepted));
  }

  /** A job's units in index order (read-only views use it); a shared process has only those it holds. */
  unitsOf(jobId: string): StoredUnit[] {
    const units: StoredUnit[] = [];
    // forEach skips the holes forgetUnit leaves.
    (this.byJob.get(jobId) ?? []).forEach((id) => units.push(this.units.get(id)!));
    return units;
  }

  allVolunteers(): StoredVolunteer[] {
    return [...this.volunteers.values()];
  }

  team(key: string): StoredTeam | undefined {
    return this.teams.get(key);
  }

  allTeams(): StoredTeam[] {
    return [...this.teams.values()];
  }

  /** @internal Tx.apply */
  putTeam(t: StoredTeam): void {
    this.teams.set(t.key, t);
  }

  /** Trust records, of one job or all. */
  trustRecordsOf(jobId?: string): StoredTrust[] {
    return [...this.trustRecords.values()].filter((t) => jobId === undefined || t.jobId === jobId);
  }

  /** @internal Tx.apply */
  putJob(j: StoredJob): void {
    this.jobs.set(j.id, j);
    this.jobOrder = [...this.jobs.values()].sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt);
  }

  /** @internal Tx.apply: stores the record and moves it between indexes. */
  putUnit(u: StoredUnit): void {
    const before = this.units.get(u.unitId);
    this.units.set(u.unitId, u);
    if (before) this.perState[before.state]--;
    this.perState[u.state]++;
    if (!before) {
      const list = this.byJob.get(u.jobId) ?? [];
      list[u.index] = u.unitId;
      this.byJob.set(u.jobId, list);
    }
    const q = this.queued.get(u.jobId) ?? new Set<string>();
    this.queued.set(u.jobId, q);
    const r = this.awaitingReplica.get(u.jobId) ?? new Set<string>();
    this.awaitingReplica.set(u.jobId, r);
    const [into, other] = u.votes?.length ? [r, q] : [q, r];
    other.delete(u.unitId);
    if (u.state === UnitState.Queued) into.add(u.unitId);
    else into.delete(u.unitId);
    if (u.state === UnitState.Leased || u.state === UnitState.Verifying) this.leased.add(u.unitId);
    else this.leased.delete(u.unitId);
    // Only units held now (leased or verifying) are indexed: an accepted unit keeps its holder, and
    // a volunteer's every accepted unit made heldBy slower with each unit it finished.
    const heldNow = u.state === UnitState.Leased || u.state === UnitState.Verifying;
    if (before?.holder && (before.holder !== u.holder || !heldNow)) this.dropHeld(before.holder, u.unitId);
    if (u.holder && heldNow) {
      const held = this.holders.get(u.holder) ?? new Set<string>();
      held.add(u.unitId);
      this.holders.set(u.holder, held);
    }
  }

  /** Queued units, in no particular order (a shared process gives back those nobody asks for: sharing.ts). */
  queuedUnits(): StoredUnit[] {
    return [...this.queued.values(), ...this.awaitingReplica.values()].flatMap((q) => [...q].map((id) => this.units.get(id)!));
  }

  /**
   * Forgets a unit from every index, as if never loaded: a process sharing its database keeps
   * in memory only the units it owns (sharing.ts), and drops those another process took over.
   */
  forgetUnit(unitId: string): void {
    const u = this.units.get(unitId);
    if (!u) return;
    this.units.delete(unitId);
    const list = this.byJob.get(u.jobId);
    if (list && list[u.index] === unitId) delete list[u.index];
    this.queued.get(u.jobId)?.delete(unitId);
    this.awaitingReplica.get(u.jobId)?.delete(unitId);
    this.leased.delete(unitId);
    if (u.holder) this.dropHeld(u.holder, unitId);
    this.receipts.delete(unitId);
  }

  /** @internal Tx.apply: forgets a deleted job, its units (from every index) and its trust records; its receipts stay. */
  removeJob(jobId: string): void {
    this.jobs.delete(jobId);
    this.jobOrder = this.jobOrder.filter((j) => j.id !== jobId);
    for (const id of this.byJob.get(jobId) ?? []) {
      const u = this.units.get(id);
      if (u?.holder) this.dropHeld(u.holder, id);
      if (u) this.perState[u.state]--;
      this.leased.delete(id);
      this.units.delete(id);
    }
    this.byJob.delete(jobId);
    this.queued.delete(jobId);
    this.awaitingReplica.delete(jobId);
    for (const [k, t] of this.trustRecords) if (t.jobId === jobId) this.trustRecords.delete(k);
  }

  /** @internal Tx.apply */
  putVolunteer(v: StoredVolunteer): void {
    this.volunteers.set(v.id, v);
  }

  /** @internal Tx.apply */
  putReceipt(r: StoredReceipt): void {
    const all = this.receipts.get(r.unitId) ?? new Map<string, StoredReceipt>();
    all.set(r.volunteer, r);
    this.receipts.set(r.unitId, all);
  }

  /** @internal Tx.apply */
  putTrust(t: StoredTrust): void {
    this.trustRecords.set(trustKey(t.jobId, t.key), t);
  }
}

/**
 * The unit back in the queue after its lease lapsed. It remembers who held it: that volunteer
 * (slow, or reloading) may take it back with a heartbeat or deliver its result as long as
 * nobody else has leased it meanwhile and its hold has not run out (holds.ts), instead of
 * throwing its checkpoint away.
 */
export function lapsed(u: UnitRecord, now: number): UnitRecord {
  return { ...requeued(u), holder: u.holder, ...(u.hold ? { hold: { ...u.hold, lapsedAt: now } } : {}) };
}

/** A unit's lease history with `key` added (once; the oldest entries drop past LEASE_HISTORY). */
export function withLeaseHolder(u: UnitRecord, key: string): readonly string[] {
  // A record from before lease histories starts its history with the holder it names.
  const h = u.leasedTo ?? (u.holder ? [u.holder] : []);
  return h.includes(key) ? h : [...h, key].slice(-LEASE_HISTORY);
}

/**
 * Whether `key` certainly never held the unit's lease. Unknown (false) for a record from before
 * lease histories, or one whose history is full and may have dropped the key.
 */
export function neverLeasedTo(u: UnitRecord, key: string): boolean {
  return u.leasedTo !== undefined && u.leasedTo.length < LEASE_HISTORY && !u.leasedTo.includes(key) && u.holder !== key;
}

/** What computed a result, as its volunteer reported it (StoredUnit `backend`, `adapter`). */
export interface MadeBy {
  readonly backend?: Backend;
  readonly adapter?: string;
}

/** The fields of `from` saying what computed a result, only those present (so none is stored as undefined). */
export function madeBy(from: MadeBy | undefined): MadeBy {
  return { ...(from?.backend === undefined ? {} : { backend: from.backend }), ...(from?.adapter === undefined ? {} : { adapter: from.adapter }) };
}

/** A unit record without what computed its last result. */
export function withoutMadeBy(u: UnitRecord): UnitRecord {
  const { backend: _b, adapter: _a, ...rest } = u;
  return rest;
}

/** The unit back in the queue, forgetting its holder and any result (what computed it, its shares). */
export function requeued(u: UnitRecord): UnitRecord {
  const { awaiting: _, backend: _b, adapter: _a, shares: _s, ...rest } = u;
  return { ...rest, state: UnitState.Queued, holder: null, leaseDeadline: null, progress: 0, root: null, challenge: null, solutions: null };
}

/** Whether the unit waits for its holder's whole output (`rows`), for whatever reason. */
export function awaitsRows(u: UnitRecord): boolean {
  if (u.state !== UnitState.Verifying || u.awaiting === undefined) return false;
  switch (u.awaiting) {
    case Awaiting.RowsToCheck:
    case Awaiting.RowsToKeep:
    case Awaiting.RowsTrusted:
      return true;
    case Awaiting.Openings:
    case Awaiting.Recompute:
      return false;
  }
}

const trustKey = (jobId: string, key: string) => JSON.stringify([jobId, key]);

const leases = (job: StoredJob) => (job.status ?? JobStatus.Active) === JobStatus.Active;

/** Changes staged for one commit; reads of volunteers see the staged values. */
export class Tx {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly units = new Map<string, StoredUnit>();
  private readonly volunteers = new Map<string, StoredVolunteer>();
  private readonly receipts = new Map<string, StoredReceipt>();
  private readonly trustRecords = new Map<string, StoredTrust>();
  private readonly teams = new Map<string, StoredTeam>();
  private readonly notes: { readonly to: string; readonly message: HostMessage }[] = [];
  private readonly outputs: StoredOutput[] = [];
  private readonly droppedOutputs: { unitId: string; root: string }[] = [];
  private readonly toSettle: { readonly unitId: string; readonly voters: readonly string[] }[] = [];
  private readonly deletedJobs: string[] = [];
  private readonly deletedDatasets: string[] = [];

  constructor(private readonly state: HostState) {}

  /** A unit for the host to compute itself once this Tx is committed (settler.ts); the unit record says it waits. */
  settle(unitId: string, voters: readonly string[]): void {
    this.toSettle.push({ unitId, voters });
  }

  settlements(): readonly { readonly unitId: string; readonly voters: readonly string[] }[] {
    return this.toSettle;
  }

  /** A unit's collected output, to keep (the store holds it; HostState does not). */
  putOutput(o: StoredOutput): void {
    this.outputs.push(o);
  }

  dropOutput(unitId: string, root: string): void {
    this.droppedOutputs.push({ unitId, root });
  }

  /** A message for another volunteer than the one speaking, to deliver once this Tx is committed. */
  notify(to: string, message: HostMessage): void {
    this.notes.push({ to, message });
  }

  notices(): readonly { readonly to: string; readonly message: HostMessage }[] {
    return this.notes;
  }

  putJob(j: StoredJob): void {
    this.jobs.set(j.id, j);
  }

  /** Deletes a job with everything the store keeps of it (StoreBatch.deletedJobs), and datasets that only it read. */
  deleteJob(jobId: string, datasets: readonly string[]): void {
    this.deletedJobs.push(jobId);
    this.deletedDatasets.push(...datasets);
  }

  putUnit(u: StoredUnit): void {
    this.units.set(u.unitId, u);
  }

  putVolunteer(v: StoredVolunteer): void {
    this.volunteers.set(v.id, v);
  }

  putReceipt(r: StoredReceipt): void {
    this.receipts.set(r.receiptId, r);
  }

  putTrust(t: StoredTrust): void {
    this.trustRecords.set(trustKey(t.jobId, t.key), t);
  }

  /** The staged trust record, else the committed one. */
  trust(jobId: string, key: string): StoredTrust | undefined {
    return this.trustRecords.get(trustKey(jobId, key)) ?? this.state.trust(jobId, key);
  }

  volunteer(id: string): StoredVolunteer {
    return this.volunteers.get(id) ?? this.state.volunteer(id) ?? { id, credit: 0, accepted: 0, rejected: 0 };
  }

  putTeam(t: StoredTeam): void {
    this.teams.set(t.key, t);
  }

  /** The staged team, else the committed one (undefined for a team nobody has earned in yet). */
  team(key: string): StoredTeam | undefined {
    return this.teams.get(key) ?? this.state.team(key);
  }

  batch(): StoreBatch {
    return {
      jobs: [...this.jobs.values()],
      units: [...this.units.values()],
      volunteers: [...this.volunteers.values()],
      receipts: [...this.receipts.values()],
      trust: [...this.trustRecords.values()],
      ...(this.teams.size ? { teams: [...this.teams.values()] } : {}),
      ...(this.outputs.length ? { outputs: this.outputs } : {}),
      ...(this.droppedOutputs.length ? { droppedOutputs: this.droppedOutputs } : {}),
      ...(this.deletedJobs.length ? { deletedJobs: this.deletedJobs } : {}),
      ...(this.deletedDatasets.length ? { deletedDatasets: this.deletedDatasets } : {}),
    };
  }

  apply(): void {
    for (const id of this.deletedJobs) this.state.removeJob(id);
    for (const j of this.jobs.values()) this.state.putJob(j);
    for (const u of this.units.values()) this.state.putUnit(u);
    for (const v of this.volunteers.values()) this.state.putVolunteer(v);
    for (const r of this.receipts.values()) this.state.putReceipt(r);
    for (const t of this.trustRecords.values()) this.state.putTrust(t);
    for (const t of this.teams.values()) this.state.putTeam(t);
  }
}
