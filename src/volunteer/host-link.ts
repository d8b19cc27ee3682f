import { abortable, withTimeout } from '../async';
import { ErrorCode, TabgridError, isErrorCode } from '../errors';
import { connectToHost, type PeerLink } from '../net/connect';
import type { IcePath } from '../net/ice-route';
import { fetchIce } from '../net/ice-url';
import { NO_ICE, withGrant, type IceConfig, type IceGrant } from '../protocol/ice';
import type { Link, LinkHandlers } from '../net/link';
import { PROTOCOL_VERSION, encodeMessage, type HostMessage, type RequestMessage, type VolunteerMessage } from '../protocol';
import { parseHostMessage } from '../validate';
import { createKeyPair, identityFromKeyPair, type Identity } from '../proof/identity';
import { signKeyProof } from '../proof/key-proof';
import type { CommitmentFields } from '../proof/commitment';
import { newSessionKeyPair, type ResultKey } from '../proof/result-key';
import { stepBytes } from '../proof/step-mac';
import { resultMessage, type Offer } from './results';
import { verifyReceiptSignature } from '../proof/receipt-signing';
import type { ServedChunk } from '../data/dataset';
import { ChunkRequest } from './chunk-request';
import { Heartbeat, type HeartbeatSource } from './heartbeat';
import { RelayServer } from './relay';
import { mainTimers, type Timers } from '../timers';

export type Reply<T extends HostMessage['type']> = Extract<HostMessage, { type: T }>;
/** A request as the caller gives it: HostLink numbers it. */
export type Unnumbered<R extends RequestMessage = RequestMessage> = R extends unknown ? Omit<R, 'id'> : never;
/** What the host may say without being asked: the session acts on these. */
export type Unprompted = Reply<'challenge' | 'send-rows' | 'verdict' | 'lease-lost'> | (Reply<'error'> & { unitId: string });

export interface HostLinkOptions {
  readonly signalUrl: string;
  readonly hostId: string;
  /**
   * Other processes of the same grid, serving one database (docs/MULTI-HOST.md): when the host
   * cannot be reached, the next id is tried, round and round. They share the host key, so
   * receipts verify whichever process issued them, and results in flight are judged by the next.
   */
  readonly otherHostIds?: readonly string[];
  /** The key this volunteer signs with; absent, `loadIdentity` gives it, else one is made in memory on first use. */
  readonly identity?: Identity;
  /** Loads (or creates and keeps) the key, e.g. from the volunteer's IndexedDB. */
  readonly loadIdentity?: () => Promise<Identity>;
  readonly client?: string;
  /** STUN/TURN servers and policy to connect with (the page's); TURN credentials the host grants are added. */
  readonly ice?: IceConfig;
  /**
   * Where the page's ICE servers come from instead (a signaling server's `GET /ice`, minting TURN
   * credentials per request; net/ice-url.ts): read before a connection when what was read last
   * is about to expire and the host has granted none; a failed read connects with what there is.
   */
  readonly iceUrl?: string;
  /** How to reach the host (`target`: the process's id, or the relay's); defaults to PeerJS (connectToHost). Tests pass in-memory links. */
  readonly connect?: (handlers: LinkHandlers, signal: AbortSignal, target: string) => Promise<Link>;
  /** Offer to relay for other volunteers when the host is full. */
  readonly relay?: boolean;
  /** A chunk fetch fails when no chunk of it has come for this long (default CHUNK_IDLE_MS). */
  readonly chunkIdleMs?: number;
  /** Timers for heartbeats, liveness and connect timeouts (default the context's own; a page passes its worker's: worker-clock.ts). */
  readonly timers?: Timers;
}

/** ICE servers read from a page's `iceUrl` are read again this long before they expire. */
const PAGE_ICE_MARGIN_MS = 60_000;

/** How long a chunk fetch waits for its next chunk: a 256 KiB chunk takes well under a second on any working link. */
export const CHUNK_IDLE_MS = 30_000;
/** Chunk fetches one link has in flight at most: with MAX_CHUNKS_PER_REQUEST each, 4 × 2 MiB held at most. */
export const MAX_CHUNK_FETCHES = 4;

