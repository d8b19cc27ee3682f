/**
 * Turns a unit's dataset slice into verified bytes: the chunks the cache holds are taken from
 * it, the rest are asked of the host in requests of at most MAX_CHUNKS_PER_REQUEST chunks,
 * and every served chunk is checked (chunkProblem) against the SLICE's root and length, never
 * anything the server claims, and against the indices asked for. A chunk that fails is
 * refused: never cached, never used, reported, and asked for again, up to `maxAttempts` times
 * per chunk; then the fetch fails naming the dataset and the chunk. So a kernel never sees an
 * unverified byte, and only verified chunks reach the cache (dataset-cache.ts trusts them).
 *
 * The cache is a help, not a need: a failing cache read is a miss and a failing write (a full
 * disk) loses only the reuse; both are reported through `onCacheError`. Transport failures
 * (link lost, host error) are not retried here: they end the fetch as they came, for the
 * session to reconnect or give the unit up.
 */
import { abortable } from '../async';
import { chunkLength, chunkProblem, chunksOf, gatherSlice, MAX_CHUNKS_PER_REQUEST, sliceProblem, type DatasetSlice, type ServedChunk } from '../data/dataset';
import { ErrorCode, TabgridError, throwIfAborted } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import type { DatasetCache } from './store/dataset-cache';

export const DEFAULT_FETCH_ATTEMPTS = 3;
/** get-chunks requests in flight at once by default: two keep the channel busy across a round trip. */
export const DEFAULT_PARALLEL_REQUESTS = 2;

const ROOT = /^[0-9a-f]{64}$/;

export interface FetchSliceDeps {
  /** Asks the host for chunks first … first + count − 1 (count ≤ MAX_CHUNKS_PER_REQUEST) of dataset `root`; what comes back is UNVERIFIED. */
  fetch(root: string, first: number, count: number, signal: AbortSignal): Promise<readonly ServedChunk[]>;
  /** Where verified chunks are looked up first and kept after. */
  readonly cache: DatasetCache;
  readonly hash: Hasher;
  readonly signal?: AbortSignal;
  /** How many times one chunk is asked for before the fetch fails (default 3). */
  readonly maxAttempts?: number;
  /** get-chunks requests in flight at once (default 2). */
  readonly parallel?: number;
  /** Keep the fetched chunks in the cache (default true); false for bytes no other unit will read. */
  readonly keep?: boolean;
  /** Bytes newly obtained, as they come: verified bytes fetched, and bytes taken from the cache. */
  onBytes?(fetched: number, fromCache: number): void;
  /** A served chunk was refused (`index` as served) and why: a hostile relay or host, or a host bug. */
  onRefused?(index: number, why: string): void;
  /** A served chunk passed its check (before those waiting for it hear): its audit path, for serving it to peers (path-book.ts). */
  onVerified?(index: number, chunk: ServedChunk): void;
  /** The cache failed a read (taken as a miss) or a write (the chunk is used, not kept). */
  onCacheError?(err: unknown): void;
  /** Shared by the fetches of one volunteer, so two units reading the same chunk at once fetch it once. */
  readonly flights?: ChunkFlights;
}

/**
 * The chunks being fetched right now, by dataset and index, so a fetch that needs a chunk
 * another is getting waits for it instead of asking the host again (two prefetched units that
 * read one B panel). Holds only chunks in flight: an entry goes when its fetch gets the chunk
 * or ends.
 */
export class ChunkFlights {
  private readonly flights = new Map<string, Promise<Uint8Array | undefined>>();

  /** The verified chunk once the fetch getting it has it, or undefined if that fetch ended without it; undefined when no fetch is getting it. */
  wait(root: string, index: number): Promise<Uint8Array | undefined> | undefined {
    return this.flights.get(`${root}/${index}`);
  }

