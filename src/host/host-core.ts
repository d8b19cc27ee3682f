import { newSessionKeyPair, type SessionKeyPair } from '../proof/result-key';
import { stepBytes } from '../proof/step-mac';
import { ErrorCode, TabgridError } from '../errors';
import { relayedMessage, MAX_CACHED_HINT, MAX_RELAY_CHILDREN, type HostMessage, type Receipt, type VolunteerMessage } from '../protocol';
import { parseVolunteerMessage, RefusedMessage } from '../validate';
import { datasetsOf, describeLayout, jobUnit, type JobSpec } from './job';
import { datasetsDeletedWith, withStatus } from './job-control';
import { stageJobs } from './job-intake';
import type { UnitView } from './host-views';
import { withProfile } from './profiles';
import { ownStanding, teamStandings, volunteerStandings, type TeamStanding, type VolunteerStanding } from './standings';
import { Connections, type Connection } from './connections';
import { banned, Greeting } from './greeting';
import { awaitsRows, HostState, lapsed, madeBy, requeued, withLeaseHolder, type Tx } from './host-state';
import { Judge, type Speaker } from './judge';
import { acceptedResult, Announcer } from './announcer';
import { Holds } from './holds';
import { checkHostOptions, cryptoRandom, DEFAULT_MAX_UPLOAD_BYTES, type AcceptedResult, type HostCoreOptions } from './host-options';
import { randomBelow, type Random } from '../proof/random';
import type { CommitChain, HostSnapshot, HostStore, StoreBatch, StoredTrust, StoredVolunteer } from './store/store';
import { isSharedStore } from './store/shared-store';
import { Sharing } from './sharing';
import { JobStatus, StoredUnitState as UnitState } from './store/store';
import { inlineRecomputer, type Recomputer } from './recomputer';
import { Settler, type Settlement } from './settler';
import { awaitingRecompute } from './verify-replicas';
import { DatasetLibrary } from './dataset-library';
import { localityRanker } from './locality';
import { spend } from './chunk-budget';
import { SwarmTracker, type TrackerStats } from './swarm-tracker';
import type { ChallengedUnit } from '../protocol';

/** A message's replies, once what it changed is durable: kept apart from its turn, so under group commit the next message need not wait for the commit. */
interface Answer {
  readonly replies: Promise<HostMessage[]>;
}
const answered = (replies: HostMessage[]): Answer => ({ replies: Promise.resolve(replies) });

/** Longest the ranked leaderboards are reused while nothing changes: recent credit decays by 0.007 % a minute. */
const STANDINGS_MAX_AGE_MS = 60_000;

export { JobStatus, StoredUnitState as UnitState } from './store/store';
export type { AcceptedResult, HostCoreOptions } from './host-options';
export type { UnitView, VerdictEvent } from './host-views';

/** A direct connection that has not proved a key this long after it opened is a stranger, for the shell to close. */
export const KEY_PROOF_TIMEOUT_MS = 30_000;

/**
 * Openings and rows carry a MAC under the connection's result key (proof/step-mac.ts). Through a
 * relay it must verify, or the step is refused and counts for nothing against the key: the relay
 * could make up openings or rows for its child to have them counted against it. Straight from the
 * key (end-to-end DTLS) the step is the key's own word whatever its MAC, and is judged on what it
 * opens: a bad MAC there must not spare a cheater's bad openings their count.
 */
function checkStepMac(speaker: Speaker, message: Extract<VolunteerMessage, { type: 'openings' | 'rows' }>): void {
  if (!speaker.relayed) return;
  if (message.mac !== undefined && speaker.resultKey.verifyBytes(stepBytes(message), message.mac)) return;
  throw new TabgridError(
    ErrorCode.BadSignature,
    message.mac === undefined
      ? `${message.type} through a relay must carry their MAC (unit ${message.unitId})`
      : `the ${message.type}' MAC does not verify for unit ${message.unitId}`,
  );
}

/** The error for a direct connection whose name has a `>` (which only relayed children's names have). */
function relayedName(name: string): TabgridError {
  return new TabgridError(ErrorCode.BadInput, `a connection's name may not contain '>' (${JSON.stringify(name.slice(0, 64))}): it names relayed volunteers`);
}

/**
 * The job host's logic, free of any transport: connections are names, messages are JSON texts
 * in and typed replies out. Units go queued → leased → verifying → accepted; a rejected unit,
 * or one whose lease lapses, goes back to the queue. Every change is committed to the store
 * before the reply that announces it is returned. Messages are handled one at a time, in
 * arrival order.
 */
