/**
 * The downloading side of the swarm (issue 18): asks the host (the tracker) which peers hold
 * the chunks a unit needs, and fetches them from those peers over direct data connections, the
 * same `get-chunks` / `chunk` words as with the host. Every chunk is checked here, against the
 * root and the tree size of the unit's SLICE (never anything the peer says), before it is
 * returned, so a bad one is pinned on the peer that served it: that peer is dropped for good by
 * this volunteer and reported to the host (bad chunk, stall, refusal, unreachable), and the
 * next peer is tried. When no peer serves the request, `fetch` resolves undefined and the
 * caller asks the host: nothing waits on a peer longer than `idleMs` without a chunk.
 *
 * Bounded: at most MAX_PEER_LINKS links open (the least recently used closes first), each
 * closed after LINK_IDLE_MS unused; MAX_DROPPED peers remembered as dropped; one request in
 * flight per link.
 */
import { abortable, withTimeout } from '../async';
import { chunkProblem, type DatasetSlice, type ServedChunk } from '../data/dataset';
import { ErrorCode, TabgridError, isTabgridError } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import type { Link, LinkHandlers } from '../net/link';
import { encodeMessage, type HostMessage } from '../protocol';
import { PeerFault } from '../protocol/swarm';
import { parseHostMessage } from '../validate';
import { ChunkRequest } from './chunk-request';

export const MAX_PEER_LINKS = 4;
export const LINK_IDLE_MS = 30_000;
export const MAX_DROPPED = 256;
/** A peer that sends no chunk for this long is stalled (a serving peer waits at most a few seconds for its share or a landing chunk). */
export const PEER_IDLE_MS = 10_000;
/** How many times one fetch asks the host for peers (a second list when the first all failed). */
export const PEER_ROUNDS = 2;
/** How long opening a data connection to a peer may take. */
export const PEER_DIAL_MS = 8000;

export interface PeerFetcherDeps {
  /** The host's `get-peers`: peer ids that hold the chunks, best first (maybe none). */
  peersFor(root: string, first: number, count: number, signal: AbortSignal): Promise<readonly string[]>;
  /** Opens a data connection to `peer` (swarm.ts: PeerJS, labelled CHUNK_CONNECTION_LABEL). */
  dial(peer: string, handlers: LinkHandlers, signal: AbortSignal): Promise<Link>;
  /** Tells the host (peer-report); never throws. */
  report(peer: string, root: string, why: PeerFault): void;
  readonly hash: Hasher;
  readonly idleMs?: number;
  readonly dialMs?: number;
  /** A peer was dropped, and why (logs). */
  onDropped?(peer: string, why: string): void;
}

interface PeerLink {
  readonly link: Link;
  readonly pending: Map<number, ChunkRequest>;
  timer?: ReturnType<typeof setTimeout>;
  closed: boolean;
}

export class PeerFetcher {
  private readonly links = new Map<string, Promise<PeerLink>>();
  private readonly dropped = new Set<string>();
  private nextId = 1;
  private closed = false;
  /** Bytes of verified chunks peers served; requests peers failed. */
  readonly counts = { bytes: 0, chunks: 0, failures: 0 };

  constructor(private readonly deps: PeerFetcherDeps) {}

