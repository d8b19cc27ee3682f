/**
 * The serving side of the swarm (issue 18): answers other volunteers' `get-chunks` with the
 * verified chunks this volunteer holds (bytes from the dataset cache, which holds only verified
 * ones, and the audit path they verified with, path-book.ts), as `chunk` data messages, the same
 * words a host uses. Courteous and bounded: only while `allowed()` (contributing, sharing, on a
 * connection the browser does not ask to spare), every byte within the visitor's upload share
 * (upload-share.ts), at most `maxDownloaders` downloaders at once, one request at a time each,
 * and a downloader idle for `idleMs` is let go. A chunk still coming from the host or another
 * peer (ChunkFlights) is served once it lands. What it cannot serve it answers with an error:
 * busy (full, or the share is spent: no fault of anyone's) or not held.
 *
 * Transport-free: `accept` takes a function that makes the Link (swarm.ts wraps a PeerJS data
 * connection; tests use in-memory or raw WebRTC channels).
 */
import { sleep } from '../async';
import { chunkLength } from '../data/dataset';
import { ErrorCode, TabgridError } from '../errors';
import type { Link, LinkHandlers } from '../net/link';
import { sendHostMessage } from '../net/send-host-message';
import { encodeMessage, type HostMessage, type VolunteerMessage } from '../protocol';
import { parseVolunteerMessage } from '../validate';
import type { ChunkFlights } from './chunk-fetcher';
import type { PathBook, VerifiedPath } from './path-book';
import type { DatasetCache } from './store/dataset-cache';
import type { UploadShare } from './upload-share';

/** Downloaders served at once by default: a few, so one volunteer's uplink is never everyone's. */
export const MAX_DOWNLOADERS = 3;
/** A downloader that asks nothing for this long is let go (its slot is someone else's). */
export const DOWNLOADER_IDLE_MS = 20_000;
/** How long a chunk still coming (from the host or a peer) is waited for before it counts as not held. */
const LANDING_WAIT_MS = 6000;

export interface ChunkServerOptions {
  readonly cache: DatasetCache;
  readonly paths: PathBook;
  readonly share: UploadShare;
  readonly flights?: ChunkFlights;
  /** Whether serving is allowed now (contributing, sharing, not a connection to spare). */
  allowed(): boolean;
  readonly maxDownloaders?: number;
  readonly idleMs?: number;
  /** Bytes of chunks sent, as they go. */
  onServed?(bytes: number): void;
}

interface Downloader {
  readonly link: Link;
  readonly controller: AbortController;
  queue: Promise<void>;
  waiting: number;
  timer?: ReturnType<typeof setTimeout>;
}

export class ChunkServer {
  private readonly downloaders = new Set<Downloader>();
  private served = 0;
  private closed = false;

  constructor(private readonly options: ChunkServerOptions) {}

  /** Downloaders being served now. */
  get active(): number {
    return this.downloaders.size;
  }

  /** Chunk bytes sent to peers in all. */
  get bytesServed(): number {
    return this.served;
  }

  /**
   * A downloader connected: served if allowed and a slot is free; otherwise its first request
   * is answered busy and the link closed, so it asks someone else at once.
   */
  accept(open: (handlers: LinkHandlers) => Link): void {
    const full = this.closed || !this.options.allowed() || this.downloaders.size >= (this.options.maxDownloaders ?? MAX_DOWNLOADERS);
    // Set once the link exists: its handlers may only run after that.
    const slot: { d?: Downloader } = {};
    const link = open({
      onText: (text, body) => {
        if (!slot.d) return this.turnAway(link, text);
        this.take(slot.d, text, body);
      },
      onClose: () => {
        if (slot.d) this.drop(slot.d);
      },
    });
    if (full) return;
    const d: Downloader = { link, controller: new AbortController(), queue: Promise.resolve(), waiting: 0 };
    slot.d = d;
    this.downloaders.add(d);
    this.arm(d);
  }

  /** Lets every downloader go (the visitor paused, or the session closed when `closed`). */
  stopAll(closed = false): void {
    this.closed ||= closed;
    for (const d of [...this.downloaders]) d.link.close();
  }