export class HostCore {
  private readonly sessions: Connections;
  private readonly judge: Judge;
  private readonly greeting: Greeting;
  private readonly clock: () => number;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly maxHoldMs: number;
  readonly graceMs: number;
  private readonly holds: Holds;
  private queue: Promise<unknown> = Promise.resolve();
  /** The ranked leaderboards, until credit or a profile changes (boards()). */
  private ranked?: { readonly volunteers: readonly VolunteerStanding[]; readonly teams: readonly TeamStanding[]; readonly at: number };
  private readonly announcer: Announcer;
  private readonly random: Random;
  private readonly settler: Settler;
  private readonly recomputer: Recomputer;
  /** Who holds and serves which dataset chunks (swarm-tracker.ts). */
  private readonly tracker: SwarmTracker;
  /**
   * Under group commit (store.groupsCommits) a message's changes are applied in memory at once
   * and the next message is handled while they wait for their group; its replies wait for
   * the commit. Once one of these commits fails, memory is ahead of the store for good: the
   * chain stops the store from applying later ones, and the host refuses every message until
   * it is restarted from what the store holds.
   */
  private readonly pipelined: boolean;
  private readonly chain: CommitChain = {};
  /** Set when the store is shared by several host processes (docs/MULTI-HOST.md). */
  private readonly sharing?: Sharing;

  private constructor(
    private readonly state: HostState,
    private readonly store: HostStore,
    private readonly options: HostCoreOptions,
    private readonly datasets: DatasetLibrary,
    sessionKey: SessionKeyPair,
  ) {
    this.announcer = new Announcer(state, options, options.clock ?? Date.now);
    this.random = options.random ?? cryptoRandom;
    this.tracker = new SwarmTracker((n) => randomBelow(this.random, n));
    this.recomputer = options.recomputer ?? inlineRecomputer(options.hash);
    this.pipelined = store.groupsCommits === true;
    this.settler = new Settler({
      recomputer: this.recomputer,
      perJob: options.maxSettlingPerJob,
      log: options.log,
      settle: (unitId, settlement) => this.settled(unitId, settlement),
    });
    this.judge = new Judge(state, options.hash, this.random, options.identity, this.settler, options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES);
    this.clock = options.clock ?? Date.now;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.floor(this.leaseMs / 4);
    // open() checked the options (checkHostOptions): a hold is at least one lease.
    this.maxHoldMs = options.maxHoldMs ?? 10 * this.leaseMs;
    this.graceMs = options.graceMs ?? this.leaseMs;
    this.holds = new Holds(this.leaseMs, this.maxHoldMs, this.graceMs);
    this.sessions = new Connections(this.clock);
    const { hostId, identity } = options;
    this.greeting = new Greeting({
      hostId,
      identity,
      sessionKey,
      leaseMs: this.leaseMs,
      heartbeatMs: this.heartbeatMs,
      trust: this.judge.trust,
      redirect: (name) => this.redirect(name),
      iceGrant: options.iceGrant,
      clock: this.clock,
    });
    if (isSharedStore(store)) {
      this.sharing = new Sharing(
        store,
        state,
        this.leaseMs,
        (units) => {
          for (const u of units)
            if (awaitingRecompute(u))
              this.scheduleSettlement(
                u.unitId,
                (u.votes ?? []).map((v) => v.key),
              );
        },
        (units) => this.judge.release(units.map(requeued)),
        (to, message) => {
          // Only for a key connected here: the process that settled the unit owes it to its own connections itself.
          if (this.sessions.speaksFor(to)) this.announcer.owe(to, message);
        },
        () => (this.ranked = undefined),
        options.log,
      );
    }
  }

  /**
   * Opens a host on `store`: restores what it holds, and adds any of `jobs` it does not know
   * yet. A job id the store knows with a different spec is an error, not a silent replacement.
   */
  static async open(store: HostStore, jobs: readonly JobSpec[], options: HostCoreOptions): Promise<HostCore> {
    checkHostOptions(options);
    const now = (options.clock ?? Date.now)();
    const datasets = new DatasetLibrary(store, options.hash);
    const start = async (snapshot: HostSnapshot) => {
      const state = new HostState(snapshot);
      await datasets.load([...state.jobSpecs(), ...jobs]);
      const fresh = state.tx();
      stageJobs(state, fresh, jobs, now);
      // Nobody could renew a lease while the host was down: each restored one gets another lease period.
      const leaseMs = options.leaseMs ?? 60_000;
      const holds = new Holds(leaseMs, options.maxHoldMs ?? 10 * leaseMs, options.graceMs ?? leaseMs);
      let extended = 0;
      for (const u of [...state.leasedUnits(), ...state.reservedUnits()]) {
        const r = holds.restored(u, now);
        if (!r) continue;
        fresh.putUnit(r);
        extended++;
      }
      await store.commit(fresh.batch());
      fresh.apply();
      if (extended > 0) options.log?.(`restored ${extended} lease(s) and reservation(s), each given one more lease period from now`);
      return state;
    };
    // A shared store's process starts with no units: it claims them as volunteers ask.
    const state = isSharedStore(store) ? await Sharing.start(store, start) : await start(await store.load());
    const core = new HostCore(state, store, options, datasets, await newSessionKeyPair());
    await core.sharing?.recount();
    // Units that were waiting for the host's own computation when it stopped wait again.
    for (const u of state.leasedUnits())
      if (awaitingRecompute(u))
        core.scheduleSettlement(
          u.unitId,
          (u.votes ?? []).map((v) => v.key),
        );
    return core;
  }

  /** Stops the host's own computations (the shell closes its connections and store). */
  close(): void {
    this.settler.close();
    this.datasets.close();
    if (!this.options.recomputer) this.recomputer.close();
  }

  /** Units waiting for, or in, the host's own computation (replicas that all disagreed). */
  settling(): number {
    return this.settler.size;
  }

