import { sleep, waited } from '../async';
import { concat } from '../bytes';
import { ErrorCode, TabgridError, isTabgridError } from '../errors';
import type { IcePath } from '../net/ice-route';
import { ConnectError } from '../net/connect';
import type { IceConfig } from '../protocol/ice';
import { createCpuSha256, type Hasher } from '../hash/sha256-cpu';
import { MAX_CACHED_HINT, MAX_HOLDING, Verdict, unitSize, unitSlices, type Receipt, type WorkUnit } from '../protocol';
import { makeCreditStatement, type CreditStatement } from '../proof/credit';
import { loadOrCreateIdentity } from '../proof/identity';
import { backoffMs } from '../net/backoff';
import { hostAbsent } from '../net/peer-error';
import { mainTimers, type TimerHandle, type Timers } from '../timers';
import { heartbeatsFor } from './heartbeat';
import { HostLink, Redirected, type Reply, type Unprompted } from './host-link';
import { Journal, type Resumable } from './journal';
import { Tally } from './tally';
import { ChunkFlights, fetchSlice } from './chunk-fetcher';
import { Swarm } from './swarm';
import type { DatasetSlice } from '../data/dataset';
import type { DatasetCache } from './store/dataset-cache';
import { MemoryDatasetCache } from './store/memory-dataset-cache';
import type { UnitInput } from '../worker/segments';
import { answerCheck, offerOf, sentResult, type Offer, type Sent } from './results';
import { NoWork, VolunteerState, type VerdictDetail, type VolunteerSessionOptions } from './session-options';
import type { DonorProfile } from './store/volunteer-store';

/**
 * Longest wait between tries while the signaling server says the host is not there (it is
 * restarting): a try costs the server one message, and the volunteer is back within seconds of
 * the host's return, its leases with it.
 */
export const HOST_ABSENT_RETRY_MS = 3_000;

/** How often a session with nothing to compute asks the host for its standing (it also asks after accepted results). */
export const STANDING_REFRESH_MS = 10_000;

/**
 * The least time between two standing requests after accepted results. Asked after every one, a
 * volunteer finishing units many times a second sent the host one message more a unit (the host
 * ranks every key again for it, credit having changed): a quarter of a unit's messages. A burst's
 * last result is still asked for once the gap has passed, so the standing shown is at most this late.
 */
export const STANDING_MIN_GAP_MS = 2_000;

/** This key's totals and ranks on one host, as the host reported them (protocol `standing`). */
export type Standing = Omit<Reply<'standing'>, 'type' | 'id'>;

export { NoWork, VolunteerState, type VerdictDetail, type VolunteerSessionOptions } from './session-options';

/**
 * A volunteer's conversation with one host: lease units (one computing, `prefetch` waiting),
 * compute, commit to each result's Merkle root, answer challenges, count verdicts, keep leases
 * alive with heartbeats, and reconnect with backoff when the link drops, re-sending results
 * that have no verdict yet. Emits `change` on any state change and `verdict` for each verdict.
 */
export class VolunteerSession extends EventTarget {
  state: VolunteerState = VolunteerState.Idle;
  /** Units accepted and rejected, credit, receipts: see the getters below. */
  readonly tally = new Tally();
  /**
   * Why the last attempt to reach the host failed (no signaling, host not online, ICE failed,
   * TURN refused), kept through the retries until a connection opens: the widget says it once.
   */
  connectProblem?: ConnectError;
  /** What the session is doing, in words, and the last error if any. */
  status = 'not started';
  error?: TabgridError;
  progress?: { unitId: string; done: number; total: number };
  /** Set while running with nothing to compute: the host had no unit for us, or its jobs are finished. */
  noWork?: NoWork;
  /** Set when a unit resumed from a checkpoint instead of starting over. */
  resumed?: { unitId: string; from: number; total: number };
  /** Credit this session counted, by the kernel of the unit that earned it (the widget says what credit paid for). */
  readonly creditByKernel = new Map<WorkUnit['kernel'], number>();
  /** The kernel of each unit computed here and not judged yet. */
  private readonly kernelOf = new Map<string, WorkUnit['kernel']>();
  /** Leaves (or nonces) computed by this session: what a resume saved shows here. */
  computed = 0;
  readonly journal: Journal;
  /**
   * Dataset bytes read for units' inputs: fetched (from the host or peers), of which `peer` came
   * from peers, read from the cache; chunks refused (they failed their proof).
   */
  readonly inputBytes = { fetched: 0, peer: 0, cached: 0, refused: 0 };
  /** Verified dataset chunks kept between units (and reloads, with a persistent cache). */
  readonly datasets: DatasetCache;
  private readonly flights: ChunkFlights;