/** TURN credentials are asked for again at most this often, whatever lifetime a grant claims (no loop of asks). */
const MIN_ICE_REFRESH_MS = 1000;
/** setTimeout's longest delay: a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The host sent us elsewhere: not a failure, so no backoff and no error state. */
export class Redirected extends Error {
  constructor(readonly retryMs: number) {
    super(`redirected; retry in ${retryMs} ms`);
  }
}

/**
 * One volunteer's line to one host: connect (to the host, or to the relay it sent us to), say
 * hello, ask and await typed replies, keep the line alive with heartbeats, and hand everything
 * the host says unprompted to `onMessage`. It holds no work; the session does.
 */
export class HostLink {
  private link?: Link;
  /** Requests awaiting their answers, by id: each answer names its request, so asks (and chunk fetches) may overlap. */
  private readonly pending = new Map<number, { take(m: HostMessage): void; reject(e: unknown): void }>();
  private fetches = 0;
  private nextId = 1;
  private heartbeatMs = 15_000;
  private readonly heartbeat: Heartbeat;
  private readonly timers: Timers;
  /** Where to connect next: a relay the host sent us to, else the host. */
  private upstream?: string;
  /** The key of the host that sent us to `upstream` (its redirect's): the welcome through the relay must be that host's. */
  private upstreamHostKey?: string;
  /** Which of the host's processes (hostId, then otherHostIds) to connect to next. */
  private process = 0;
  /** Whether losing the current link moves the next connection on to the next process: a direct link, not one the host redirected. */
  private leaveOnLoss = false;
  private readonly relayServer?: RelayServer;
  private identityPromise?: Promise<Identity>;
  /** The host's public key from its welcome: receipts must verify against it. */
  private hostKey?: string;
  /** The result key agreed on `link` (proof/result-key.ts): results sent on it carry its MACs. */
  private resultKey?: { readonly link: Link; readonly key: ResultKey };
  /** Rejected when the current link closes (`whenLost`). */
  private lost?: { readonly promise: Promise<never>; readonly reject: (err: unknown) => void };
  /** Unprompted messages are handed on in arrival order, some after an async check. */
  private inbox: Promise<void> = Promise.resolve();
  /** The ICE configuration the page gave (setIce replaces it: fresh credentials from the site). */
  private baseIce: IceConfig;
  /** TURN credentials the host granted (welcome, then `ice`), used for every later connection until they expire. */
  private grant?: IceGrant;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  /** How the current connection travels (direct or through TURN), read once it is open. */
  private currentPath?: IcePath;
  /** When the ICE servers read from `iceUrl` expire (ms since the epoch; Infinity: minted none), once read. */
  private pageIceUntil?: number;
  /** Why the last read of `iceUrl` failed, until one succeeds: said with a connection that fails. */
  private pageIceProblem?: string;

  constructor(
    private readonly options: HostLinkOptions,
    private readonly onMessage: (message: Unprompted) => void,
  ) {
    if (options.relay) this.relayServer = new RelayServer();
    this.timers = options.timers ?? mainTimers;
    this.heartbeat = new Heartbeat(this.timers);
    this.baseIce = options.ice ?? NO_ICE;
  }

  /** The ICE configuration the next connection uses: the page's, with the host's unexpired TURN credentials. */
  get ice(): IceConfig {
    const fresh = this.grant && this.grant.expiresAt > Date.now() ? this.grant : undefined;
    return withGrant(this.baseIce, fresh);
  }

  /** When the host's TURN credentials expire (ms since the epoch), if it granted any. */
  get iceExpiresAt(): number | undefined {
    return this.grant?.expiresAt;
  }

  /** The page's new ICE configuration (say, fresh TURN credentials from the site), for the connections to come. */
  setIce(ice: IceConfig): void {
    this.baseIce = ice;
  }

  /**
   * Reads the page's ICE servers from `iceUrl` when there are none yet or they expire within a
   * minute, unless the host's own grant is good for longer. A failure keeps what there is.
   */
  private async readPageIce(signal: AbortSignal): Promise<void> {
    const url = this.options.iceUrl;
    if (url === undefined) return;
    const soon = Date.now() + PAGE_ICE_MARGIN_MS;
    if (this.pageIceUntil !== undefined && this.pageIceUntil > soon) return;
    if (this.pageIceUntil !== undefined && this.grant && this.grant.expiresAt > soon) return;
    try {
      const { expiresAt, ...ice } = await fetchIce(url, signal);
      this.setIce(ice);
      this.pageIceUntil = expiresAt ?? Number.POSITIVE_INFINITY;
      this.pageIceProblem = undefined;
    } catch (err) {
      if (signal.aborted) throw err;
      this.pageIceProblem = (err as Error).message;
    }
  }

