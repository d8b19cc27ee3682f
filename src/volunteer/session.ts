import { ErrorCode, TabgridError, isErrorCode, isTabgridError } from '../errors';
import { toHex } from '../hex';
import { buildMerkleTreeOfChunks, merklePath, type MerkleTree } from '../hash/merkle';
import { createCpuSha256, type Hasher } from '../hash/sha256-cpu';
import { connectToHost } from '../net/connect';
import type { Link, LinkHandlers } from '../net/link';
import { PROTOCOL_VERSION, Verdict, encodeMessage, unitLeaves, type Backend, type HostMessage, type Receipt, type VolunteerMessage, type WorkUnit } from '../protocol';
import { parseHostMessage } from '../validate';
import type { UnitComputer } from '../worker/client';
import { backoffMs, stableVolunteerId } from './backoff';
import { RelayServer } from './relay';
import { abortable, sleep, withTimeout } from '../async';

export const VolunteerState = { Idle: 'idle', Running: 'running', Paused: 'paused', Error: 'error' } as const;
export type VolunteerState = (typeof VolunteerState)[keyof typeof VolunteerState];

export interface VolunteerSessionOptions {
  readonly signalUrl: string;
  readonly hostId: string;
  readonly computer: UnitComputer;
  readonly iceServers?: RTCIceServer[];
  /** How to reach the host; defaults to PeerJS (connectToHost). Tests pass in-memory links. */
  readonly connect?: (handlers: LinkHandlers, signal: AbortSignal) => Promise<Link>;
  readonly client?: string;
  /** This volunteer's stable name (default: one kept in localStorage). */
  readonly volunteerId?: string;
  /** Units to hold besides the one computing, so the GPU never waits on the network (default 1). */
  readonly prefetch?: number;
  /** Reconnect delays (ms): first and largest. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  /** Offer to relay for other volunteers when the host is full (default false). */
  readonly relay?: boolean;
}

/** The host sent us elsewhere: not a failure, so no backoff and no error state. */
class Redirected extends Error {}

export interface VerdictDetail {
  readonly unitId: string;
  readonly verdict: Verdict;
  readonly reason: string;
  readonly credit: number;
  readonly totalCredit: number;
  readonly receipt?: Receipt;
  /** True when this verdict newly counts a result of ours as accepted (an acceptance, or a
   * duplicate carrying our receipt whose first verdict a dropped link swallowed). */
  readonly counted: boolean;
}

type Reply<T extends HostMessage['type']> = Extract<HostMessage, { type: T }>;

interface Sent {
  readonly root: string;
  readonly backend: Backend;
  readonly tree: MerkleTree;
  readonly leaves: Uint8Array;
  readonly leafBytes: number;
  readonly total: number;
}

/**
 * A volunteer's conversation with one host: lease units (one computing, `prefetch` waiting),
 * compute, commit to each result's Merkle root, answer challenges, count verdicts, keep leases
 * alive with heartbeats, and reconnect with backoff when the link drops, re-sending results
 * that have no verdict yet. Emits `change` on any state change and `verdict` for each verdict.
 */
export class VolunteerSession extends EventTarget {
  state: VolunteerState = VolunteerState.Idle;
  unitsDone = 0;
  unitsRejected = 0;
  credit = 0;
  readonly receipts: Receipt[] = [];
  /** What the session is doing, in words, and the last error if any. */
  status = 'not started';
  error?: TabgridError;
  progress?: { unitId: string; done: number; total: number };
  readonly volunteerId: string;

  private link?: Link;
  private hash?: Hasher;
  private controller?: AbortController;
  private waiter?: { types: readonly HostMessage['type'][]; resolve(m: HostMessage): void; reject(e: unknown): void };
  private heartbeatMs = 15_000;
  /** When the host was last heard from: a link that has gone silent is treated as dead. */
  private lastHeard = 0;
  private heartbeat?: ReturnType<typeof setInterval>;
  private readonly queue: WorkUnit[] = [];
  private current?: { unit: WorkUnit; controller: AbortController };
  /** Results sent and not yet judged: kept to answer challenges and to re-send after a reconnect. */
  private readonly sent = new Map<string, Sent>();
  /** Where to connect next: a relay the host sent us to, else the host. */
  private upstream?: string;
  private readonly relayServer?: RelayServer;

