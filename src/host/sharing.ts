/**
 * One host process's part in a database several processes share (docs/MULTI-HOST.md). The
 * process holds in memory only units it owns in the database: claimed a few at a time when a
 * volunteer asks and none is queued here, adopted when a volunteer brings a unit of a process
 * that died (its result, heartbeat or reconnect), or when a dead process's lease ran out. Before
 * a request or a step of judging (result, openings, rows), the key's volunteer and trust records
 * are read again if another process changed them since (its commit's notice says so; without
 * notices, always), so a ban by another process holds here; teams other processes credited are
 * read again once a second. Commits are fenced by ownership; a fenced one drops the units another
 * process took and fails the message as busy (the volunteer asks again). Queued units nobody
 * here asked for within a lease period go back to the pool.
 */
import { ErrorCode, TabgridError } from '../errors';
import type { HostMessage, VolunteerMessage } from '../protocol';
import type { HostState } from './host-state';
import { FencedCommit, teamOfNoticeKey, type BatchBase, type Claimed, type SharedHostStore, type UnitCounts } from './store/shared-store';
import type { CommitChain, HostSnapshot, StoreBatch, StoredTeam, StoredTrust, StoredUnit, StoredVolunteer } from './store/store';

/** Queued units claimed at once when a volunteer asks and none is queued here. */
export const CLAIM_BLOCK = 4;
/** Keys whose records are known fresh at most (bounds `fresh`). */
const FRESH_KEYS = 100_000;
/** Lapsed units of dead processes adopted per tick at most. */
const ADOPT_PER_TICK = 64;
/** Teams read again per tick at most (staleTeams). */
const TEAMS_PER_TICK = 256;

type Decided = Exclude<VolunteerMessage, { type: 'hello' | 'key-proof' | 'relay' | 'child-left' | 'get-chunks' | 'get-peers' | 'have' | 'serving' }>;

export class Sharing {
  private counted: UnitCounts = { total: 0, queued: 0, leased: 0, verifying: 0, accepted: 0 };
  private left = Number.POSITIVE_INFINITY;
  /** Connections whose key's units at dead processes were already looked for (once per connection). */
  private readonly arrived = new Set<string>();
  /** When each queued unit held here was first seen queued by a tick (given back after a lease period). */
  private readonly queuedSince = new Map<string, number>();
  /**
   * Keys whose volunteer and trust records were read since any other process last changed them
   * (its commit's notice, SharedNotice): these need no read before their next request or result.
   * Only while the store is listening; emptied whenever notices may have been missed.
   */
  private readonly fresh = new Set<string>();
  /**
   * Teams whose totals memory may have wrong: another process credited them (its notice named
   * them), notices may have been missed, or a batch of ours that credited them was fenced after
   * memory took it. Read again at the next ticks (TEAMS_PER_TICK at a time), in turn with
   * messages, so no commit of ours changes them while they are read. Bounded by FRESH_KEYS.
   */
  private readonly staleTeams = new Set<string>();

  constructor(
    private readonly store: SharedHostStore,
    private readonly state: HostState,
    private readonly leaseMs: number,
    /** Units taken over from another process (the core schedules those awaiting its own computation). */
    private readonly adopted: (units: readonly StoredUnit[]) => void,
    /** Units dropped from memory (the core frees what it held for them). */
    private readonly dropped: (units: readonly StoredUnit[]) => void,
    /** A message another process owes to `to` (a replica's verdict), for the next reply to that key if it speaks here. */
    private readonly owed: (to: string, message: HostMessage) => void,
    /** Volunteer or team records were read again (the core ranks its leaderboards afresh). */
    private readonly reread: () => void,
    private readonly log?: (line: string) => void,
  ) {
    store.listen({
      notice: (n) => {
        if (n.kind === 'keys')
          for (const k of n.keys) {
            const team = teamOfNoticeKey(k);
            if (team === undefined) this.fresh.delete(k);
            else this.staleTeam(team);
          }
        else this.owed(n.to, n.message);
      },
      reset: () => {
        this.fresh.clear();
        for (const t of this.state.allTeams()) this.staleTeam(t.key);
      },
    });
  }

  /**
   * Registers the process and runs `start` on the shared snapshot (no units) under the lock on
   * job creation, so processes starting on one job file add it once; the units `start` staged
   * (new jobs') go to the pool, not to this process.
   */
  static async start(store: SharedHostStore, start: (snapshot: HostSnapshot) => Promise<HostState>): Promise<HostState> {
    await store.beat();
    const state = await store.exclusive(async () => start(await store.loadShared()));
    for (const job of state.allJobs()) for (const u of state.unitsOf(job.id)) state.forgetUnit(u.unitId);
    return state;
  }

  /** Whether every unit in the database is accepted (as of the last tick). */
  get done(): boolean {
    return this.left === 0;
  }