  /** How the open connection travels: direct, or through TURN (getStats' selected candidate pair); undefined before it is known. */
  get path(): IcePath | undefined {
    return this.link ? this.currentPath : undefined;
  }

  /** The host's public key, once a welcome has arrived. */
  get hostPublicKey(): string | undefined {
    return this.hostKey;
  }

  get connected(): boolean {
    return this.link !== undefined;
  }

  /** True while a request waits for its reply. */
  get waiting(): boolean {
    return this.pending.size > 0;
  }

  /** True while connected through a relay rather than to the host itself. */
  get relayed(): boolean {
    return this.link !== undefined && this.upstream !== undefined;
  }

  /** True when the last redirect named a relay to try next. */
  get hasUpstream(): boolean {
    return this.upstream !== undefined;
  }

  get relayChildren(): number {
    return this.relayServer?.size ?? 0;
  }

  /** This volunteer's identity (made on first use when the options gave none). */
  identity(): Promise<Identity> {
    const fresh = () => createKeyPair().then(identityFromKeyPair);
    // A store that cannot keep the key costs the leases on reload, not the ability to compute.
    this.identityPromise ??= this.options.identity
      ? Promise.resolve(this.options.identity)
      : this.options.loadIdentity
        ? this.options.loadIdentity().catch(fresh)
        : fresh();
    return this.identityPromise;
  }