  /**
   * Chunks first … first + count − 1 of the slice's dataset from a peer, each VERIFIED against
   * `slice.root` with the tree size from `slice.bytes`; undefined when no peer served them (ask
   * the host). Throws only when `signal` aborts.
   */
  async fetch(slice: Pick<DatasetSlice, 'root' | 'bytes'>, first: number, count: number, signal: AbortSignal): Promise<ServedChunk[] | undefined> {
    if (this.closed) return undefined;
    // Two rounds: peers that failed in the first (gone, busy, lying) leave others the host names on asking again.
    const tried = new Set<string>();
    for (let round = 0; round < PEER_ROUNDS; round++) {
      let peers: readonly string[];
      try {
        peers = await this.deps.peersFor(slice.root, first, count, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        return undefined;
      }
      const fresh = peers.filter((p) => !tried.has(p) && !this.dropped.has(p));
      if (fresh.length === 0) return undefined;
      const chunks = await this.fromPeers(fresh, tried, slice, first, count, signal);
      if (chunks) return chunks;
    }
    return undefined;
  }

  /** The chunks from the first of `peers` that serves them all, verified; undefined when none did. */
  private async fromPeers(
    peers: readonly string[],
    tried: Set<string>,
    slice: Pick<DatasetSlice, 'root' | 'bytes'>,
    first: number,
    count: number,
    signal: AbortSignal,
  ): Promise<ServedChunk[] | undefined> {
    for (const peer of peers) {
      tried.add(peer);
      if (signal.aborted) throw new TabgridError(ErrorCode.Aborted, 'aborted');
      let chunks: ServedChunk[];
      try {
        chunks = await this.request(peer, slice.root, first, count, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        this.counts.failures++;
        const fault = faultOf(err);
        // Busy is courtesy, not a fault: the peer stays, and the next one is asked.
        if (fault === undefined) continue;
        this.drop(peer, slice.root, fault, (err as Error).message);
        continue;
      }
      const problem = chunks.map((c) => chunkProblem(slice, c.index, c, this.deps.hash)).find((p) => p !== undefined);
      if (problem !== undefined) {
        this.counts.failures++;
        this.drop(peer, slice.root, PeerFault.BadChunk, problem);
        continue;
      }
      this.counts.chunks += chunks.length;
      this.counts.bytes += chunks.reduce((n, c) => n + c.data.length, 0);
      return chunks;
    }
    return undefined;
  }

  /** Peers this volunteer will not ask again. */
  get droppedPeers(): ReadonlySet<string> {
    return this.dropped;
  }

  close(): void {
    this.closed = true;
    for (const p of this.links.values())
      void p.then(
        (l) => l.link.close(),
        () => undefined,
      );
    this.links.clear();
  }

  private drop(peer: string, root: string, why: PeerFault, detail: string): void {
    if (this.dropped.size >= MAX_DROPPED) this.dropped.delete(this.dropped.values().next().value!);
    this.dropped.add(peer);
    void this.links.get(peer)?.then(
      (l) => l.link.close(),
      () => undefined,
    );
    this.links.delete(peer);
    this.deps.report(peer, root, why);
    this.deps.onDropped?.(peer, `${why}: ${detail}`);
  }

  private async request(peer: string, root: string, first: number, count: number, signal: AbortSignal): Promise<ServedChunk[]> {
    const pl = await this.linkTo(peer, signal);
    const id = this.nextId++;
    const request = new ChunkRequest(root, first, count, this.deps.idleMs ?? PEER_IDLE_MS);
    pl.pending.set(id, request);
    clearTimeout(pl.timer);
    const onAbort = () => request.fail(new TabgridError(ErrorCode.Aborted, 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    pl.link.send(encodeMessage({ type: 'get-chunks', id, root, first, count }));
    try {
      return await request.done;
    } finally {
      signal.removeEventListener('abort', onAbort);
      pl.pending.delete(id);
      if (pl.pending.size === 0 && !pl.closed) pl.timer = setTimeout(() => pl.link.close(), LINK_IDLE_MS);
    }
  }

  private linkTo(peer: string, signal: AbortSignal): Promise<PeerLink> {
    const open = this.links.get(peer);
    if (open) {
      // Most recently used last: the first is the one to close past the bound.
      this.links.delete(peer);
      this.links.set(peer, open);
      return open;
    }
    if (this.links.size >= MAX_PEER_LINKS) {
      const [oldest, link] = this.links.entries().next().value!;
      this.links.delete(oldest);
      void link.then(
        (l) => l.link.close(),
        () => undefined,
      );
    }
    const made = this.dial(peer, signal);
    this.links.set(peer, made);
    made.catch(() => {
      if (this.links.get(peer) === made) this.links.delete(peer);
    });
    return made;
  }

  private async dial(peer: string, signal: AbortSignal): Promise<PeerLink> {
    const pending = new Map<number, ChunkRequest>();
    let pl: PeerLink | undefined;
    const handlers: LinkHandlers = {
      onText: (text, body) => {
        let m: HostMessage;
        try {
          m = parseHostMessage(text, body);
        } catch (err) {
          // A peer that sends what the protocol refuses fails what it was asked.
          for (const r of pending.values()) r.fail(new TabgridError(ErrorCode.BadMessage, `peer ${peer}: ${(err as Error).message}`));
          return;
        }
        if (m.type === 'chunk') return pending.get(m.id)?.take(m);
        if (m.type === 'error' && m.id !== undefined) {
          const code = m.code === ErrorCode.Busy ? ErrorCode.Busy : ErrorCode.BadMessage;
          return pending.get(m.id)?.fail(new PeerRefusal(code, `peer ${peer}: ${m.message}`));
        }
      },
      onClose: () => {
        if (pl) pl.closed = true;
        if (this.links.get(peer) && pl) this.links.delete(peer);
        // A peer that went away (its tab closed, it paused) is no fault: the next peer or the host serves.
        for (const r of pending.values()) r.fail(new PeerGone(`peer ${peer} closed the connection`));
      },
    };
    const dialing = new AbortController();
    const stop = () => dialing.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const link = await withTimeout(abortable(this.deps.dial(peer, handlers, dialing.signal), dialing.signal), this.deps.dialMs ?? PEER_DIAL_MS, () => {
        dialing.abort();
        return new PeerUnreachable(`no data connection to peer ${peer} in ${this.deps.dialMs ?? PEER_DIAL_MS} ms`);
      });
      pl = { link, pending, closed: false };
      return pl;
    } catch (err) {
      if (signal.aborted || err instanceof PeerUnreachable) throw err;
      throw new PeerUnreachable(`peer ${peer}: ${(err as Error).message}`);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }
}

class PeerUnreachable extends TabgridError {
  constructor(message: string) {
    super(ErrorCode.Network, message);
  }
}

class PeerGone extends TabgridError {
  constructor(message: string) {
    super(ErrorCode.Network, message);
  }
}

class PeerRefusal extends TabgridError {}

/** What a failed request counts as against the peer; undefined for no fault (busy, gone). */
function faultOf(err: unknown): PeerFault | undefined {
  if (err instanceof PeerUnreachable) return PeerFault.Unreachable;
  if (err instanceof PeerGone) return undefined;
  if (err instanceof PeerRefusal) return err.code === ErrorCode.Busy ? undefined : PeerFault.Refused;
  // The request's own checks: a chunk not asked for, twice, too long, or silence (ChunkRequest).
  if (isTabgridError(err, ErrorCode.Network)) return PeerFault.Stalled;
  if (isTabgridError(err, ErrorCode.BadMessage)) return PeerFault.BadChunk;
  return PeerFault.Refused;
}