  /** A recomputation ended: applied in turn with messages, committed, and its verdicts owed to the voters. */
  private settled(unitId: string, settlement: Settlement): Promise<void> {
    return this.serial(async () => {
      const tx = this.state.tx();
      await this.judge.settle(unitId, settlement, this.clock(), tx);
      await this.commit(tx);
      this.announcer.committed(undefined, [], tx);
      if ('error' in settlement) this.options.log?.(`could not compute ${unitId} to settle its replicas (${settlement.error}); it starts over with other keys`);
    });
  }

  /** Dataset bytes served to volunteers since the host started. */
  get datasetBytesServed(): number {
    return this.datasets.bytesServed;
  }

  /** Dataset bytes served per volunteer key and dataset root (bounded: DatasetLibrary.servedByKey). */
  datasetBytesByKey(): Record<string, Record<string, number>> {
    return this.datasets.servedByKey();
  }

  /** The swarm tracker's counts: peers named, reports, keys no longer named. */
  swarmStats(): TrackerStats {
    return this.tracker.stats();
  }

  /** The key the host signs receipts with: whoever checks a volunteer's credit statement needs it. */
  get publicKey(): string {
    return this.options.identity.publicKey;
  }

  /** Whether every unit is accepted: of this host's store, or with a shared store, of the whole database (as of the last second). */
  get done(): boolean {
    return this.sharing ? this.sharing.done : this.state.allAccepted();
  }

  /** Units by state; with a shared store, over the whole database (as of the last second). */
  progress(): Record<UnitState, number> & { total: number } {
    return this.sharing ? this.sharing.counts() : this.state.counts();
  }

  /** Accepted roots (and proof-of-work solutions), in job then unit order. */
  results(jobId?: string): AcceptedResult[] {
    return this.state.accepted(jobId).map(acceptedResult);
  }

