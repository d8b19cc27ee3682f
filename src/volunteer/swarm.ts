/**
 * One session's part in the swarm (issue 18): its own place on the signaling server
 * (net/peer-endpoint.ts), the ChunkServer that serves its verified chunks to peers, and the
 * PeerFetcher that fetches from them, tied to its host, which tracks who holds what. After each
 * connection to the host it says whether it serves (`serving`), and again when that changes
 * (paused, resumed, the share set to 0); a host that does not know the swarm answers with an
 * error, and then this session fetches from the host alone, as before.
 */
import type { DataConnection } from 'peerjs';
import { sleep } from '../async';
import type { DatasetSlice, ServedChunk } from '../data/dataset';
import type { Hasher } from '../hash/sha256-cpu';
import { linkFromConnection } from '../net/link';
import { openPeerEndpoint, type PeerEndpoint } from '../net/peer-endpoint';
import type { PeerFault } from '../protocol/swarm';
import type { ChunkFlights } from './chunk-fetcher';
import { ChunkServer } from './chunk-server';
import type { HostLink } from './host-link';
import { connectionSaysSpare } from './metered';
import { PathBook } from './path-book';
import { PeerFetcher } from './peer-fetcher';
import type { DatasetCache } from './store/dataset-cache';
import type { UploadShare } from './upload-share';

/** How long a fetch waits for the host to hear that we serve (joining the signaling server first). */
const JOIN_WAIT_MS = 5000;
/** Cached datasets announced on joining, most recently used first (the host tracks 16 a connection). */
const ANNOUNCED_DATASETS = 16;
/** `have` messages on joining, over all of them: a cache of scattered chunks announces its first runs only. */
const ANNOUNCED_RUNS = 64;

/** What a session needs to join the swarm; the share is the tab's, shared by its sessions. */
export interface SwarmOptions {
  readonly share: UploadShare;
  /** Whether the connection must be spared (default: what navigator.connection says, metered.ts). */
  readonly spare?: () => boolean;
}

export interface SwarmDeps {
  readonly signalUrl: string;
  readonly host: HostLink;
  readonly cache: DatasetCache;
  readonly flights: ChunkFlights;
  readonly hash: Hasher;
  /** True while the session contributes (runs). */
  contributing(): boolean;
  readonly log?: (line: string) => void;
}

export class Swarm {
  readonly paths = new PathBook();
  readonly server: ChunkServer;
  readonly fetcher: PeerFetcher;
  private endpoint?: Promise<PeerEndpoint>;
  /** Whether the host tracks us: unknown until it answers `serving`; false for a host without the swarm. */
  private tracked?: boolean;
  /** What the host was last told. */
  private told?: boolean;
  private closed = false;
  /** The announcement after connecting, until the host answered it: fetches wait for it (briefly) so the host knows we serve. */
  private joining?: Promise<void>;

  constructor(
    private readonly options: SwarmOptions,
    private readonly deps: SwarmDeps,
  ) {
    this.server = new ChunkServer({ cache: deps.cache, paths: this.paths, share: options.share, flights: deps.flights, allowed: () => this.allowed() });
    this.fetcher = new PeerFetcher({
      hash: deps.hash,
      peersFor: async (root, first, count, signal) => (await deps.host.ask({ type: 'get-peers', root, first, count }, ['peers'], signal)).peers,
      dial: async (peer, handlers, signal) => (await this.ensureEndpoint()).dial(peer, handlers, signal),
      report: (peer, root, why) => this.report(peer, root, why),
      onDropped: (peer, why) => deps.log?.(`tabgrid: dropped peer ${peer}: ${why}`),
    });
  }

  /** Serving is allowed: contributing, a share above 0, and a connection the browser does not ask to spare. */
  allowed(): boolean {
    return !this.closed && this.deps.contributing() && this.options.share.rate > 0 && !(this.options.spare ?? connectionSaysSpare)();
  }

  /** Volunteers downloading from us now; bytes served to peers; bytes fetched from peers. */
  get uploading(): number {
    return this.server.active;
  }

  /**
   * A new connection to the host: it knows nothing of us yet. Joins the signaling server (once)
   * and tells the host whether we serve. Never throws: without the swarm, the host serves all.
   */
  async connected(signal: AbortSignal): Promise<void> {
    this.tracked = undefined;
    this.told = undefined;
    const joining = (this.joining = this.update(signal));
    await joining;
    if (this.joining === joining) this.joining = undefined;
  }

