import { ErrorCode, TabgridError } from '../errors';
import { encodeMessage, type HostMessage, type Receipt, type VolunteerMessage } from '../protocol';
import { parseVolunteerMessage } from '../validate';
import { jobUnit, type JobSpec } from './job';
import { stageJobs } from './job-intake';
import type { UnitView } from './host-views';
import { Connections } from './connections';
import { banned, Greeting } from './greeting';
import { HostState, lapsed, requeued, withLeaseHolder, type Tx } from './host-state';
import { Judge, type Speaker } from './judge';
import { acceptedResult, Announcer } from './announcer';
import { cryptoRandom, DEFAULT_MAX_UPLOAD_BYTES, type AcceptedResult, type HostCoreOptions } from './host-options';
import { randomBelow, type Random } from '../proof/random';
import type { HostStore, StoredTrust, StoredVolunteer } from './store/store';
import { StoredUnitState as UnitState } from './store/store';

export { StoredUnitState as UnitState } from './store/store';
export type { AcceptedResult, HostCoreOptions } from './host-options';
export type { UnitView, VerdictEvent } from './host-views';

/**
 * The job host's logic, free of any transport: connections are names, messages are JSON texts
 * in and typed replies out. Units go queued → leased → verifying → accepted; a rejected unit,
 * or one whose lease lapses, goes back to the queue. Every change is committed to the store
 * before the reply that announces it is returned. Messages are handled one at a time, in
 * arrival order.
 */
export class HostCore {
  private readonly sessions = new Connections();
  private readonly judge: Judge;
  private readonly greeting: Greeting;
  private readonly clock: () => number;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly announcer: Announcer;
  private readonly random: Random;

  private constructor(
    private readonly state: HostState,
    private readonly store: HostStore,
    private readonly options: HostCoreOptions,
  ) {
    this.announcer = new Announcer(state, options, options.clock ?? Date.now);
    this.random = options.random ?? cryptoRandom;
    this.judge = new Judge(state, options.hash, this.random, options.identity, options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES);
    this.clock = options.clock ?? Date.now;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.floor(this.leaseMs / 4);
    const { hostId, identity } = options;
    this.greeting = new Greeting({ hostId, identity, leaseMs: this.leaseMs, heartbeatMs: this.heartbeatMs, trust: this.judge.trust, redirect: (name) => this.redirect(name) });
  }

  /**
   * Opens a host on `store`: restores what it holds, and adds any of `jobs` it does not know
   * yet. A job id the store knows with a different spec is an error, not a silent replacement.
   */
  static async open(store: HostStore, jobs: readonly JobSpec[], options: HostCoreOptions): Promise<HostCore> {
    const snapshot = await store.load();
    const state = new HostState(snapshot);
    const now = (options.clock ?? Date.now)();
    const fresh = state.tx();
    stageJobs(state, fresh, jobs, now);
    await store.commit(fresh.batch());
    fresh.apply();
    return new HostCore(state, store, options);
  }

  /** The key the host signs receipts with: whoever checks a volunteer's credit statement needs it. */
  get publicKey(): string {
    return this.options.identity.publicKey;
  }

  get done(): boolean {
    return this.state.allAccepted();
  }

  progress(): Record<UnitState, number> & { total: number } {
    return this.state.counts();
  }

  /** Accepted roots (and proof-of-work solutions), in job then unit order. */
  results(jobId?: string): AcceptedResult[] {
    return this.state.accepted(jobId).map(acceptedResult);
  }

  /** An accepted unit's collected output (jobs with `collect: true`), read from the store. */
  async output(unitId: string): Promise<Uint8Array | undefined> {
    const u = this.state.unit(unitId);
    return u?.state === UnitState.Accepted && u.root ? this.store.output(unitId, u.root) : undefined;
  }

  /** The jobs this host serves, highest priority first. */
  jobs(): JobSpec[] {
    return this.state.jobSpecs();
  }

  volunteer(id: string): StoredVolunteer | undefined {
    return this.state.volunteer(id);
  }

  receipt(unitId: string): Receipt | undefined {
    return this.state.receipt(unitId);
  }

  connect(name: string): void {
    this.sessions.get(name);
  }

  /**
   * The connection closed (and with a relay, its children's). Leases stay until they lapse,
   * so a quick reconnect keeps them; uploads over it go (a reconnect sends them again).
   */
  disconnect(name: string): void {
    this.sessions.delete(name);
    this.judge.dropUploadsVia(name);
  }

  /** Bytes the uploads in flight hold now (bounded by `maxUploadBytes`). */
  uploadBytesInFlight(): number {
    return this.judge.uploadBytes;
  }