  /**
   * Accepted results of every job, in job then unit order: results(), or with a shared store,
   * read from the database (this process holds only the units it owns).
   */
  async allResults(): Promise<AcceptedResult[]> {
    if (!this.sharing) return this.results();
    const order = new Map(this.state.allJobs().map((j, i) => [j.id, i]));
    const { units } = await this.store.load();
    return units
      .filter((u) => u.state === UnitState.Accepted)
      .sort((a, b) => (order.get(a.jobId) ?? order.size) - (order.get(b.jobId) ?? order.size) || a.index - b.index)
      .map(acceptedResult);
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

  /**
   * A link named `name` opened: a new connection, whatever an earlier link of that name said.
   * In turn with messages, like disconnect, so each applies after the messages received before it.
   */
  connect(name: string): Promise<void> {
    // No session for a name with '>' (handle refuses its messages); resolved, as shells do not wait on this.
    if (Connections.isRelayed(name)) return Promise.resolve();
    return this.serial(async () => this.sessions.open(name));
  }

  /**
   * The connection closed (and with a relay, its children's). Leases stay until they lapse,
   * so a quick reconnect keeps them; uploads over it go (a reconnect sends them again). In turn
   * with messages: one still queued from the closed link would otherwise bring the connection
   * back, for good, after it was forgotten.
   */
  disconnect(name: string): Promise<void> {
    return this.serial(async () => {
      this.sessions.delete(name);
      this.tracker.forget(name);
      this.judge.dropUploadsVia(name);
      this.sharing?.disconnected(name);
    });
  }

  /** Bytes the uploads in flight hold now (bounded by `maxUploadBytes`). */
  uploadBytesInFlight(): number {
    return this.judge.uploadBytes;
  }

  /** Welcomed connections straight to this host (not through a relay), key proved or not: what the cap counts. */
  directConnections(): number {
    return this.sessions.direct().length;
  }

  /** Connections the host keeps a session for: direct ones, greeted or not, and relays' children. */
  openSessions(): number {
    return this.sessions.size;
  }

  /**
   * Direct connections that have not proved a key KEY_PROOF_TIMEOUT_MS after they opened
   * (silent, refused, or sent to relays and lingering): the cap does not count a connection
   * before its hello, so the shell closes these rather than let them pile up.
   */
  strangers(): string[] {
    return this.sessions.strangers(this.clock(), KEY_PROOF_TIMEOUT_MS);
  }

  /** Handles one raw message from connection `name` (with its body, had it one: refused); resolves to the replies, in order. */
  handle(name: string, raw: unknown, body?: Uint8Array): Promise<HostMessage[]> {
    // `>` names a relay's child (relay>child): a direct connection so named would pass for one, outside the cap and the sweep.
    if (Connections.isRelayed(name)) return Promise.resolve([this.error(name.slice(0, 64), relayedName(name))]);
    // In turn up to the point its changes are applied; the replies then wait for their commit, outside the turn.
    const staged = this.serial(async (): Promise<Answer> => {
      let message: VolunteerMessage | undefined;
      try {
        message = parseVolunteerMessage(raw, body);
        if (message.type === 'relay' || message.type === 'child-left') return await this.relay(name, message);
        return await this.dispatch(name, message);
      } catch (err) {
        return answered([this.error(name, err, message)]);
      }
    });
    return staged.then((answer) => answer.replies);
  }

  /**
   * A relay's traffic: the child's message is handled as if the child were connected as
   * `<relay>><child>` (its own volunteer id, leases, verification and credit), and the replies
   * go back wrapped for the relay to pass on. A relay holds no state of its own. It serves at
   * most MAX_RELAY_CHILDREN children at once: another child hears an error and gets no session
   * until one leaves.
   */
  private async relay(name: string, message: Extract<VolunteerMessage, { type: 'relay' | 'child-left' }>): Promise<Answer> {
    const session = this.sessions.find(name);
    if (!session?.relay || Connections.isRelayed(name)) throw new TabgridError(ErrorCode.BadMessage, 'only a directly connected relay may relay');
    if (!this.mayRelay(session)) {
      throw new TabgridError(ErrorCode.BadMessage, `not a relay yet: a relay first proves its key and has ${this.relayMinAccepted} result(s) accepted`);
    }
    const child = `${name}>${message.child}`;
    if (message.type === 'child-left') {
      this.sessions.delete(child);
      this.tracker.forget(child);
      this.judge.dropUploadsVia(child);
      this.sharing?.disconnected(child);
      return answered([]);
    }
    if (!this.sessions.find(child) && this.sessions.children(name) >= MAX_RELAY_CHILDREN) {
      const full = new TabgridError(ErrorCode.BadMessage, `this relay already serves ${MAX_RELAY_CHILDREN} children; try the host again later`);
      return answered([relayedMessage(message.child, this.error(child, full))]);
    }
    let answer: Answer;
    try {
      const inner = parseVolunteerMessage(message.text);
      if (inner.type === 'relay' || inner.type === 'child-left') throw new TabgridError(ErrorCode.BadMessage, 'relays do not nest');
      answer = await this.dispatch(child, inner).catch((err: unknown) => answered([this.error(child, err, inner)]));
    } catch (err) {
      answer = answered([this.error(child, err)]);
    }
    // A chunk for the child stays a data message: its bytes ride beside the wrapper's JSON.
    return { replies: answer.replies.then((replies) => replies.map((r) => relayedMessage(message.child, r))) };
  }

  /** Returns units whose lease has lapsed to the queue; the shell calls this every second. */
  expireLeases(): Promise<number> {
    return this.serial(async () => {
      const now = this.clock();
      // Sharing a database: say we are alive, and take in what dead processes left (expired below).
      await this.sharing?.tick(now);
      const tx = this.state.tx();
      let expired = 0;
      let overheld = 0;
      for (const u of this.state.leasedUnits()) {
        if (u.leaseDeadline !== null && u.leaseDeadline <= now) {
          // A result under check that lapses starts over with anyone: keeping its holder would let
          // a volunteer come back for a fresh challenge (or a fresh spot-check roll) until it passed.
          // A hold that ran out forgets its holder too: the unit is no longer its to take back.
          const over = u.holder !== null && this.holds.over(u, u.holder, now);
          tx.putUnit(u.state === UnitState.Verifying || over ? requeued(u) : lapsed(u, now));
          expired++;
          if (over) overheld++;
        }
      }
      // An upload that stopped (its rows stopped coming while heartbeats renew its lease) frees
      // its memory and its unit, which starts over with anyone, as a lapsed check does.
      let stalled = 0;
      for (const { who, unitId } of this.judge.stalledUploads(now - this.leaseMs)) {
        const u = this.state.unit(unitId);
        if (u && awaitsRows(u) && u.holder === who && u.leaseDeadline !== null && u.leaseDeadline > now) {
          tx.putUnit(requeued(u));
          expired++;
          stalled++;
        }
      }
      if (expired > 0) {
        await this.commit(tx);
        const why = [overheld > 0 ? `${overheld} at the maximum hold` : '', stalled > 0 ? `${stalled} upload(s) stalled for a lease period` : '']
          .filter(Boolean)
          .join(', ');
        this.options.log?.(`${expired} lease(s) lapsed${why ? ` (${why})` : ''}; units back in the queue`);
      }
      return expired;
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async dispatch(name: string, message: Exclude<VolunteerMessage, { type: 'relay' | 'child-left' }>): Promise<Answer> {
    if (this.chain.failure !== undefined) throw this.stopped();
    const session = this.sessions.get(name);
    if (message.type === 'hello') return answered([this.greeting.hello(name, session, message)]);
    if (message.type === 'key-proof') {
      await this.greeting.prove(session, message);
      return answered([]);
    }
    const speaker = { ...this.greeting.speaker(session, message.type), relayed: Connections.isRelayed(name) };
    const now = this.clock();
    // Reads immutable datasets only: nothing to commit.
    if (message.type === 'get-chunks') return answered(this.serveChunks(name, speaker, message, now));
    if (message.type === 'get-peers' || message.type === 'have' || message.type === 'serving') return answered(this.track(name, speaker, message, now));
    try {
      if (this.sharing && !(await this.sharing.prepare(speaker.id, message, name))) {
        // Its unit is another live process's, whose volunteer moved here before that process was found dead (sharing.ts):
        // a heartbeat waits for the next, anything else is refused as busy, and the volunteer offers it again.
        // Verdicts another process owes this key ride along: that unit's verdict among them, once its process settled it.
        if (message.type === 'heartbeat') return answered(this.announcer.take(speaker.id));
        throw new TabgridError(ErrorCode.Busy, 'another host process holds this unit for now; offer it again shortly');
      }
    } catch (err) {
      return answered([...(this.sharing ? this.announcer.take(speaker.id) : []), this.error(speaker.id, err, message)]);
    }
    // Several processes: a ban another process recorded (read again in prepare) gives back this
    // key's units of the job held here, as a ban judged here does (trust-store.ts `record`);
    // without this the key could still finish them here, credited. Committed on its own, so an
    // answer that is an error (banned) keeps it.
    const freed = this.sharing ? this.releaseBanned(speaker.id) : undefined;
    if (freed) {
      const durable = this.commit(freed.tx);
      if (!this.pipelined) await durable;
      const unitId = 'unitId' in message ? message.unitId : undefined;
      const jobId = unitId === undefined ? undefined : freed.released.get(unitId);
      if (unitId !== undefined && jobId !== undefined) {
        const reply: HostMessage =
          message.type === 'heartbeat'
            ? { type: 'lease-lost', unitId, reason: `this key is banned from job ${jobId}` }
            : this.error(
                speaker.id,
                new TabgridError(ErrorCode.Banned, `this key is banned from job ${jobId}; unit ${unitId} went back to the queue`),
                message,
              );
        return {
          replies: durable.then(
            () => [reply],
            (err: unknown) => [this.error(speaker.id, err, message)],
          ),
        };
      }
    }
    const tx = this.state.tx();
    let replies: HostMessage[];
    try {
      replies = await this.decide(speaker, message, now, tx, name);
    } catch (err) {
      // Owed verdicts still go out, first (a key banned by its replica's rejection hears why before it hears `banned`).
      return answered([...this.announcer.take(speaker.id), this.error(speaker.id, err, message)]);
    }
    const durable = this.commit(tx);
    // Without group commit the next message waits for this commit, as it always did (a failure is this message's error).
    if (!this.pipelined) await durable;
    return {
      replies: durable.then(
        () => this.announcer.committed(speaker.id, replies, tx),
        (err: unknown) => [this.error(speaker.id, err, message)],
      ),
    };
  }

  /** The error every message gets once a pipelined commit failed (see `pipelined`). */
  private stopped(): TabgridError {
    const cause = this.chain.failure instanceof Error ? this.chain.failure.message : String(this.chain.failure);
    return new TabgridError(
      ErrorCode.Storage,
      `this host stopped taking messages: a commit to its store failed (${cause}); restart it to go on from what the store holds`,
    );
  }

  /** Chunks of a dataset the host's jobs read, within the connection's budget (chunk-budget.ts). */
  private serveChunks(name: string, speaker: Speaker, m: Extract<VolunteerMessage, { type: 'get-chunks' }>, now: number): HostMessage[] {
    try {
      const chunks = this.datasets.chunks(m.root, m.first, m.count);
      const connection = this.sessions.get(name);
      const bytes = chunks.reduce((sum, c) => sum + c.data.length, 0);
      const { ok, budget } = spend(connection.chunks, bytes, now);
      connection.chunks = budget;
      // Remembered for locality (a volunteer that sends no hint still gets units on what it fetched).
      connection.roots = [m.root, ...(connection.roots ?? []).filter((r) => r !== m.root)].slice(0, MAX_CACHED_HINT);
      if (!ok) throw new TabgridError(ErrorCode.Busy, 'asking for dataset chunks faster than this host serves them; ask again shortly');
      this.datasets.sent(speaker.id, m.root, bytes);
      // From now on it holds them, or will once they land: peers it is named to wait for them.
      this.tracker.held(name, m.root, m.first, m.count);
      return chunks.map((c) => ({ type: 'chunk', id: m.id, root: m.root, index: c.index, path: [...c.path], data: c.data }));
    } catch (err) {
      return [this.error(speaker.id, err, m)];
    }
  }

  /** The swarm's tracking messages: nothing to commit (faults are kept in memory; a bad chunk's trust goes through decide). */
  private track(name: string, speaker: Speaker, m: Extract<VolunteerMessage, { type: 'get-peers' | 'have' | 'serving' }>, now: number): HostMessage[] {
    try {
      switch (m.type) {
        case 'get-peers':
          if (!this.datasets.has(m.root)) throw new TabgridError(ErrorCode.BadInput, `no dataset ${m.root.slice(0, 12)}… on this host`);
          return [{ type: 'peers', id: m.id, root: m.root, peers: this.tracker.recommend(name, m.root, m.first, m.count, now) }];
        case 'have':
          // Only datasets this host serves are tracked: nobody can fill the tracker with roots of its own.
          if (this.datasets.has(m.root)) this.tracker.held(name, m.root, m.first, m.count);
          return [{ type: 'tracking', id: m.id }];
        case 'serving':
          if (!this.tracker.serving(name, speaker.id, m.peer, m.on))
            throw new TabgridError(ErrorCode.BadInput, `peer id ${m.peer} serves for another connection`);
          return [{ type: 'tracking', id: m.id }];
      }
    } catch (err) {
      return [this.error(speaker.id, err, m)];
    }
  }

  /**
   * Makes `tx` durable, then applies it, then does what follows from the new state: uploads
   * whose unit no longer waits for them go, and units left for the host to compute are queued.
   */
  private commit(tx: Tx): Promise<void> {
    const batch = tx.batch();
    if (!this.pipelined) return this.persist(batch, tx).then(() => this.applied(tx, batch));
    if (this.chain.failure !== undefined) return Promise.reject(this.stopped());
    // Pipelined: applied now, so the next message builds on it; whoever announces it waits for `durable`.
    // A shared store's batch takes its increments' base from memory before it is applied (sharing.ts); a fenced one is
    // answered busy, and its units and keys are read again (docs/MULTI-HOST.md "Group commit").
    const durable = this.persist(batch, tx, this.chain);
    this.applied(tx, batch);
    durable.catch((err: unknown) => {
      if (this.chain.failure !== undefined)
        this.options.log?.(`a commit to the store failed; this host takes no more messages until restarted: ${String(err)}`);
    });
    return durable;
  }

  private applied(tx: Tx, batch: StoreBatch): void {
    tx.apply();
    if ((batch.volunteers?.length ?? 0) > 0 || (batch.teams?.length ?? 0) > 0) this.ranked = undefined;
    this.judge.release(batch.units ?? []);
    for (const { unitId, voters } of tx.settlements()) this.scheduleSettlement(unitId, voters);
  }

  /** Makes `batch` durable: in this host's store, or fenced by ownership in a shared one (sharing.ts). */
  private persist(batch: StoreBatch, tx: Tx, chain?: CommitChain): Promise<void> {
    // Verdicts owed to other voters go to the other processes too: a voter may have moved to one of them.
    return this.sharing ? this.sharing.commit(batch, tx.notices(), chain) : this.store.commit(batch, chain);
  }

  /** Works out the replies and the state changes (into tx) for one message from connection `name`. */
  private async decide(
    speaker: Speaker,
    message: Exclude<VolunteerMessage, { type: 'hello' | 'key-proof' | 'relay' | 'child-left' | 'get-chunks' | 'get-peers' | 'have' | 'serving' }>,
    now: number,
    tx: Tx,
    name: string,
  ): Promise<HostMessage[]> {
    const who = speaker.id;
    switch (message.type) {
      case 'request-unit': {
        const trust = this.judge.trust;
        if (trust.bannedEverywhere(who)) throw banned();
        // A leased unit this volunteer holds but did not list (it reloaded, or lost a reply) first;
        // not one whose hold ran out (expiry requeues it within a second).
        const held = this.state.heldBy(who).filter((u) => u.state === UnitState.Leased);
        const lost = held.find((u) => !message.holding.includes(u.unitId) && !this.holds.over(u, who, now));
        const rank = localityRanker(
          who,
          [...(message.cached ?? []), ...(this.sessions.get(name).roots ?? [])],
          this.state.leasedUnits(),
          (jobId) => this.state.job(jobId)?.spec,
        );
        const next = (atJobEnd: boolean) =>
          this.state.nextQueued(
            who,
            (jobId) => trust.isBanned(jobId, who),
            (n) => randomBelow(this.random, n),
            (u) => this.holds.barred(u, who, now) || this.holds.reserved(u, who, now, atJobEnd),
            rank,
          );
        let pick = lost ?? (held.length < (this.options.maxLeases ?? 2) ? next(false) : undefined);
        // Nothing else left and this volunteer idle: a unit kept for a silent holder is its (a pausing holder's stays reserved).
        if (!pick && held.length === 0) pick = next(true);
        if (!pick) return [{ type: 'no-work', id: message.id, retryMs: this.options.retryMs ?? 2000, jobDone: this.done }];
        // Taking back a unit that lapsed from this key goes on with its hold; anyone else starts one.
        const hold = this.holds.of(pick, who, now);
        tx.putUnit({
          ...pick,
          state: UnitState.Leased,
          holder: who,
          leaseDeadline: this.holds.deadline(hold, now),
          progress: lost ? pick.progress : 0,
          leasedTo: withLeaseHolder(pick, who),
          hold,
        });
        return [{ type: 'unit', id: message.id, unit: jobUnit(this.state.job(pick.jobId)!.spec, pick.index), leaseMs: this.leaseMs }];
      }
      case 'heartbeat': {
        const u = this.state.unit(message.unitId);
        if (u && u.state !== UnitState.Accepted && this.holds.over(u, who, now)) {
          // Renewed for as long as one key may hold a unit: the unit goes to someone else (now, if expiry has not yet requeued it).
          if (u.holder === who && (u.state === UnitState.Leased || u.state === UnitState.Verifying)) tx.putUnit(requeued(u));
          return [{ type: 'lease-lost', unitId: message.unitId, reason: this.holds.reason }];
        }
        // Its lease lapsed but nobody took the unit since: it is this volunteer's again, checkpoint and all (its hold goes on).
        const regained =
          u?.state === UnitState.Queued &&
          this.state.leasable(u.jobId) &&
          u.holder === who &&
          !u.rejectedBy.includes(who) &&
          !this.judge.trust.isBanned(u.jobId, who) &&
          this.state.heldBy(who).length < (this.options.maxLeases ?? 2);
        if (regained) {
          const hold = this.holds.of(u, who, now, message.pausing);
          tx.putUnit({ ...u, state: UnitState.Leased, leaseDeadline: this.holds.deadline(hold, now), progress: message.done, hold });
          return [{ type: 'lease', unitId: u.unitId, leaseMs: this.leaseMs }];
        }
        if (!u || u.holder !== who || (u.state !== UnitState.Leased && u.state !== UnitState.Verifying)) {
          return [
            {
              type: 'lease-lost',
              unitId: message.unitId,
              reason: u?.state === UnitState.Accepted ? 'already accepted' : 'the lease lapsed or belongs to another volunteer',
            },
          ];
        }
        const hold = this.holds.of(u, who, now, message.pausing);
        tx.putUnit({ ...u, leaseDeadline: this.holds.deadline(hold, now), progress: message.done, hold });
        return [{ type: 'lease', unitId: u.unitId, leaseMs: this.leaseMs }];
      }
      case 'result': {
        const u = this.state.unit(message.unitId);
        // A unit held past the maximum hold is no longer its holder's to finish (nor to take back by a late result).
        if (u?.holder === who && u.state !== UnitState.Accepted && this.holds.over(u, who, now)) {
          throw new TabgridError(ErrorCode.UnknownUnit, `unit ${u.unitId} was ${this.holds.reason}`);
        }
        // Checking the result extends the lease, but not past the holder's hold.
        const deadline = u?.holder === who && u.hold?.key === who ? this.holds.deadline(u.hold, now) : now + this.leaseMs;
        return [await this.judge.result(speaker, message, deadline, now, tx)];
      }
      case 'openings':
        checkStepMac(speaker, message);
        return [await this.judge.openings(who, message, now, tx)];
      case 'rows':
        checkStepMac(speaker, message);
        return this.judge.rows(who, name, message, now, tx);
      case 'profile': {
        const before = tx.volunteer(who);
        const after = withProfile(
          before,
          { ...(message.name === undefined ? {} : { name: message.name }), ...(message.team === undefined ? {} : { team: message.team }) },
          now,
        );
        if (after !== before) tx.putVolunteer(after);
        return [this.standing(who, message.id, now, after)];
      }
      case 'standing':
        return [this.standing(who, message.id, now)];
      case 'peer-report': {
        // A bad chunk counts against the serving key's trust in every job that reads the dataset (once per reporter it was named to).
        const against = this.tracker.report(name, who, message.peer, message.root, message.why, now);
        if (against !== undefined) {
          for (const spec of this.state.jobSpecs()) if (datasetsOf(spec).includes(message.root)) this.judge.trust.record(tx, spec.id, against, false);
          this.options.log?.(`peer ${message.peer} (key ${against.slice(0, 12)}…) served a bad chunk of ${message.root.slice(0, 12)}…: no longer named`);
        }
        return [{ type: 'tracking', id: message.id }];
      }
      case 'get-ice': {
        const grant = this.options.iceGrant?.(who);
        if (!grant) throw new TabgridError(ErrorCode.BadInput, 'this host mints no TURN credentials');
        return [{ type: 'ice', id: message.id, ...grant }];
      }
    }
  }

  /** The units `who` holds here in jobs it is banned from, requeued in a tx of their own (unit id → job id); undefined if none. */
  private releaseBanned(who: string): { readonly tx: Tx; readonly released: ReadonlyMap<string, string> } | undefined {
    let freed: { tx: Tx; released: Map<string, string> } | undefined;
    for (const u of this.state.heldBy(who)) {
      if (!this.judge.trust.isBanned(u.jobId, who)) continue;
      freed ??= { tx: this.state.tx(), released: new Map() };
      freed.tx.putUnit(requeued(u));
      freed.released.set(u.unitId, u.jobId);
    }
    return freed;
  }

  /** `who`'s totals and ranks (standings.ts), with `staged` (its record as this message changes it) for its name and team. */
  private standing(who: string, id: number, now: number, staged?: StoredVolunteer): HostMessage {
    const own = ownStanding(who, this.boards(now), staged);
    return { type: 'standing', id, ...own, rac: Math.round(own.rac) };
  }

  /** Every donor's and team's totals and ranks, most credit first (the dashboard's leaderboard). */
  leaderboard(): { volunteers: VolunteerStanding[]; teams: TeamStanding[] } {
    const { volunteers, teams } = this.boards(this.clock());
    return { volunteers: [...volunteers], teams: [...teams] };
  }

  /**
   * The ranked boards, sorted once per change of credit or profile (commit() drops them) and at
   * most every STANDINGS_MAX_AGE_MS (recent credit decays with time), so a key asking for its
   * standing after every result costs a lookup, not a sort of every donor.
   */
  private boards(now: number): { readonly volunteers: readonly VolunteerStanding[]; readonly teams: readonly TeamStanding[]; readonly at: number } {
    if (!this.ranked || now - this.ranked.at > STANDINGS_MAX_AGE_MS || now < this.ranked.at) {
      const volunteers = this.state.allVolunteers();
      this.ranked = { volunteers: volunteerStandings(volunteers, now), teams: teamStandings(this.state.allTeams(), volunteers, now), at: now };
    }
    return this.ranked;
  }

  private scheduleSettlement(unitId: string, voters: readonly string[]): void {
    this.settler.schedule(this.judge.unitOf(this.state.unit(unitId)!) as ChallengedUnit, voters);
  }

  /** At the cap, a new direct connection is sent to the relays with the fewest children. */
  private redirect(name: string): Omit<Extract<HostMessage, { type: 'redirect' }>, 'id'> | undefined {
    const cap = this.options.maxDirect;
    if (cap === undefined || Connections.isRelayed(name) || this.sessions.direct(name).length < cap) return undefined;
    const relays = this.sessions.relaysFor(name, (c) => this.mayRelay(c));
    this.options.log?.(`at the cap of ${cap} connections: sending ${name} to ${relays.length} relay(s)`);
    return { type: 'redirect', relays, retryMs: this.options.retryMs ?? 2000, publicKey: this.publicKey };
  }

  private get relayMinAccepted(): number {
    return this.options.relayMinAccepted ?? 1;
  }

  /** A connection that offered to relay may, once its key is proved and has had relayMinAccepted results accepted. */
  private mayRelay(c: Connection): boolean {
    return c.relay === true && c.volunteerId !== undefined && (this.state.volunteer(c.volunteerId)?.accepted ?? 0) >= this.relayMinAccepted;
  }

  /** The error for a message that failed: it names the request (`id`) or the unit the message was about, when it was either. */
  private error(name: string, err: unknown, about?: VolunteerMessage): HostMessage {
    const code = err instanceof TabgridError ? err.code : ErrorCode.BadMessage;
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1024);
    this.options.log?.(`error from ${name}: [${code}] ${message}`);
    if (about && 'id' in about) return { type: 'error', code, message, id: about.id };
    // Refused before it parsed: still name the request it claimed to be, if it had a usable id.
    if (err instanceof RefusedMessage && err.requestId !== undefined) return { type: 'error', code, message, id: err.requestId };
    if (about && 'unitId' in about) return { type: 'error', code, message, unitId: about.unitId };
    return { type: 'error', code, message };
  }

  /** A job's units in index order, as copies (empty for an unknown job). */
  units(jobId: string): UnitView[] {
    return this.state.unitsOf(jobId).map((u) => ({
      unitId: u.unitId,
      index: u.index,
      state: u.state,
      holder: u.holder,
      progress: u.progress,
      root: u.root,
      rejections: u.rejectedBy.length,
      acceptedAt: u.acceptedAt,
      ...madeBy(u),
    }));
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
      await this.datasets.load([spec]);
      const tx = this.state.tx();
      const staged = stageJobs(this.state, tx, [spec], this.clock());
      if (staged.length === 0) return false;
      await this.commit(tx);
      this.options.log?.(`added job ${spec.id}: ${describeLayout(spec)}`);
      return true;
    });
  }

  /** A job's status (active, paused, cancelled); undefined for a job this host does not have. */
  jobStatus(jobId: string): JobStatus | undefined {
    const job = this.state.job(jobId);
    return job && (job.status ?? JobStatus.Active);
  }

  /**
   * Pauses, resumes (Active) or cancels a job, committed before it resolves. A paused or
   * cancelled job leases nothing more (nor lets a lapsed lease be taken back); units already
   * leased may finish, and are judged and credited as usual. A cancelled job stays cancelled.
   */
  setJobStatus(jobId: string, status: JobStatus): Promise<void> {
    return this.serial(async () => {
      const job = this.state.job(jobId);
      if (!job) throw new TabgridError(ErrorCode.BadInput, `this host has no job ${jobId}`);
      const changed = withStatus(job, status);
      if (!changed) return;
      const tx = this.state.tx();
      tx.putJob(changed);
      await this.commit(tx);
      this.options.log?.(`job ${jobId} is now ${status}`);
    });
  }

  /**
   * Deletes a finished or cancelled job with its units, trust records, kept outputs and the
   * datasets no other job reads, from the store and from memory, committed before it resolves.
   * Receipts already issued stay (they are the volunteers' proof); a result still coming for
   * one of its units is refused as for an unknown unit. Resolves to the datasets deleted.
   */
  deleteJob(jobId: string): Promise<readonly string[]> {
    return this.serial(async () => {
      const job = this.state.job(jobId);
      if (!job) throw new TabgridError(ErrorCode.BadInput, `this host has no job ${jobId}`);
      const units = this.state.unitsOf(jobId);
      const orphans = datasetsDeletedWith(job, units, this.state.allJobs());
      const tx = this.state.tx();
      tx.deleteJob(jobId, orphans);
      if (this.chain.failure !== undefined) throw this.stopped();
      await this.store.commit(tx.batch(), this.pipelined ? this.chain : undefined);
      tx.apply();
      // Uploads for its units go with them; so do its datasets on the shelf.
      this.judge.release(units.map(requeued));
      this.datasets.drop(orphans);
      this.options.log?.(`deleted job ${jobId}: ${units.length} units, ${orphans.length} dataset(s)`);
      return orphans;
    });
  }
}