  constructor(readonly options: VolunteerSessionOptions) {
    super();
    this.volunteerId = options.volunteerId ?? stableVolunteerId();
    if (options.relay) this.relayServer = new RelayServer();
  }

  /** True while connected through a relay rather than to the host itself. */
  get relayed(): boolean {
    return this.link !== undefined && this.upstream !== undefined;
  }

  /** Volunteers this one is relaying for. */
  get relayChildren(): number {
    return this.relayServer?.size ?? 0;
  }

  start(): void {
    if (this.state === VolunteerState.Running) return;
    this.controller?.abort(); // a run waiting to reconnect retries now instead
    const controller = new AbortController();
    this.controller = controller;
    this.set(VolunteerState.Running, this.link ? 'resuming' : 'connecting');
    void this.run(controller.signal);
  }

  /** Stops computing at once; results already sent are still verified and counted. */
  pause(): void {
    if (this.state !== VolunteerState.Running && this.state !== VolunteerState.Error) return;
    this.controller?.abort();
    this.stopHeartbeat();
    this.set(VolunteerState.Paused, 'paused');
  }

  close(): void {
    this.controller?.abort();
    this.stopHeartbeat();
    this.link?.close();
    this.link = undefined;
    if (this.state === VolunteerState.Running) this.set(VolunteerState.Paused, 'closed');
  }