  /** Greeted connections straight to this host (not through a relay). */
  directConnections(): number {
    return this.sessions.direct().length;
  }

  /** Handles one raw message from connection `name`; resolves to the replies, in order. */
  handle(name: string, raw: unknown): Promise<HostMessage[]> {
    return this.serial(async () => {
      let message: VolunteerMessage | undefined;
      try {
        message = parseVolunteerMessage(raw);
        if (message.type === 'relay' || message.type === 'child-left') return await this.relay(name, message);
        return await this.dispatch(name, message);
      } catch (err) {
        return [this.error(name, err, message && 'unitId' in message ? message.unitId : undefined)];
      }
    });
  }

  /**
   * A relay's traffic: the child's message is handled as if the child were connected as
   * `<relay>><child>` (its own volunteer id, leases, verification and credit), and the replies
   * go back wrapped for the relay to pass on. A relay holds no state of its own.
   */
  private async relay(name: string, message: Extract<VolunteerMessage, { type: 'relay' | 'child-left' }>): Promise<HostMessage[]> {
    const session = this.sessions.find(name);
    if (!session?.relay || Connections.isRelayed(name)) throw new TabgridError(ErrorCode.BadMessage, 'only a directly connected relay may relay');
    const child = `${name}>${message.child}`;
    if (message.type === 'child-left') {
      this.disconnect(child);
      return [];
    }
    let replies: HostMessage[];
    try {
      const inner = parseVolunteerMessage(message.text);
      if (inner.type === 'relay' || inner.type === 'child-left') throw new TabgridError(ErrorCode.BadMessage, 'relays do not nest');
      replies = await this.dispatch(child, inner).catch((err: unknown) => [this.error(child, err, 'unitId' in inner ? inner.unitId : undefined)]);
    } catch (err) {
      replies = [this.error(child, err)];
    }
    return replies.map((r) => ({ type: 'relayed', child: message.child, text: encodeMessage(r) }));
  }