  /** Units by state over the database (as of the last tick). */
  counts(): UnitCounts {
    return { ...this.counted };
  }

  /**
   * Before `message` from `who` is decided: brings in what it concerns from the database.
   * False when the unit it names is another live process's (a volunteer that moved here before
   * its process was found dead): the caller has it ask again shortly, when the unit is free.
   */
  async prepare(who: string, message: Decided, connection: string): Promise<boolean> {
    switch (message.type) {
      case 'request-unit': {
        await this.refresh(who);
        // A volunteer coming from a process that died goes on with the units it held there (it asks first thing on a new connection).
        if (!this.arrived.has(connection)) {
          this.arrived.add(connection);
          this.bring(await this.store.adoptHeldBy(who));
        }
        if (!this.state.nextQueued(who)) await this.claimFor(who);
        return true;
      }
      // Judged steps: a ban another process recorded since must hold here (host-core.ts gives back the key's units).
      case 'result':
      case 'openings':
      case 'rows':
        await this.refresh(who);
        return this.ensure(message.unitId);
      case 'heartbeat':
        return this.ensure(message.unitId);
      case 'profile':
      case 'standing':
      case 'get-ice':
      case 'peer-report': // touches the reported key's trust record, which is re-read when that key next speaks
        return true;
    }
  }

  /**
   * Once a second, in turn with messages: says this process is alive, adopts units of dead
   * processes whose lease lapsed a lease period ago (the caller's expiry requeues them), gives
   * back queued units nobody here asked for, takes back its own units memory lost, and counts the
   * database's units.
   */
  async tick(now: number): Promise<void> {
    await this.store.beat();
    await this.refreshTeams();
    // A dead process's lease is taken over one lease period after it lapsed, as a restarted host gives each restored lease one
    // more period: its holder notices the death only by silence (5 s) and then has to reconnect. Taken at once, it was requeued
    // here while its holder was on its way to another process, whose every offer of the finished result was then `busy`.
    this.bring(await this.store.adoptLapsed(now - this.leaseMs, ADOPT_PER_TICK));
    const queued = this.state.queuedUnits();
    const idle: StoredUnit[] = [];
    const seen = new Set<string>();
    for (const u of queued) {
      seen.add(u.unitId);
      const since = this.queuedSince.get(u.unitId) ?? now;
      this.queuedSince.set(u.unitId, since);
      if (now - since >= this.leaseMs) idle.push(u);
    }
    for (const id of this.queuedSince.keys()) if (!seen.has(id)) this.queuedSince.delete(id);
    if (idle.length > 0) {
      await this.store.release(idle.map((u) => u.unitId));
      this.forget(idle);
    }
    await this.takeBackStrays();
    [this.counted, this.left] = await Promise.all([this.store.counts(), this.store.remaining()]);
  }

  /**
   * Units this process owns in the database but does not hold in memory (a claim that took them
   * and whose answer was lost with its connection; a fenced batch's recovery that failed) would
   * be nobody's while this process lives, and the job would never finish: taken back.
   */
  private async takeBackStrays(): Promise<void> {
    const strays = (await this.store.ownedUnitIds()).filter((id) => this.state.unit(id) === undefined);
    if (strays.length === 0) return;
    const back = this.bringMissing(await this.store.adopt(strays));
    this.log?.(`${back} unit(s) this process owned in the database were not in its memory: taken back`);
  }

  /** The connection closed, or a relay's child left (bounds `arrived`): a relay's children go with it. */
  disconnected(connection: string): void {
    this.arrived.delete(connection);
    const children = `${connection}>`;
    for (const c of this.arrived) if (c.startsWith(children)) this.arrived.delete(c);
  }

  /** Connections whose key's units at dead processes were looked for, and that are still open. */
  get arrivals(): number {
    return this.arrived.size;
  }