  /** Marks the chunk as being fetched; the caller must call what it returns (with the verified bytes, or undefined on giving up). Undefined when another fetch has it. */
  claim(root: string, index: number): ((data: Uint8Array | undefined) => void) | undefined {
    const key = `${root}/${index}`;
    if (this.flights.has(key)) return undefined;
    let resolve!: (data: Uint8Array | undefined) => void;
    const promise = new Promise<Uint8Array | undefined>((r) => (resolve = r));
    const settle = (data: Uint8Array | undefined) => {
      if (this.flights.get(key) === promise) this.flights.delete(key);
      resolve(data);
    };
    this.flights.set(key, promise);
    return settle;
  }

  /** Chunks in flight. */
  get size(): number {
    return this.flights.size;
  }
}

/**
 * The slice's bytes, every one from a chunk verified against `slice.root`. Throws TabgridError:
 * 'bad-input' for a slice that does not lie in its dataset, 'bad-message' when a chunk failed
 * its proof (or was not served) `maxAttempts` times, 'aborted' when `signal` fires, and
 * whatever `fetch` throws.
 */
export async function fetchSlice(slice: DatasetSlice, deps: FetchSliceDeps): Promise<Uint8Array> {
  const { root } = slice;
  const short = typeof root === 'string' ? `${root.slice(0, 12)}…` : String(root);
  const problem = ROOT.test(root) ? sliceProblem(slice) : `root ${JSON.stringify(root)} is not 64 lower-case hex digits`;
  if (problem) throw new TabgridError(ErrorCode.BadInput, `cannot fetch a slice of dataset ${short}: ${problem}`);
  const maxAttempts = deps.maxAttempts ?? DEFAULT_FETCH_ATTEMPTS;
  const parallel = deps.parallel ?? DEFAULT_PARALLEL_REQUESTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new TabgridError(ErrorCode.BadInput, `fetchSlice: maxAttempts ${maxAttempts} is not ≥ 1`);
  if (!Number.isSafeInteger(parallel) || parallel < 1) throw new TabgridError(ErrorCode.BadInput, `fetchSlice: parallel ${parallel} is not ≥ 1`);
  throwIfAborted(deps.signal);
  const { first, count } = chunksOf(slice);
  if (count === 0) return new Uint8Array(0);

  // Ours, so a failure can stop the other requests in flight, and the caller's abort stops all.
  const controller = new AbortController();
  const signal = controller.signal;
  const onAbort = () => controller.abort(deps.signal?.reason);
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  const have = new Map<number, Uint8Array>();
  const puts: Promise<unknown>[] = [];
  /** The chunks this fetch told `flights` it gets, each with how to hand it to those waiting. */
  const claimed = new Map<number, (data: Uint8Array | undefined) => void>();
  try {
    const wanted = Array.from({ length: count }, (_, i) => first + i);
    const cached = await abortable(Promise.all(wanted.map((i) => cacheGet(deps, root, i, chunkLength(slice.bytes, i)))), signal);
    let fromCache = 0;
    for (const [i, data] of cached.entries()) {
      if (!data) continue;
      have.set(first + i, data);
      fromCache += data.length;
    }
    if (fromCache > 0) deps.onBytes?.(0, fromCache);

    const attempts = new Map<number, number>();
    const why = new Map<number, string>();
    const claim = (indices: readonly number[]) => {
      for (const i of indices) {
        const settle = deps.flights?.claim(root, i);
        if (settle) claimed.set(i, settle);
      }
    };
    const got = (index: number, data: Uint8Array) => {
      have.set(index, data);
      claimed.get(index)?.(data);
      claimed.delete(index);
    };

    /** Asks for `indices` until each is verified, or one has been asked for maxAttempts times. */
    const fetchAll = async (indices: readonly number[]) => {
      let missing = indices.filter((i) => !have.has(i));
      while (missing.length > 0) {
        for (const i of missing) {
          const n = attempts.get(i) ?? 0;
          if (n >= maxAttempts) {
            throw new TabgridError(
              ErrorCode.BadMessage,
              `dataset ${root}: chunk ${i} was asked for ${n} time${n === 1 ? '' : 's'} and never came verified (last: ${why.get(i) ?? 'not served'}); a unit is never computed on unverified bytes`,
            );
          }
          attempts.set(i, n + 1);
        }
        await inPool(requestsFor(missing), parallel, async ({ first: from, count: n }) => {
          throwIfAborted(signal);
          const served = await abortable(deps.fetch(root, from, n, signal), signal);
          for (let i = from; i < from + n; i++) why.delete(i);
          for (const chunk of served) {
            const index = chunk.index;
            const asked = Number.isInteger(index) && index >= from && index < from + n;
            if (asked && have.has(index)) continue;
            const refusal = asked
              ? chunkProblem(slice, index, chunk, deps.hash)
              : `chunk ${index} of ${short} was not asked for (asked ${from}..${from + n - 1})`;
            if (refusal !== undefined) {
              if (asked) why.set(index, refusal);
              deps.onRefused?.(index, refusal);
              continue;
            }
            deps.onVerified?.(index, chunk);
            got(index, chunk.data);
            deps.onBytes?.(chunk.data.length, 0);
            if (deps.keep ?? true)
              // With the path it verified with: a page reloaded later serves the chunk to peers with it.
              puts.push(deps.cache.put(root, index, chunk.data, { bytes: slice.bytes, path: chunk.path }).catch((err: unknown) => deps.onCacheError?.(err)));
          }
          for (let i = from; i < from + n; i++) if (!have.has(i) && !why.has(i)) why.set(i, `chunk ${i} of ${short} was not served`);
        });
        missing = missing.filter((i) => !have.has(i));
      }
    };

    // Chunks another fetch is getting (another unit reading the same B) are waited for, not asked twice.
    const missing = wanted.filter((i) => !have.has(i));
    const borrowed = missing
      .map((i) => [i, deps.flights?.wait(root, i)] as const)
      .filter((b): b is readonly [number, Promise<Uint8Array | undefined>] => !!b[1]);
    const lent = new Set(borrowed.map(([i]) => i));
    const own = missing.filter((i) => !lent.has(i));
    claim(own);
    const borrow = async () => {
      for (const [i, flight] of borrowed) {
        const data = await abortable(flight, signal);
        if (data?.length !== chunkLength(slice.bytes, i)) continue;
        have.set(i, data);
        deps.onBytes?.(0, data.length);
      }
    };
    await Promise.all([borrow(), fetchAll(own)]);
    // What the other fetch did not get (it failed or was aborted), this one asks for itself.
    const left = borrowed.map(([i]) => i).filter((i) => !have.has(i));
    claim(left);
    await fetchAll(left);
    // Kept before we answer, so the next unit that reads these chunks finds them.
    await abortable(Promise.all(puts), signal);
    return gatherSlice(slice, (i) => have.get(i)!);
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
    controller.abort();
    for (const settle of claimed.values()) settle(undefined);
  }
}

/** A cached chunk, or undefined: a failing read, or a held chunk of the wrong length (a damaged store), is a miss. */
async function cacheGet(deps: FetchSliceDeps, root: string, index: number, length: number): Promise<Uint8Array | undefined> {
  try {
    const data = await deps.cache.get(root, index);
    if (data === undefined || data.length === length) return data;
    throw new TabgridError(ErrorCode.Storage, `the dataset cache holds ${data.length} bytes for chunk ${index} of ${root.slice(0, 12)}…, not ${length}`);
  } catch (err) {
    deps.onCacheError?.(err);
    return undefined;
  }
}

/** Ascending indices as get-chunks requests: runs of consecutive indices, cut at MAX_CHUNKS_PER_REQUEST. */
export function requestsFor(indices: readonly number[]): { first: number; count: number }[] {
  const requests: { first: number; count: number }[] = [];
  for (const i of indices) {
    const last = requests.at(-1);
    if (last && last.first + last.count === i && last.count < MAX_CHUNKS_PER_REQUEST) last.count++;
    else requests.push({ first: i, count: 1 });
  }
  return requests;
}

/** Runs `f` over `items`, at most `width` at once; the first failure rejects (the rest stop at their next step). */
async function inPool<T>(items: readonly T[], width: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