  private readonly host: HostLink;
  private hash?: Hasher;
  /** Our part in the host's swarm (with options.swarm), made once the hasher is. */
  private swarm?: Swarm;
  private controller?: AbortController;
  private readonly queue: WorkUnit[] = [];
  private current?: { unit: WorkUnit; controller: AbortController };
  /** The computation in progress: it goes on across a dropped link, while the run loop reconnects. */
  private inFlight?: Promise<void>;
  /** Results sent and not yet judged: kept to answer challenges and to re-send after a reconnect. */
  private readonly sent = new Map<string, Sent>();
  /** Results the host keeps as replicas, waiting for another key's: re-sent after a reconnect. */
  private readonly replicas = new Map<string, Offer>();
  /** Checkpoints of held units not finished yet. */
  private partial = new Map<string, Resumable>();
  /** Results whose upload the host was too busy to take: offered again after a backoff. */
  private readonly busy = new Map<string, { attempt: number; timer?: TimerHandle }>();
  private restored = false;
  /** The profile to tell the host; undefined until read from the store (or set). */
  private profile?: DonorProfile;
  /**
   * This key's totals and rank as the host last told them (protocol `standing`): asked on each
   * connection and after each accepted result. Undefined before the first answer, and from a
   * host that predates the message.
   */
  standing?: Standing;
  /** Why the host refused the last profile change (too soon after the one before), if it did. */
  profileProblem?: string;
  private standingAskedAt = 0;
  /** A standing request waiting for STANDING_MIN_GAP_MS to pass. */
  private standingLater?: TimerHandle;
  private readonly timers: Timers;
  /** Aborted to cut short a wait (a reconnect backoff, a no-work pause) when the page thaws. */
  private nap?: AbortController;
  private readonly lifecycle?: { readonly target: EventTarget; readonly freeze: () => void; readonly resume: () => void };

  constructor(readonly options: VolunteerSessionOptions) {
    super();
    this.timers = options.timers ?? mainTimers;
    const target = options.lifecycle;
    if (target) {
      this.lifecycle = { target, freeze: () => this.freezing(), resume: () => this.thawed() };
      target.addEventListener('freeze', this.lifecycle.freeze);
      target.addEventListener('resume', this.lifecycle.resume);
    }
    const store = options.store;
    // With a store the key is kept there, so a reloaded page is the same volunteer to the host.
    this.host = new HostLink({ ...options, ...(store ? { loadIdentity: () => loadOrCreateIdentity(store) } : {}) }, (m) => this.hear(m));
    this.journal = new Journal(options.store, options.hostId, () => this.emit());
    this.datasets = options.datasetCache ?? new MemoryDatasetCache();
    this.flights = options.chunkFlights ?? new ChunkFlights();
  }

  get unitsDone(): number {
    return this.tally.unitsDone;
  }
  get unitsRejected(): number {
    return this.tally.unitsRejected;
  }
  get credit(): number {
    return this.tally.credit;
  }
  get receipts(): readonly Receipt[] {
    return this.tally.receipts;
  }
  get pendingReplicas(): ReadonlySet<string> {
    return this.tally.pendingReplicas;
  }

  /** A signed statement of this volunteer's receipts from the host, for anyone holding the host's key to check (proof/credit.ts). */
  async creditStatement(): Promise<CreditStatement> {
    const hostKey = this.host.hostPublicKey;
    if (!hostKey) throw new TabgridError(ErrorCode.Network, 'connect to the host once first: its key names the receipts');
    return makeCreditStatement(await this.host.identity(), hostKey, this.receipts);
  }