  /**
   * Commits `batch` fenced by ownership, its records as increments over what memory holds now
   * (call before applying it: the base is read before this returns its promise), and tells the
   * other processes of it: the keys it changed, and `owed`, messages for keys that may be
   * connected to them (docs/MULTI-HOST.md). With `chain` (group commit: the caller applies the
   * batch at once), a fenced batch leaves memory ahead of the database: its units are dropped
   * and taken back as the database has them, and its keys are read again before their next use.
   */
  async commit(batch: StoreBatch, owed: readonly { readonly to: string; readonly message: HostMessage }[] = [], chain?: CommitChain): Promise<void> {
    const volunteers = new Map<string, StoredVolunteer>();
    const teams = new Map<string, StoredTeam>();
    const trust = new Map<string, StoredTrust>();
    for (const v of batch.volunteers ?? []) {
      const had = this.state.volunteer(v.id);
      if (had) volunteers.set(v.id, had);
    }
    for (const t of batch.teams ?? []) {
      const had = this.state.team(t.key);
      if (had) teams.set(t.key, had);
    }
    for (const t of batch.trust ?? []) {
      const had = this.state.trust(t.jobId, t.key);
      if (had) trust.set(JSON.stringify([t.jobId, t.key]), had);
    }
    const base: BatchBase = { volunteers, teams, trust };
    try {
      await this.store.commitShared(batch, base, owed, chain);
    } catch (err) {
      if (!(err instanceof FencedCommit)) throw err;
      // Applied already (group commit), the batch's increments are in memory and not in the database: its keys are read again.
      for (const v of batch.volunteers ?? []) this.fresh.delete(v.id);
      for (const t of batch.trust ?? []) this.fresh.delete(t.key);
      for (const t of batch.teams ?? []) this.staleTeam(t.key);
      // Some unit went to another process: drop the batch's units, take back those still ours (the read waits for our groups in flight).
      // This runs beside the message queue: a unit a message brought back meanwhile (and maybe changed) is newer than this read.
      const units = err.unitIds.map((id) => this.state.unit(id)).filter((u) => u !== undefined);
      this.forget(units);
      this.bringMissing(await this.store.adopt(err.unitIds));
      this.log?.(`${err.message}; the message is refused as busy`);
      throw new TabgridError(ErrorCode.Busy, 'another host process took over this unit; ask again', { cause: err });
    }
  }

  /** Reads stale teams again (in turn with messages: no batch of ours can change them meanwhile). */
  private async refreshTeams(): Promise<void> {
    if (this.staleTeams.size === 0) return;
    const keys = [...this.staleTeams].slice(0, TEAMS_PER_TICK);
    for (const t of await this.store.teamsNow(keys)) this.state.putTeam(t);
    for (const k of keys) this.staleTeams.delete(k);
    this.reread();
  }

  /** Bounded: past FRESH_KEYS teams, the oldest mark is dropped (that team is read again when next named). */
  private staleTeam(key: string): void {
    this.staleTeams.add(key);
    if (this.staleTeams.size > FRESH_KEYS) this.staleTeams.delete(this.staleTeams.values().next().value!);
  }

  /** Counts the database's units now (the first tick is a second away). */
  async recount(): Promise<void> {
    [this.counted, this.left] = await Promise.all([this.store.counts(), this.store.remaining()]);
  }

  /** Reads the key's records again, unless no other process changed them since the last read (`fresh`). */
  private async refresh(who: string): Promise<void> {
    if (this.store.listening && this.fresh.has(who)) return;
    // Marked before the read: a notice arriving while it runs unmarks it, and the next message reads again.
    const listening = this.store.listening;
    if (listening) this.freshen(who);
    let read: Awaited<ReturnType<SharedHostStore['refreshKey']>>;
    try {
      read = await this.store.refreshKey(who);
    } catch (err) {
      this.fresh.delete(who);
      throw err;
    }
    const { volunteer, trust } = read;
    if (volunteer) this.state.putVolunteer(volunteer);
    for (const t of trust) this.state.putTrust(t);
    this.reread();
  }

  /** Bounded: past FRESH_KEYS keys, the oldest is read again when it next speaks. */
  private freshen(key: string): void {
    this.fresh.delete(key);
    this.fresh.add(key);
    if (this.fresh.size > FRESH_KEYS) this.fresh.delete(this.fresh.values().next().value!);
  }

  /** Brings the unit in if no other live process owns it; false when one does. */
  private async ensure(unitId: string): Promise<boolean> {
    if (this.state.unit(unitId)) return true;
    this.bring(await this.store.adopt([unitId]));
    return this.state.unit(unitId) !== undefined || !(await this.store.heldElsewhere(unitId));
  }

  /** Claims from the jobs that lease, highest priority first, until one claim gives `who` a unit it may take. */
  private async claimFor(who: string): Promise<void> {
    for (const job of this.state.allJobs()) {
      if (!this.state.leasable(job.id)) continue;
      this.bring(await this.store.claim(job.id, CLAIM_BLOCK));
      if (this.state.nextQueued(who)) return;
    }
  }

  private bring(claimed: Claimed): void {
    for (const u of claimed.units) this.state.putUnit(u);
    for (const r of claimed.receipts) this.state.putReceipt(r);
    if (claimed.units.length > 0) this.adopted(claimed.units);
  }

  /**
   * Brings in the taken units memory does not hold (a read beside the message queue: one a
   * message brought back meanwhile is newer than it); returns how many.
   */
  private bringMissing(claimed: Claimed): number {
    const units = claimed.units.filter((u) => this.state.unit(u.unitId) === undefined);
    this.bring({ ...claimed, units });
    return units.length;
  }

  private forget(units: readonly StoredUnit[]): void {
    for (const u of units) {
      this.state.forgetUnit(u.unitId);
      this.queuedSince.delete(u.unitId);
    }
    this.dropped(units);
  }
}