  private turnAway(link: Link, text: unknown): void {
    const id = requestIdOf(text);
    link.send(
      encodeMessage({ type: 'error', code: ErrorCode.Busy, message: 'this volunteer serves no more downloaders now', ...(id === undefined ? {} : { id }) }),
    );
    // Closed after the answer has had time to go out.
    setTimeout(() => link.close(), 1000);
  }

  private take(d: Downloader, text: unknown, body: Uint8Array | undefined): void {
    this.arm(d);
    let m: VolunteerMessage;
    try {
      m = parseVolunteerMessage(text, body);
      if (m.type !== 'get-chunks') throw new TabgridError(ErrorCode.BadMessage, `a peer serves get-chunks only, not '${m.type}'`);
    } catch (err) {
      // A downloader that speaks anything else is no downloader.
      const id = requestIdOf(text);
      d.link.send(
        encodeMessage({ type: 'error', code: ErrorCode.BadMessage, message: (err as Error).message.slice(0, 1024), ...(id === undefined ? {} : { id }) }),
      );
      setTimeout(() => d.link.close(), 1000);
      return;
    }
    // One request at a time, and at most two waiting: more is a downloader flooding us.
    if (d.waiting >= 2) return this.answer(d, { type: 'error', code: ErrorCode.Busy, message: 'one request at a time', id: m.id });
    d.waiting++;
    const request = m;
    d.queue = d.queue
      .then(() => this.serve(d, request))
      .catch((err: unknown) => {
        if (d.controller.signal.aborted) return;
        const code = err instanceof TabgridError ? err.code : ErrorCode.BadInput;
        this.answer(d, { type: 'error', code, message: (err as Error).message.slice(0, 1024), id: request.id });
      })
      .finally(() => d.waiting--);
  }

  private async serve(d: Downloader, m: Extract<VolunteerMessage, { type: 'get-chunks' }>): Promise<void> {
    const signal = d.controller.signal;
    for (let index = m.first; index < m.first + m.count; index++) {
      if (!this.options.allowed()) throw new TabgridError(ErrorCode.Busy, 'this volunteer stopped serving');
      const { proof, data } = await this.held(m.root, index, signal);
      if (!proof || !data) throw new TabgridError(ErrorCode.BadInput, `this volunteer does not hold chunk ${index} of ${m.root.slice(0, 12)}…`);
      await this.options.share.take(data.length, signal);
      if (signal.aborted) return;
      this.answer(d, { type: 'chunk', id: m.id, root: m.root, index, path: [...proof.path], data });
      this.served += data.length;
      this.options.onServed?.(data.length);
      this.arm(d);
    }
  }

  /** The verified bytes of a chunk: in the cache, or landing (being fetched, or verified and being written). */
  private async held(root: string, index: number, signal: AbortSignal): Promise<{ proof?: VerifiedPath; data?: Uint8Array }> {
    const landing = this.options.flights?.wait(root, index);
    const landed = landing && (await Promise.race([landing, sleep(LANDING_WAIT_MS, signal).then(() => undefined)]));
    // Its path is kept when it verified (before those waiting for it hear), and in the cache beside
    // its bytes (a chunk cached by an earlier page load): none, and it is not ours to serve.
    const proof = this.options.paths.get(root, index) ?? (await this.options.cache.proof(root, index).catch(() => undefined));
    if (!proof) return {};
    const length = chunkLength(proof.bytes, index);
    if (landed?.length === length) return { proof, data: landed };
    // Verified just now and still being written to the cache: a few tries.
    for (let attempt = 0; attempt < 4; attempt++) {
      const data = await this.options.cache.get(root, index).catch(() => undefined);
      if (data?.length === length) return { proof, data };
      await sleep(100 * (attempt + 1), signal);
    }
    return { proof };
  }

  private answer(d: Downloader, m: HostMessage): void {
    if (!d.controller.signal.aborted) sendHostMessage(d.link, m);
  }

  private arm(d: Downloader): void {
    clearTimeout(d.timer);
    d.timer = setTimeout(() => d.link.close(), this.options.idleMs ?? DOWNLOADER_IDLE_MS);
  }

  private drop(d: Downloader): void {
    clearTimeout(d.timer);
    d.controller.abort();
    this.downloaders.delete(d);
  }
}

/** The `id` a refused text claimed, if it had a usable one. */
function requestIdOf(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
  } catch {
    return undefined;
  }
}