  /** Results sent (or to send) that have no verdict yet; whether we reach the host through a relay; volunteers we relay for. */
  get awaitingVerdict(): number {
    return this.sent.size;
  }
  get relayed(): boolean {
    return this.host.relayed;
  }
  get relayChildren(): number {
    return this.host.relayChildren;
  }
  /** How the open connection travels: direct, or through a TURN server (getStats' selected candidate pair). */
  get path(): IcePath | undefined {
    return this.host.path;
  }
  /** New ICE configuration from the page (fresh TURN credentials): used from the next connection on, which starts now if the session is backing off. */
  setIce(ice: IceConfig): void {
    this.host.setIce(ice);
  }
  /** Whether a unit is being computed, and its kernel; whether a link to the host (or a relay) is open. */
  get computing(): boolean {
    return this.current !== undefined;
  }
  get kernel(): WorkUnit['kernel'] | undefined {
    return this.current?.unit.kernel;
  }
  get connected(): boolean {
    return this.host.connected;
  }
  /** Whether our peer is on the signaling server (relay children find us there); undefined when not connected over PeerJS. */
  get signaling(): boolean | undefined {
    return this.host.signaling;
  }

  /**
   * The page is being frozen (Page Lifecycle `freeze`; Chrome freezes background tabs under
   * Energy Saver or memory pressure, and the worker with it). Checkpoints are already in the
   * store (the journal writes each as it comes); the host hears a `pausing` heartbeat per unit
   * held, so it keeps them for this key a grace period past their lease (host-core.ts).
   */
  freezing(): void {
    if (this.state !== VolunteerState.Running || !this.host.connected) return;
    this.host.beatNow(true);
  }

  /**
   * The page runs again (`resume`): heartbeats at once (the host's answers, not the time
   * frozen, decide whether the link lives), the signaling server rejoined if it dropped us,
   * and a wait in progress (a reconnect's backoff) cut short.
   */
  thawed(): void {
    if (this.state !== VolunteerState.Running && this.state !== VolunteerState.Error) return;
    this.host.resignal();
    this.host.beatNow();
    this.nap?.abort();
  }

  /** Volunteers fetching chunks from this one now; chunk bytes served to them. */
  get uploading(): number {
    return this.swarm?.uploading ?? 0;
  }
  get bytesServed(): number {
    return this.swarm?.server.bytesServed ?? 0;
  }

  /**
   * Sets the name and team the host shows (each optional; an empty profile clears both): kept
   * in the store with the key, and told to the host now if connected, else on connecting.
   */
  async setProfile(profile: DonorProfile): Promise<void> {
    this.profile = profile;
    await this.options.store?.putProfile(profile);
    if (this.host.connected && this.controller && !this.controller.signal.aborted) await this.tellProfile(this.controller.signal);
  }

  /** Tells the host the profile and keeps its answer; a refusal (too soon, or a host without profiles) is kept as a note, never an error of the session. */
  private async tellProfile(signal: AbortSignal): Promise<void> {
    try {
      this.profile ??= (await this.options.store?.getProfile().catch(() => undefined)) ?? {};
      const reply = await this.host.ask({ type: 'profile', ...this.profile }, ['standing'], signal);
      this.profileProblem = undefined;
      this.keepStanding(reply);
    } catch (err) {
      if (!signal.aborted) this.profileProblem = (err as Error).message;
      this.emit();
    }
  }

  /** After an accepted result: the standing now, or once STANDING_MIN_GAP_MS has passed since the last request. */
  private refreshStandingSoon(): void {
    const wait = this.standingAskedAt + STANDING_MIN_GAP_MS - Date.now();
    if (wait <= 0) return this.refreshStanding();
    this.standingLater ??= this.timers.setTimeout(() => {
      this.standingLater = undefined;
      this.refreshStanding();
    }, wait);
  }

  /** Asks the host for this key's standing; failures leave the last one shown. */
  private refreshStanding(): void {
    const signal = this.controller?.signal;
    // Never answered (a host without standings): not asked again on this connection's behalf.
    if (!signal || signal.aborted || !this.host.connected || this.standing === undefined) return;
    this.standingAskedAt = Date.now();
    this.host.ask({ type: 'standing' }, ['standing'], signal).then(
      (reply) => this.keepStanding(reply),
      () => undefined,
    );
  }

  private keepStanding({ type: _, id: __, ...standing }: Reply<'standing'>): void {
    this.standing = standing;
    this.emit();
  }