  /** Connects and greets, unless connected already. Throws Redirected when the host is full. */
  async open(signal: AbortSignal): Promise<void> {
    if (this.link) return;
    const handlers: LinkHandlers = { onText: (text, body) => this.receive(text, body), onClose: () => this.closed() };
    const processes = [this.options.hostId, ...(this.options.otherHostIds ?? [])];
    const target = this.upstream ?? processes[this.process % processes.length]!;
    const direct = this.upstream === undefined;
    const relay = this.relayServer;
    const connect =
      this.options.connect ??
      ((h: LinkHandlers, s: AbortSignal) =>
        connectToHost(
          {
            signalUrl: this.options.signalUrl,
            hostId: target,
            ice: this.ice,
            signal: s,
            timers: this.timers,
            onConnection: relay && direct ? (c) => relay.accept(c) : undefined,
          },
          h,
        ));
    const identity = await this.identity();
    await this.readPageIce(signal);
    let link: Link;
    try {
      link = await connect(handlers, signal, target);
    } catch (err) {
      // That process is gone (or not up yet): the reconnect after the backoff tries the next one.
      if (direct) this.process++;
      // A relay we cannot reach (ICE between two NATed browsers often fails): the host itself next, as after a lost relay.
      else this.upstream = undefined;
      if (this.pageIceProblem && err instanceof Error) {
        try {
          err.message += ` (and the site's ICE servers could not be read: ${this.pageIceProblem})`;
        } catch {
          // A DOMException's message cannot be set: it goes as it is, its own words.
        }
      }
      throw err;
    }
    this.link = link;
    this.leaveOnLoss = direct;
    let reject!: (err: unknown) => void;
    const promise = new Promise<never>((_, r) => (reject = r));
    promise.catch(() => undefined); // nobody need be listening
    this.lost = { promise, reject };
    const hello: Unnumbered<Extract<RequestMessage, { type: 'hello' }>> = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      client: this.options.client ?? 'tabgrid-volunteer',
      publicKey: identity.publicKey,
      ...(relay && direct ? { relay: true } : {}),
    };
    // A link that did not become a connection: closed and forgotten, so the next open() makes a new one, to the host
    // itself (a relay that failed us sends us back, as losing one does).
    const abandon = () => {
      link.close();
      if (this.link === link) this.link = undefined;
      this.upstream = undefined;
    };
    let welcome: Reply<'welcome' | 'redirect'>;
    try {
      welcome = await withTimeout(
        this.ask(hello, ['welcome', 'redirect'], signal),
        15_000,
        () => new TabgridError(ErrorCode.Network, 'the host did not answer hello'),
        this.timers,
      );
    } catch (err) {
      // Not greeted (refused, banned, no answer, aborted).
      abandon();
      throw err;
    }
    if (welcome.type === 'redirect') {
      // Before the close, whose handler would otherwise move the next connection on to another process.
      this.leaveOnLoss = false; // full, not gone: its relay is tried, then this process again
      link.close();
      if (!direct) {
        // Only the host redirects; a relay that answers with one is not passing on the host's word.
        this.upstream = undefined;
        throw new TabgridError(ErrorCode.BadSignature, `relay ${target} answered hello with a redirect of its own; trying the host again`);
      }
      const choice = welcome.relays[Math.floor(Math.random() * welcome.relays.length)];
      this.upstream = choice;
      this.upstreamHostKey = welcome.publicKey;
      throw new Redirected(welcome.retryMs);
    }
    // Through a relay, the welcome must be the host's that sent us there: a relay answering as a host of its own would
    // lease its own units to us, send our results as its own, and hand us receipts of its own signing.
    if (!direct && (welcome.publicKey !== this.upstreamHostKey || !processes.includes(welcome.hostId))) {
      abandon();
      throw new TabgridError(
        ErrorCode.BadSignature,
        `relay ${target} answered with the welcome of another host (${welcome.hostId}, key ${welcome.publicKey.slice(0, 16)}…); trying the host again`,
      );
    }
    // Proves we hold the key hello named, and gives the host our half of this connection's result
    // key; the host handles messages in order, so whatever we ask next is heard after the proof,
    // with no round trip to wait for.
    this.hostKey = welcome.publicKey;
    const { hostId, publicKey: hostPublicKey, nonce, session: hostSession } = welcome;
    let resultKey: ResultKey;
    try {
      const mine = await newSessionKeyPair();
      this.send({
        type: 'key-proof',
        signature: await signKeyProof(identity, { hostId, hostPublicKey, nonce, hostSession, session: mine.publicKey }),
        session: mine.publicKey,
      });
      resultKey = await mine.agree(hostSession, nonce);
    } catch (err) {
      // A host whose half is no point on the curve cannot be spoken to.
      abandon();
      throw err;
    }
    this.resultKey = { link, key: resultKey };
    if (relay && direct) relay.attach(link);
    this.heartbeatMs = welcome.heartbeatMs;
    this.currentPath = undefined;
    if ('path' in link)
      void (link as PeerLink).path().then(
        (p) => this.link === link && (this.currentPath = p),
        () => undefined,
      );
    if (welcome.ice) this.granted(welcome.ice, signal);
  }

  /** Keeps the host's TURN credentials and asks for fresh ones at three quarters of their life, while connected. */
  private granted(grant: IceGrant, signal: AbortSignal): void {
    this.grant = grant;
    clearTimeout(this.refreshTimer);
    const life = grant.expiresAt - Date.now();
    if (life <= 0) return;
    this.refreshTimer = setTimeout(
      () => {
        if (signal.aborted || !this.link) return;
        this.ask({ type: 'get-ice' }, ['ice'], signal).then(
          ({ iceServers, expiresAt }) => this.granted({ iceServers, expiresAt }, signal),
          (err: unknown) => console.warn('tabgrid: could not refresh the TURN credentials:', (err as Error).message),
        );
      },
      Math.min(Math.max(life * 0.75, MIN_ICE_REFRESH_MS), MAX_TIMER_MS),
    );
  }

  startHeartbeat(source: HeartbeatSource, signal: AbortSignal): void {
    const link = this.link;
    if (!link) return;
    this.heartbeat.start(link, this.heartbeatMs, source, () => !signal.aborted && this.link === link);
  }

  stopHeartbeat(): void {
    this.heartbeat.stop();
  }

  /**
   * Sends the heartbeats now: after a thaw (their answers, not the time asleep, decide whether
   * the link lives), or `pausing` as the page freezes, so the host keeps our units a while.
   */
  beatNow(pausing = false): void {
    this.heartbeat.beatNow(pausing);
  }

  /** Whether our peer is on the signaling server (undefined when not connected, or not over PeerJS). */
  get signaling(): boolean | undefined {
    return this.link?.signaling;
  }

  /** Rejoins the signaling server now if the socket dropped (a thawed page's may have). */
  resignal(): void {
    this.link?.resignal?.();
  }

  /**
   * Rejects (network) when the current link closes, at once when there is none: the session
   * races its computation against it, so a dropped host is reconnected to at once rather than
   * after the unit in progress is done.
   */
  whenLost(): Promise<never> {
    if (!this.link || !this.lost) return Promise.reject(new TabgridError(ErrorCode.Network, 'lost the connection to the host'));
    return this.lost.promise;
  }

  /** Sends `message` numbered with a fresh id and resolves to the answer that names it, one of `types`. */
  ask<T extends HostMessage['type']>(message: Unnumbered, types: readonly T[], signal: AbortSignal): Promise<Reply<T>> {
    // The link may have closed while the caller was busy; asking over it would wait forever.
    if (!this.link) return Promise.reject(new TabgridError(ErrorCode.Network, 'lost the connection to the host'));
    const id = this.nextId++;
    const reply = new Promise<Reply<T>>((resolve, reject) => {
      const take = (m: HostMessage) =>
        (types as readonly HostMessage['type'][]).includes(m.type)
          ? resolve(m as Reply<T>)
          : reject(new TabgridError(ErrorCode.BadMessage, `host answered with '${m.type}', expected ${types.join(' or ')}`));
      this.pending.set(id, { take, reject });
    });
    this.send({ ...message, id });
    // Answered, failed or given up on: an answer that comes after is dropped.
    return abortable(reply, signal).finally(() => this.pending.delete(id));
  }

  /**
   * Fetches chunks first … first + count − 1 (count ≤ MAX_CHUNKS_PER_REQUEST) of dataset
   * `root`: one get-chunks, answered by `count` chunk data messages. Resolves to the chunks in
   * index order, UNVERIFIED: the caller checks each with chunkProblem against the slice's root
   * and length before it keeps or uses it. Rejects with the host's error for the request, a
   * bad-message for a chunk it did not ask for, network when the connection drops or no chunk
   * comes for `chunkIdleMs`, aborted on `signal`, and bad-input for a bad range or past
   * MAX_CHUNK_FETCHES fetches in flight.
   */
  fetchChunks(root: string, first: number, count: number, signal?: AbortSignal): Promise<ServedChunk[]> {
    if (!this.link) return Promise.reject(new TabgridError(ErrorCode.Network, 'lost the connection to the host'));
    if (this.fetches >= MAX_CHUNK_FETCHES)
      return Promise.reject(new TabgridError(ErrorCode.BadInput, `${MAX_CHUNK_FETCHES} chunk fetches are in flight already`));
    if (signal?.aborted) return Promise.reject(new TabgridError(ErrorCode.Aborted, 'aborted'));
    let request: ChunkRequest;
    try {
      request = new ChunkRequest(root, first, count, this.options.chunkIdleMs ?? CHUNK_IDLE_MS);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.nextId++;
    const take = (m: HostMessage) =>
      m.type === 'chunk' ? request.take(m) : request.fail(new TabgridError(ErrorCode.BadMessage, `host answered get-chunks with '${m.type}'`));
    this.pending.set(id, { take, reject: (err) => request.fail(err) });
    this.fetches++;
    const onAbort = () => request.fail(new TabgridError(ErrorCode.Aborted, 'aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.send({ type: 'get-chunks', id, root, first, count });
    // Done, failed or given up on: chunks that come after are dropped.
    return request.done.finally(() => {
      this.pending.delete(id);
      this.fetches--;
      signal?.removeEventListener('abort', onAbort);
    });
  }

  /**
   * Sends if connected; a message lost to a drop is sent again after the reconnect. Openings and
   * rows go with their MAC under this connection's result key (proof/step-mac.ts).
   */
  send(message: VolunteerMessage): void {
    if (!this.link) return;
    const keyed = this.currentResultKey();
    const sent = (message.type === 'openings' || message.type === 'rows') && keyed ? { ...message, mac: keyed.macBytes(stepBytes(message)) } : message;
    this.link.send(encodeMessage(sent));
  }

  /**
   * Sends a finished result, its commitment authenticated with this connection's result key
   * (at once, so it goes before whatever is sent next). Sends nothing when not connected: the
   * session sends its results again on each new connection, under that one's key.
   */
  sendResult(r: Offer): void {
    const mac = this.resultMac(r.commitment);
    if (mac !== undefined) this.send(resultMessage(r, mac));
  }

  /** The MAC of `commitment` under this connection's result key; undefined when not connected. */
  resultMac(commitment: CommitmentFields): string | undefined {
    return this.currentResultKey()?.mac(commitment);
  }

  /** The result key agreed on the current link; undefined when not connected (or not yet agreed). */
  private currentResultKey(): ResultKey | undefined {
    const current = this.resultKey;
    return current && current.link === this.link ? current.key : undefined;
  }

  close(): void {
    clearTimeout(this.refreshTimer);
    this.heartbeat.stop();
    this.link?.close();
    this.link = undefined;
  }

  private receive(text: unknown, body?: Uint8Array): void {
    this.heartbeat.heard();
    let message: HostMessage;
    try {
      message = parseHostMessage(text, body);
    } catch (err) {
      console.warn('tabgrid: ignoring a malformed message from the host:', (err as Error).message);
      return;
    }
    switch (message.type) {
      case 'challenge':
      case 'send-rows':
      case 'verdict':
      case 'lease-lost':
        return this.hand(message);
      case 'lease':
        return;
      case 'relayed':
        return this.relayServer?.deliver(message.child, message.text, message.data);
      case 'error': {
        const code = isErrorCode(message.code) ? message.code : ErrorCode.BadMessage;
        const failure = new TabgridError(code, `host: ${message.message}`);
        // An error answering a request fails that request; one about a unit costs that unit only;
        // any other (the host could not read the message, or the key-proof failed) fails every request.
        if (message.id !== undefined) return this.pending.get(message.id)?.reject(failure);
        if (message.unitId !== undefined) return this.hand({ ...message, unitId: message.unitId });
        return this.failAll(failure);
      }
      case 'welcome':
      case 'ice':
      case 'redirect':
      case 'unit':
      case 'no-work':
      case 'chunk':
      case 'standing':
      case 'peers':
      case 'tracking':
        return this.pending.get(message.id)?.take(message);
    }
  }

  /** Hands `message` on after those before it; a verdict's receipt first has its signature checked. */
  private hand(message: Unprompted): void {
    const hostKey = this.hostKey;
    this.inbox = this.inbox.then(async () => this.onMessage(message.type === 'verdict' ? await checkedReceipt(message, hostKey) : message));
  }

  private failAll(err: TabgridError): void {
    for (const request of [...this.pending.values()]) request.reject(err);
  }

  /**
   * The link is gone; the session's run loop sees it fail and reconnects with backoff. A direct
   * link to one of several processes moves the next connection on to the next process: a killed
   * process does not close its links, so this is met only after the heartbeats' silence (≥ 5 s),
   * and connecting to its id again would wait out the signaling server's expiry of the offer
   * (another 5–7 s) before failing over, while the job goes on without this volunteer. The
   * processes share one database, so any of them takes what it brings.
   */
  private closed(): void {
    if (this.leaveOnLoss && (this.options.otherHostIds?.length ?? 0) > 0) this.process++;
    this.leaveOnLoss = false;
    this.link = undefined;
    this.relayServer?.attach(undefined);
    // Try the host itself first next time: a lost relay may be gone for good.
    this.upstream = undefined;
    clearTimeout(this.refreshTimer);
    this.heartbeat.stop();
    const lost = new TabgridError(ErrorCode.Network, 'lost the connection to the host');
    this.lost?.reject(lost);
    this.lost = undefined;
    this.failAll(lost);
  }
}

/**
 * The verdict, without its receipt if the receipt's signature does not verify against the
 * host's key from the welcome: such a receipt proves nothing, so it is logged and not counted.
 */
async function checkedReceipt(verdict: Reply<'verdict'>, hostKey: string | undefined): Promise<Reply<'verdict'>> {
  const { receipt, ...rest } = verdict;
  if (!receipt) return verdict;
  if (hostKey !== undefined && receipt.signature !== undefined && (await verifyReceiptSignature(hostKey, receipt, receipt.signature))) return verdict;
  console.warn(`tabgrid: the receipt for ${verdict.unitId} does not carry the host's valid signature; not counting it`);
  return rest;
}