  private async run(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; ) {
      try {
        this.hash ??= await createCpuSha256();
        const link = this.link ?? (await this.open(signal));
        attempt = 0;
        this.startHeartbeat(link, signal);
        await this.work(link, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof Redirected) {
          if (this.upstream) continue; // straight on to the relay
          this.say('the host is full and has no relay yet; waiting', signal);
          try {
            await sleep(Number(err.message), signal);
          } catch {
            return;
          }
          continue;
        }
        const error = isTabgridError(err) ? err : new TabgridError(ErrorCode.Network, String(err), { cause: err });
        // Only network trouble is worth waiting out; anything else needs the visitor.
        if (error.code !== ErrorCode.Network) return this.fail(error);
        const delay = backoffMs(++attempt, this.options.backoff?.baseMs, this.options.backoff?.maxMs);
        this.set(VolunteerState.Error, `${error.message}; retrying in ${Math.ceil(delay / 1000)} s`, error);
        try {
          await sleep(delay, signal);
        } catch {
          return;
        }
        this.set(VolunteerState.Running, 'reconnecting');
      }
    }
  }

  private say(status: string, signal: AbortSignal): void {
    if (!signal.aborted) this.set(VolunteerState.Running, status);
  }

  /** Leases and computes units until aborted; throws when the link fails. */
  private async work(link: Link, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const waitMs = await this.fill(link, signal);
      const unit = this.queue.shift();
      if (!unit) {
        await sleep(waitMs, signal);
        continue;
      }
      await this.compute(link, unit, signal);
    }
  }

  /** Asks for units until `prefetch + 1` are held; returns how long to wait if none came. */
  private async fill(link: Link, signal: AbortSignal): Promise<number> {
    while (this.queue.length < (this.options.prefetch ?? 1) + 1) {
      const holding = [...this.queue.map((u) => u.unitId), ...this.sent.keys()];
      const reply = await this.ask(link, { type: 'request-unit', holding }, ['unit', 'no-work'], signal);
      if (reply.type === 'no-work') {
        if (this.queue.length === 0) this.say(reply.jobDone ? 'the job is finished; waiting for new work' : 'waiting for work', signal);
        return reply.jobDone ? Math.max(reply.retryMs, 10_000) : reply.retryMs;
      }
      if (this.queue.some((u) => u.unitId === reply.unit.unitId) || this.sent.has(reply.unit.unitId)) break;
      this.queue.push(reply.unit);
    }
    return 0;
  }

  private async compute(link: Link, unit: WorkUnit, signal: AbortSignal): Promise<void> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    this.current = { unit, controller };
    const total = unitLeaves(unit).count;
    this.progress = { unitId: unit.unitId, done: 0, total };
    this.say(`computing ${unit.unitId}`, signal);
    try {
      const out = await this.options.computer.runUnit(unit, controller.signal, (done, total) => {
        this.progress = { unitId: unit.unitId, done, total };
        this.emit();
      });
      const tree = buildMerkleTreeOfChunks(out.leaves, out.leafBytes, this.hash!);
      const result: Sent = { root: toHex(tree.root), backend: out.backend, tree, leaves: out.leaves, leafBytes: out.leafBytes, total };
      this.sent.set(unit.unitId, result);
      this.send(link, { type: 'result', unitId: unit.unitId, root: result.root, backend: result.backend });
    } catch (err) {
      // The host took the lease back (lease-lost): drop the unit and go on with the next.
      if (!(controller.signal.aborted && !signal.aborted)) throw err;
    } finally {
      signal.removeEventListener('abort', stop);
      this.current = undefined;
    }
  }

  private async open(signal: AbortSignal): Promise<Link> {
    const handlers: LinkHandlers = { onText: (text) => this.receive(text), onClose: () => this.closed() };
    const target = this.upstream ?? this.options.hostId;
    const direct = this.upstream === undefined;
    const relay = this.relayServer;
    const connect =
      this.options.connect ??
      ((h: LinkHandlers, s: AbortSignal) =>
        connectToHost(
          { signalUrl: this.options.signalUrl, hostId: target, iceServers: this.options.iceServers, signal: s, onConnection: relay && direct ? (c) => relay.accept(c) : undefined },
          h,
        ));
    const link = await connect(handlers, signal);
    this.link = link;
    const hello: VolunteerMessage = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      client: this.options.client ?? 'tabgrid-volunteer',
      volunteerId: this.volunteerId,
      ...(relay && direct ? { relay: true } : {}),
    };
    const welcome = await withTimeout(this.ask(link, hello, ['welcome', 'redirect'], signal), 15_000, () => {
      link.close();
      return new TabgridError(ErrorCode.Network, 'the host did not answer hello');
    });
    if (welcome.type === 'redirect') {
      const choice = welcome.relays[Math.floor(Math.random() * welcome.relays.length)];
      link.close();
      this.upstream = choice;
      throw new Redirected(String(welcome.retryMs));
    }
    if (relay && direct) relay.attach(link);
    this.heartbeatMs = welcome.heartbeatMs;
    // Results that lost their verdict to the drop: send them again (the host repeats its challenge).
    for (const [unitId, r] of this.sent) this.send(link, { type: 'result', unitId, root: r.root, backend: r.backend });
    return link;
  }

  /**
   * A host that was killed does not close its data channels; WebRTC notices only after tens of
   * seconds. The host answers every heartbeat and request, so silence for three heartbeats
   * (and at least 5 s) while we wait for something means the link is dead: close it and let
   * the run loop reconnect.
   */
  private get livenessMs(): number {
    return Math.max(3 * this.heartbeatMs, 5_000);
  }

  private startHeartbeat(link: Link, signal: AbortSignal): void {
    this.stopHeartbeat();
    this.lastHeard = Date.now();
    this.heartbeat = setInterval(() => {
      if (signal.aborted || this.link !== link) return this.stopHeartbeat();
      const expecting = this.waiter !== undefined || this.current !== undefined || this.queue.length > 0 || this.sent.size > 0;
      // Silence only counts while we wait for something.
      if (!expecting) this.lastHeard = Date.now();
      else if (Date.now() - this.lastHeard > this.livenessMs) {
        console.warn(`tabgrid: no word from the host for ${this.livenessMs} ms; reconnecting`);
        link.close();
        return;
      }
      const c = this.current;
      if (c) this.send(link, { type: 'heartbeat', unitId: c.unit.unitId, done: this.progress?.unitId === c.unit.unitId ? this.progress.done : 0, total: unitLeaves(c.unit).count });
      for (const u of this.queue) this.send(link, { type: 'heartbeat', unitId: u.unitId, done: 0, total: unitLeaves(u).count });
      for (const [unitId, r] of this.sent) this.send(link, { type: 'heartbeat', unitId, done: r.total, total: r.total });
    }, this.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private ask<T extends HostMessage['type']>(link: Link, message: VolunteerMessage, types: readonly T[], signal: AbortSignal): Promise<Reply<T>> {
    // The link may have closed while the caller was busy; asking over it would wait forever.
    if (this.link !== link) return Promise.reject(new TabgridError(ErrorCode.Network, 'lost the connection to the host'));
    const reply = new Promise<Reply<T>>((resolve, reject) => {
      this.waiter = { types, resolve: resolve as (m: HostMessage) => void, reject };
    });
    this.send(link, message);
    return abortable(reply, signal);
  }

  private send(link: Link, message: VolunteerMessage): void {
    link.send(encodeMessage(message));
  }

  private receive(text: unknown): void {
    this.lastHeard = Date.now();
    let message: HostMessage;
    try {
      message = parseHostMessage(text);
    } catch (err) {
      console.warn('tabgrid: ignoring a malformed message from the host:', (err as Error).message);
      return;
    }
    switch (message.type) {
      case 'challenge':
        return this.answer(message);
      case 'verdict':
        return this.count(message);
      case 'lease':
        return;
      case 'relayed':
        return this.relayServer?.deliver(message.child, message.text);
      case 'lease-lost':
        return this.drop(message.unitId);
      case 'error': {
        // An error about one unit costs that unit only; any other fails the pending request.
        if (message.unitId !== undefined) return this.drop(message.unitId);
        const code = isErrorCode(message.code) ? message.code : ErrorCode.BadMessage;
        const w = this.waiter;
        this.waiter = undefined;
        w?.reject(new TabgridError(code, `host: ${message.message}`));
        return;
      }
      default:
        if (this.waiter?.types.includes(message.type)) {
          const w = this.waiter;
          this.waiter = undefined;
          w.resolve(message);
        }
    }
  }

  /** The unit is no longer ours: stop computing it, forget it. */
  private drop(unitId: string): void {
    if (this.current?.unit.unitId === unitId) this.current.controller.abort();
    const i = this.queue.findIndex((u) => u.unitId === unitId);
    if (i >= 0) this.queue.splice(i, 1);
    this.sent.delete(unitId);
  }

  /** Opens the challenged leaves of a committed result (cheap: no GPU, so even while paused). */
  private answer(challenge: Reply<'challenge'>): void {
    const held = this.sent.get(challenge.unitId);
    if (!held || !this.link) return;
    const openings = challenge.indices.map((index) => ({
      index,
      leaf: toHex(held.leaves.subarray(index * held.leafBytes, (index + 1) * held.leafBytes)),
      path: merklePath(held.tree, index).map(toHex),
    }));
    this.send(this.link, { type: 'openings', unitId: challenge.unitId, openings });
  }

  private count(v: Reply<'verdict'>): void {
    this.sent.delete(v.unitId);
    this.credit = v.totalCredit;
    const fresh = v.receipt !== undefined && !this.receipts.some((r) => r.receiptId === v.receipt!.receiptId);
    const counted = fresh && (v.verdict === Verdict.Accepted || v.verdict === Verdict.Duplicate);
    if (fresh) this.receipts.push(v.receipt!);
    if (counted) this.unitsDone++;
    if (v.verdict === Verdict.Rejected) this.unitsRejected++;
    const detail: VerdictDetail = { unitId: v.unitId, verdict: v.verdict, reason: v.reason, credit: v.credit, totalCredit: v.totalCredit, receipt: v.receipt, counted };
    this.dispatchEvent(new CustomEvent<VerdictDetail>('verdict', { detail }));
    this.emit();
  }

  /** The link is gone; the run loop sees it fail and reconnects with backoff. */
  private closed(): void {
    this.link = undefined;
    this.relayServer?.attach(undefined);
    // Try the host itself first next time: a lost relay may be gone for good.
    this.upstream = undefined;
    this.stopHeartbeat();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(new TabgridError(ErrorCode.Network, 'lost the connection to the host'));
  }

  private fail(err: TabgridError): void {
    this.controller?.abort();
    this.stopHeartbeat();
    this.set(VolunteerState.Error, err.message, err);
  }

  private set(state: VolunteerState, status: string, error?: TabgridError): void {
    this.state = state;
    this.status = status;
    this.error = error;
    this.emit();
  }

  private emit(): void {
    this.dispatchEvent(new Event('change'));
  }
}