  start(): void {
    if (this.state === VolunteerState.Running) return;
    this.controller?.abort(); // a run waiting to reconnect retries now instead
    const controller = new AbortController();
    this.controller = controller;
    this.set(VolunteerState.Running, this.host.connected ? 'resuming' : 'connecting');
    void this.run(controller.signal);
  }

  /** Stops computing at once; results already sent are still verified and counted. */
  pause(): void {
    if (this.state !== VolunteerState.Running && this.state !== VolunteerState.Error) return;
    this.controller?.abort();
    this.host.stopHeartbeat();
    this.set(VolunteerState.Paused, 'paused');
    // Serving only while contributing: downloaders go, and the host hears it.
    void this.swarm?.update(AbortSignal.timeout(5000));
  }

  /** The upload share or the connection changed: serving starts or stops accordingly. */
  swarmChanged(): void {
    void this.swarm?.update(AbortSignal.timeout(5000));
  }

  close(): void {
    if (this.lifecycle) {
      this.lifecycle.target.removeEventListener('freeze', this.lifecycle.freeze);
      this.lifecycle.target.removeEventListener('resume', this.lifecycle.resume);
    }
    this.swarm?.close();
    this.controller?.abort();
    this.timers.clearTimeout(this.standingLater);
    this.standingLater = undefined;
    for (const unitId of [...this.busy.keys()]) this.calm(unitId);
    this.host.close();
    if (this.state === VolunteerState.Running) this.set(VolunteerState.Paused, 'closed');
  }