  /** Tells the host when serving was allowed or stopped since; lets downloaders go when it stopped. */
  async update(signal: AbortSignal): Promise<void> {
    const on = this.allowed();
    if (!on) this.server.stopAll();
    if (this.tracked === false || this.told === on || !this.deps.host.connected) return;
    this.told = on;
    try {
      const endpoint = await this.ensureEndpoint();
      await this.deps.host.ask({ type: 'serving', peer: endpoint.id, on }, ['tracking'], signal);
      this.tracked = true;
      if (on) void this.announceCached(signal);
    } catch (err) {
      this.told = undefined;
      if (signal.aborted) return;
      // A host without the swarm (it refused the message), or no signaling for our endpoint: fetch from the host alone.
      this.tracked = false;
      this.deps.log?.(`tabgrid: not in the swarm: ${(err as Error).message}`);
    }
  }

  /**
   * Chunks of the slice's dataset from peers the host names, verified; undefined when the host
   * tracks no swarm or no peer served them (the caller asks the host). Throws only on abort.
   */
  async fetch(slice: Pick<DatasetSlice, 'root' | 'bytes'>, first: number, count: number, signal: AbortSignal): Promise<ServedChunk[] | undefined> {
    // Said we serve before we ask: those asking after us are then named us.
    if (this.joining) await Promise.race([this.joining, sleep(JOIN_WAIT_MS, signal)]);
    if (this.tracked !== true || this.closed) return undefined;
    const chunks = await this.fetcher.fetch(slice, first, count, signal);
    // The host knows what it served us; what peers served, we tell it, so we are named for it too.
    if (chunks) this.tell({ type: 'have', root: slice.root, first, count }, signal);
    return chunks;
  }

  /**
   * Tells the host which chunks the cache can serve with their audit paths: those cached by an
   * earlier page load (or connection) are otherwise unknown to it, as it tracks only what it
   * served on this connection and what we said we fetched from peers. The host ignores datasets
   * it does not serve. A failure only means we are named less.
   */
  private async announceCached(signal: AbortSignal): Promise<void> {
    try {
      for (const have of await cachedHoldings(this.deps.cache)) {
        if (signal.aborted || this.tracked !== true) return;
        this.tell({ type: 'have', ...have }, signal);
      }
    } catch (err) {
      this.deps.log?.(`tabgrid: cannot tell the host what the dataset cache holds: ${(err as Error).message}`);
    }
  }

  close(): void {
    this.closed = true;
    this.server.stopAll(true);
    this.fetcher.close();
    void this.endpoint?.then(
      (e) => e.close(),
      () => undefined,
    );
    this.endpoint = undefined;
  }

  private report(peer: string, root: string, why: PeerFault): void {
    this.tell({ type: 'peer-report', peer, root, why });
  }

  /** A tracking message; a failure changes nothing (the host forgets us with the connection anyway). */
  private tell(
    m: { type: 'have'; root: string; first: number; count: number } | { type: 'peer-report'; peer: string; root: string; why: PeerFault },
    signal?: AbortSignal,
  ): void {
    if (!this.deps.host.connected) return;
    this.deps.host.ask(m, ['tracking'], signal ?? new AbortController().signal).catch(() => undefined);
  }

  private ensureEndpoint(): Promise<PeerEndpoint> {
    if (this.closed) return Promise.reject(new Error('the swarm is closed'));
    const made = (this.endpoint ??= openPeerEndpoint({ signalUrl: this.deps.signalUrl, ice: this.deps.host.ice }, (conn) => this.accept(conn)));
    // One that failed (or closed) is made again on the next need.
    made.then(
      (e) => {
        if (e.closed && this.endpoint === made) this.endpoint = undefined;
      },
      () => {
        if (this.endpoint === made) this.endpoint = undefined;
      },
    );
    return made.then((e) => {
      if (!e.closed) return e;
      if (this.endpoint === made) this.endpoint = undefined;
      throw new Error('the swarm endpoint left the signaling server');
    });
  }

  private accept(conn: DataConnection): void {
    this.server.accept((handlers) => linkFromConnection(conn, handlers));
  }
}

/**
 * What the cache can serve, as `have` ranges: its most recently used datasets first (at most
 * ANNOUNCED_DATASETS), each as runs of consecutive chunks held with their paths, at most
 * ANNOUNCED_RUNS runs in all (a cache of scattered chunks announces its first runs only).
 */
export async function cachedHoldings(cache: Pick<DatasetCache, 'roots' | 'provable'>): Promise<{ root: string; first: number; count: number }[]> {
  const out: { root: string; first: number; count: number }[] = [];
  for (const root of (await cache.roots()).slice(0, ANNOUNCED_DATASETS))
    for (const [first, count] of indexRuns(await cache.provable(root))) {
      if (out.length >= ANNOUNCED_RUNS) return out;
      out.push({ root, first, count });
    }
  return out;
}

/** Ascending indexes as runs [first, count] of consecutive ones. */
export function indexRuns(indexes: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const i of indexes) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === i) last[1]++;
    else runs.push([i, 1]);
  }
  return runs;
}