  /** Returns units whose lease has lapsed to the queue; the shell calls this every second. */
  expireLeases(): Promise<number> {
    return this.serial(async () => {
      const now = this.clock();
      const tx = this.state.tx();
      let expired = 0;
      for (const u of this.state.leasedUnits()) {
        if (u.leaseDeadline !== null && u.leaseDeadline <= now) {
          // A result under check that lapses starts over with anyone: keeping its holder would let
          // a volunteer come back for a fresh challenge (or a fresh spot-check roll) until it passed.
          tx.putUnit(u.state === UnitState.Verifying ? requeued(u) : lapsed(u));
          expired++;
        }
      }
      if (expired > 0) {
        const batch = tx.batch();
        await this.store.commit(batch);
        tx.apply();
        this.judge.release(batch.units ?? []);
        this.options.log?.(`${expired} lease(s) lapsed; units back in the queue`);
      }
      return expired;
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async dispatch(name: string, message: Exclude<VolunteerMessage, { type: 'relay' | 'child-left' }>): Promise<HostMessage[]> {
    this.connect(name);
    const session = this.sessions.get(name);
    if (message.type === 'hello') return [this.greeting.hello(name, session, message)];
    if (message.type === 'key-proof') {
      await this.greeting.prove(session, message);
      return [];
    }
    const speaker = this.greeting.speaker(session, message.type);
    const now = this.clock();
    const tx = this.state.tx();
    let replies: HostMessage[];
    try {
      replies = await this.decide(speaker, message, now, tx, name);
    } catch (err) {
      // Owed verdicts still go out, first (a key banned by its replica's rejection hears why before it hears `banned`).
      return [...this.announcer.take(speaker.id), this.error(speaker.id, err, 'unitId' in message ? message.unitId : undefined)];
    }
    const batch = tx.batch();
    await this.store.commit(batch);
    tx.apply();
    this.judge.release(batch.units ?? []);
    return this.announcer.committed(speaker.id, replies, tx);
  }

  /** Works out the replies and the state changes (into tx) for one message from connection `name`. */
  private async decide(speaker: Speaker, message: Exclude<VolunteerMessage, { type: 'hello' | 'key-proof' | 'relay' | 'child-left' }>, now: number, tx: Tx, name: string): Promise<HostMessage[]> {
    const deadline = now + this.leaseMs;
    const who = speaker.id;
    switch (message.type) {
      case 'request-unit': {
        const trust = this.judge.trust;
        if (trust.bannedEverywhere(who)) throw banned();
        // A leased unit this volunteer holds but did not list (it reloaded, or lost a reply) first.
        const held = this.state.heldBy(who).filter((u) => u.state === UnitState.Leased);
        const lost = held.find((u) => !message.holding.includes(u.unitId));
        const pick = lost ?? (held.length < (this.options.maxLeases ?? 2) ? this.state.nextQueued(who, (jobId) => trust.isBanned(jobId, who), (n) => randomBelow(this.random, n)) : undefined);
        if (!pick) return [{ type: 'no-work', retryMs: this.options.retryMs ?? 2000, jobDone: this.done }];
        tx.putUnit({ ...pick, state: UnitState.Leased, holder: who, leaseDeadline: deadline, progress: lost ? pick.progress : 0, leasedTo: withLeaseHolder(pick, who) });
        return [{ type: 'unit', unit: jobUnit(this.state.job(pick.jobId)!.spec, pick.index), leaseMs: this.leaseMs }];
      }
      case 'heartbeat': {
        const u = this.state.unit(message.unitId);
        // Its lease lapsed but nobody took the unit since: it is this volunteer's again, checkpoint and all.
        const regained =
          u?.state === UnitState.Queued && u.holder === who && !u.rejectedBy.includes(who) && !this.judge.trust.isBanned(u.jobId, who) && this.state.heldBy(who).length < (this.options.maxLeases ?? 2);
        if (regained) {
          tx.putUnit({ ...u, state: UnitState.Leased, leaseDeadline: deadline, progress: message.done });
          return [{ type: 'lease', unitId: u.unitId, leaseMs: this.leaseMs }];
        }
        if (!u || u.holder !== who || (u.state !== UnitState.Leased && u.state !== UnitState.Verifying)) {
          return [{ type: 'lease-lost', unitId: message.unitId, reason: u?.state === UnitState.Accepted ? 'already accepted' : 'the lease lapsed or belongs to another volunteer' }];
        }
        tx.putUnit({ ...u, leaseDeadline: deadline, progress: message.done });
        return [{ type: 'lease', unitId: u.unitId, leaseMs: this.leaseMs }];
      }
      case 'result':
        return [await this.judge.result(speaker, message, deadline, now, tx)];
      case 'openings':
        return [await this.judge.openings(who, message, now, tx)];
      case 'rows':
        return this.judge.rows(who, name, message, now, tx);
    }
  }

  /** At the cap, a new direct connection is sent to the relays with the fewest children. */
  private redirect(name: string): HostMessage | undefined {
    const cap = this.options.maxDirect;
    if (cap === undefined || Connections.isRelayed(name) || this.sessions.direct(name).length < cap) return undefined;
    const relays = this.sessions.relaysFor(name, (id) => (this.state.volunteer(id)?.accepted ?? 0) >= (this.options.relayMinAccepted ?? 1));
    this.options.log?.(`at the cap of ${cap} connections: sending ${name} to ${relays.length} relay(s)`);
    return { type: 'redirect', relays, retryMs: this.options.retryMs ?? 2000 };
  }

  private error(name: string, err: unknown, unitId?: string): HostMessage {
    const code = err instanceof TabgridError ? err.code : ErrorCode.BadMessage;
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1024);
    this.options.log?.(`error from ${name}: [${code}] ${message}`);
    return unitId === undefined ? { type: 'error', code, message } : { type: 'error', code, message, unitId };
  }

  /** A job's units in index order, as copies (empty for an unknown job). */
  units(jobId: string): UnitView[] {
    return this.state.unitsOf(jobId).map((u) => ({ unitId: u.unitId, index: u.index, state: u.state, holder: u.holder, progress: u.progress, root: u.root, rejections: u.rejectedBy.length, acceptedAt: u.acceptedAt }));
  }

  /** Every volunteer the host has judged a result of: credit, accepted and rejected counts. */
  volunteers(): StoredVolunteer[] {
    return this.state.allVolunteers().map((v) => ({ ...v }));
  }

  /** Adaptive-trust records (one per job and key), of one job or all. */
  trustRecords(jobId?: string): StoredTrust[] {
    return this.state.trustRecordsOf(jobId).map((t) => ({ ...t }));
  }

  /**
   * Adds a job to the running host: the job and all its units are committed in one
   * transaction, in turn with messages, before it resolves. Resolves to false when the host
   * already serves this job with the same spec; a known id with another spec is refused.
   */
  addJob(spec: JobSpec): Promise<boolean> {
    return this.serial(async () => {
      const tx = this.state.tx();
      const staged = stageJobs(this.state, tx, [spec], this.clock());
      if (staged.length === 0) return false;
      await this.store.commit(tx.batch());
      tx.apply();
      this.options.log?.(`added job ${spec.id} (${spec.units} units)`);
      return true;
    });
  }
}