  private async run(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted;) {
      try {
        this.hash ??= await createCpuSha256();
        this.swarm ??= this.options.swarm && this.newSwarm(this.hash);
        await this.restore();
        if (!this.host.connected) {
          await this.host.open(signal);
          this.connectProblem = undefined;
          // Results that lost their verdict to the drop: send them again (the host repeats its challenge).
          for (const r of this.sent.values()) this.host.sendResult(r);
          // Replicas on file: a host that restarted since fetches their verdicts this way.
          for (const r of this.replicas.values()) this.host.sendResult(r);
          void this.tellProfile(signal);
          void this.swarm?.connected(signal);
        } else void this.swarm?.update(signal);
        attempt = 0;
        this.startHeartbeat(signal);
        await this.work(signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof Redirected) {
          if (this.host.hasUpstream) continue; // straight on to the relay
          this.say('the host is full and has no relay yet; waiting', signal);
          await this.rest(err.retryMs, signal);
          if (signal.aborted) return;
          continue;
        }
        const error = isTabgridError(err) ? err : new TabgridError(ErrorCode.Network, String(err), { cause: err });
        // Only network trouble is worth waiting out; anything else needs the visitor.
        if (error.code !== ErrorCode.Network) return this.fail(error);
        const maxMs = this.options.backoff?.maxMs ?? 30_000;
        const delay = backoffMs(++attempt, this.options.backoff?.baseMs, hostAbsent(err) ? Math.min(maxMs, HOST_ABSENT_RETRY_MS) : maxMs);
        if (error instanceof ConnectError) this.connectProblem = error;
        // The error itself is shown once, from `error`; the status says what happens next.
        this.set(VolunteerState.Error, `disconnected; retrying in ${Math.ceil(delay / 1000)} s`, error);
        await this.rest(delay, signal);
        if (signal.aborted) return;
        this.set(VolunteerState.Running, 'reconnecting');
      }
    }
  }

  /** Waits `ms` on the session's timers, or less if the page thaws meanwhile (`thawed`); never throws. */
  private async rest(ms: number, signal: AbortSignal): Promise<void> {
    const nap = new AbortController();
    this.nap = nap;
    await waited(ms, AbortSignal.any([signal, nap.signal]), this.timers);
    if (this.nap === nap) this.nap = undefined;
  }

  private say(status: string, signal: AbortSignal): void {
    if (!signal.aborted) this.set(VolunteerState.Running, status);
  }

  /** Leases and computes units until aborted; throws when the link fails. */
  private async work(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // A unit begun over an earlier link is still computing: wait for it (or for this link to drop).
      if (this.inFlight) {
        await Promise.race([this.inFlight, this.host.whenLost()]);
        continue;
      }
      const waitMs = await this.fill(signal);
      const unit = this.queue.shift();
      if (!unit) {
        await sleep(waitMs, signal, this.timers);
        continue;
      }
      // The next unit's inputs come in while this one computes, so the device does not wait on the network.
      const next = this.queue[0];
      // …and then onto the GPU, written while this one computes.
      if (next) {
        void this.inputsOf(next, signal, false)
          .then((inputs) => this.options.computer.prepare?.(next, inputs))
          .catch(() => undefined);
      }
      const computing = this.compute(unit, signal).finally(() => {
        if (this.inFlight === computing) this.inFlight = undefined;
      });
      computing.catch(() => undefined); // awaited below, or by the next link's work loop
      this.inFlight = computing;
      // A dropped link is reconnected to at once; the unit computes on meanwhile, its result sent when back.
      await Promise.race([computing, this.host.whenLost()]);
    }
  }

  /** Asks for units until `prefetch + 1` are held; returns how long to wait if none came. */
  private async fill(signal: AbortSignal): Promise<number> {
    while (this.queue.length < (this.options.prefetch ?? 1) + 1) {
      // The host reads at most MAX_HOLDING; a leased unit left off is handed back to us, which ends the filling below.
      const holding = [...this.queue.map((u) => u.unitId), ...this.sent.keys()].slice(0, MAX_HOLDING);
      const cached = (await this.datasets.roots()).slice(0, MAX_CACHED_HINT);
      const reply = await this.host.ask({ type: 'request-unit', holding, ...(cached.length > 0 ? { cached } : {}) }, ['unit', 'no-work'], signal);
      if (reply.type === 'no-work') {
        // Others' results move this key's rank while it has nothing to compute.
        if (Date.now() - this.standingAskedAt >= STANDING_REFRESH_MS) this.refreshStanding();
        if (this.queue.length === 0) {
          this.noWork = reply.jobDone ? NoWork.JobDone : NoWork.Waiting;
          this.say(reply.jobDone ? 'the job is finished; waiting for new work' : 'waiting for work', signal);
        }
        return reply.jobDone ? Math.max(reply.retryMs, 10_000) : reply.retryMs;
      }
      if (this.queue.some((u) => u.unitId === reply.unit.unitId) || this.sent.has(reply.unit.unitId)) break;
      await this.journal.hold(reply.unit);
      this.queue.push(reply.unit);
      this.noWork = undefined;
    }
    return 0;
  }

  private async compute(unit: WorkUnit, signal: AbortSignal): Promise<void> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    this.current = { unit, controller };
    this.kernelOf.set(unit.unitId, unit.kernel);
    const total = unitSize(unit);
    const from = this.partial.get(unit.unitId);
    if (from) this.resumed = { unitId: unit.unitId, from: from.done, total };
    this.progress = { unitId: unit.unitId, done: from?.done ?? 0, total };
    const checkpoints = this.journal.checkpointer(unit.unitId, from);
    let last = from?.done ?? 0;
    try {
      const progress = (done: number, total: number) => {
        this.computed += Math.max(0, done - last);
        last = done;
        this.progress = { unitId: unit.unitId, done, total };
        this.emit();
      };
      const inputs = await this.inputsOf(unit, controller.signal);
      this.say(from ? `resumed ${unit.unitId} from its checkpoint` : `computing ${unit.unitId}`, signal);
      const resume = {
        from: from?.done ?? 0,
        inputs,
        ...(this.journal.enabled ? { onCheckpoint: checkpoints.write, checkpointMs: this.options.checkpointMs } : {}),
      };
      const out = await this.options.computer.runUnit(unit, controller.signal, progress, resume).finally(checkpoints.close);
      const leaves = from ? concat([from.data, out.leaves]) : out.leaves;
      // GPU leaf hashes cover only what this run computed: after a resume the tree hashes every leaf itself.
      const { leafHashes, ...computed } = out;
      const result = sentResult(unit, { ...computed, leaves, ...(from ? {} : { leafHashes }) }, total, this.hash!);
      // Into the outbox before it goes out: a reload from here on re-sends instead of recomputing.
      await this.journal.finish(unit.unitId, result);
      this.partial.delete(unit.unitId);
      this.sent.set(unit.unitId, result);
      this.host.sendResult(result);
    } catch (err) {
      const latest = checkpoints.latest();
      if (latest) this.partial.set(unit.unitId, latest);
      // The host took the lease back (lease-lost): drop the unit and go on with the next.
      if (controller.signal.aborted && !signal.aborted) return;
      // Paused or the link failed: the unit stays ours, first in line.
      if (!this.queue.some((u) => u.unitId === unit.unitId)) this.queue.unshift(unit);
      throw err;
    } finally {
      signal.removeEventListener('abort', stop);
      this.current = undefined;
    }
  }

  /**
   * The verified bytes of the dataset slices a unit reads: from the cache, or fetched from the
   * host (or our relay) chunk by chunk, each checked against its root before it is kept or used
   * (chunk-fetcher.ts). Chunks that keep failing their check, or a host that keeps saying busy,
   * count as network trouble: the session reconnects and backs off, as for a dropped link.
   * Called ahead for the next unit too (`say` false), which warms the cache: chunks already in
   * flight are shared (ChunkFlights), so nothing is fetched twice.
   */
  private async inputsOf(unit: WorkUnit, signal: AbortSignal, say = true): Promise<UnitInput[]> {
    const slices = unitSlices(unit);
    if (slices.length === 0) return [];
    if (say) this.say(`fetching the inputs of ${unit.unitId}`, signal);
    const inputs: UnitInput[] = [];
    try {
      for (const slice of slices) {
        const data = await fetchSlice(slice, {
          fetch: (root, first, count, s) => this.fetchChunks({ root, bytes: slice.bytes }, first, count, s),
          onVerified: (index, chunk) => this.swarm?.paths.put(slice.root, index, { bytes: slice.bytes, path: chunk.path }),
          cache: this.datasets,
          flights: this.flights,
          hash: this.hash!,
          signal,
          onBytes: (fetched, fromCache) => {
            this.inputBytes.fetched += fetched;
            this.inputBytes.cached += fromCache;
          },
          onRefused: (index, why) => {
            this.inputBytes.refused++;
            console.warn(`tabgrid: refused chunk ${index} of ${slice.root.slice(0, 12)}…: ${why}`);
          },
        });
        inputs.push({ slice, data });
      }
    } catch (err) {
      if (signal.aborted || (isTabgridError(err) && err.code === ErrorCode.Network)) throw err;
      throw new TabgridError(ErrorCode.Network, `the inputs of ${unit.unitId}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return inputs;
  }

  private newSwarm(hash: Hasher): Swarm {
    return new Swarm(this.options.swarm!, {
      signalUrl: this.options.signalUrl,
      host: this.host,
      cache: this.datasets,
      flights: this.flights,
      hash,
      contributing: () => this.state === VolunteerState.Running,
      log: (line) => console.warn(line),
    });
  }

  /**
   * Chunks of the slice's dataset: from peers the host names when it tracks a swarm (each
   * verified there, so a bad one is pinned on its peer), else from the host, waiting out `busy`
   * answers (its per-connection budget) with a backoff.
   */
  private async fetchChunks(slice: Pick<DatasetSlice, 'root' | 'bytes'>, first: number, count: number, signal: AbortSignal) {
    const root = slice.root;
    const fromPeers = await this.swarm?.fetch(slice, first, count, signal);
    if (fromPeers) {
      this.inputBytes.peer += fromPeers.reduce((n, c) => n + c.data.length, 0);
      return fromPeers;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.host.fetchChunks(root, first, count, signal);
      } catch (err) {
        if (!isTabgridError(err, ErrorCode.Busy) || attempt >= 8) throw err;
        await sleep(backoffMs(attempt, 100, 2000), signal, this.timers);
      }
    }
  }

  private startHeartbeat(signal: AbortSignal): void {
    this.host.startHeartbeat(
      {
        expecting: () => this.host.waiting || this.current !== undefined || this.queue.length > 0 || this.sent.size > 0,
        beats: () => {
          const c = this.current;
          return heartbeatsFor(c && { unit: c.unit, done: this.progress?.unitId === c.unit.unitId ? this.progress.done : 0 }, this.queue, this.sent);
        },
      },
      signal,
    );
  }

  /** What the host said unprompted about our units. */
  private hear(message: Unprompted): void {
    switch (message.type) {
      case 'challenge':
      case 'send-rows': {
        const held = this.sent.get(message.unitId);
        if (held) for (const m of answerCheck(message, held)) this.host.send(m);
        return;
      }
      case 'verdict':
        return this.count(message);
      case 'error':
        // The host had no memory left for our upload: no fault of ours, and the unit is still ours.
        if (message.code === ErrorCode.Busy && this.sent.has(message.unitId)) return this.offerAgain(message.unitId);
        return this.drop(message.unitId);
      case 'lease-lost':
        return this.drop(message.unitId);
    }
  }

  /**
   * Sends a result again after a backoff (as reconnects wait); the host, still checking it,
   * answers with `send-rows` once more. Heartbeats keep its lease meanwhile.
   */
  private offerAgain(unitId: string): void {
    const retry = this.busy.get(unitId) ?? { attempt: 0 };
    this.busy.set(unitId, retry);
    if (retry.timer) return;
    retry.attempt++;
    retry.timer = this.timers.setTimeout(
      () => {
        retry.timer = undefined;
        const r = this.sent.get(unitId);
        if (r) this.host.sendResult(r);
      },
      backoffMs(retry.attempt, this.options.backoff?.baseMs, this.options.backoff?.maxMs),
    );
  }

  /** Forgets a result's pending offer (it was judged, dropped, or the session closed). */
  private calm(unitId: string): void {
    this.timers.clearTimeout(this.busy.get(unitId)?.timer);
    this.busy.delete(unitId);
  }

  /** Restores, once, what an earlier page left in the store: held units, checkpoints, outbox, receipts. */
  private async restore(): Promise<void> {
    if (this.restored) return;
    this.restored = true;
    const r = await this.journal.restore(this.hash!);
    for (const u of r.queue) if (!this.queue.some((q) => q.unitId === u.unitId)) this.queue.push(u);
    for (const [id, p] of r.partial) this.partial.set(id, p);
    for (const [id, sent] of r.sent) this.sent.set(id, sent);
    this.tally.restore(r.receipts);
    this.emit();
  }

  /** The unit is no longer ours: stop computing it, forget it. */
  private drop(unitId: string): void {
    void this.journal.forget(unitId);
    this.partial.delete(unitId);
    this.kernelOf.delete(unitId);
    if (this.current?.unit.unitId === unitId) this.current.controller.abort();
    const i = this.queue.findIndex((u) => u.unitId === unitId);
    if (i >= 0) this.queue.splice(i, 1);
    this.sent.delete(unitId);
    this.calm(unitId);
  }

  private count(v: Reply<'verdict'>): void {
    const sent = this.sent.get(v.unitId);
    this.sent.delete(v.unitId);
    this.partial.delete(v.unitId);
    this.calm(v.unitId);
    // A pending replica stays in the outbox (and is re-sent on reconnect) until its verdict.
    if (v.verdict === Verdict.Pending && sent) this.replicas.set(v.unitId, offerOf(sent));
    if (v.verdict !== Verdict.Pending) {
      this.replicas.delete(v.unitId);
      void this.journal.settle(v.unitId, v.receipt);
    }
    const counted = this.tally.count(v);
    if (v.verdict === Verdict.Accepted) this.refreshStandingSoon();
    const kernel = this.kernelOf.get(v.unitId);
    if (counted && kernel) this.creditByKernel.set(kernel, (this.creditByKernel.get(kernel) ?? 0) + v.credit);
    if (v.verdict !== Verdict.Pending) this.kernelOf.delete(v.unitId);
    const detail: VerdictDetail = {
      unitId: v.unitId,
      verdict: v.verdict,
      reason: v.reason,
      credit: v.credit,
      totalCredit: v.totalCredit,
      receipt: v.receipt,
      counted,
    };
    this.dispatchEvent(new CustomEvent<VerdictDetail>('verdict', { detail }));
    this.emit();
  }

  private fail(err: TabgridError): void {
    this.controller?.abort();
    this.host.stopHeartbeat();
    this.set(VolunteerState.Error, err.message, err);
  }

  private set(state: VolunteerState, status: string, error?: TabgridError): void {
    if (state !== VolunteerState.Running) this.noWork = undefined;
    this.state = state;
    this.status = status;
    this.error = error;
    this.emit();
  }

  private emit(): void {
    this.dispatchEvent(new Event('change'));
  }
}
