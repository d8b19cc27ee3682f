import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildDataset,
  chunkOf,
  DATASET_CHUNK_BYTES,
  MAX_CHUNKS_PER_REQUEST,
  serveChunk,
  type Dataset,
  type DatasetSlice,
  type ServedChunk,
} from '../../src/data/dataset';
import { isTabgridError } from '../../src/errors';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { ChunkFlights, fetchSlice, requestsFor, type FetchSliceDeps } from '../../src/volunteer/chunk-fetcher';
import type { DatasetCache } from '../../src/volunteer/store/dataset-cache';
import { MemoryDatasetCache } from '../../src/volunteer/store/memory-dataset-cache';
import { seededRandom } from '../../src/work/seeded';
import { expectBytes, randomBytes } from '../helpers/volunteer-store-conformance';

const CHUNK = DATASET_CHUNK_BYTES;
let hash: Hasher;
/** 4 chunks, the last odd. */
let small: Dataset;
/** 19 chunks, the last odd: more than two requests' worth. */
let big: Dataset;
/** Another dataset of small's length, for paths of another root. */
let other: Dataset;

beforeAll(async () => {
  hash = await createCpuSha256();
  small = buildDataset(randomBytes(1, 3 * CHUNK + 12_345), hash);
  big = buildDataset(randomBytes(2, 18 * CHUNK + 777), hash);
  other = buildDataset(randomBytes(3, 3 * CHUNK + 12_345), hash);
});

const sliceOf = (d: Dataset, offset: number, length: number): DatasetSlice => ({ root: d.root, bytes: d.data.length, offset, length });
const whole = (d: Dataset) => sliceOf(d, 0, d.data.length);

/** What a server does to one honest chunk on one request: the chunks it sends in its place. */
type Fault = (chunk: ServedChunk, ctx: { first: number; count: number }) => ServedChunk[];

const flip = (data: Uint8Array, at: number) => {
  const copy = data.slice();
  copy[at] = copy[at]! ^ 0x01;
  return copy;
};

/** Every way a hostile relay or a buggy host answers that the chunk proof must catch. */
const FAULTS: Record<string, Fault> = {
  'a corrupted byte': (c) => [{ ...c, data: flip(c.data, c.data.length >> 1) }],
  'a corrupted last byte': (c) => [{ ...c, data: flip(c.data, c.data.length - 1) }],
  'another chunk under its index': (c) => [{ ...serveChunk(small, (c.index + 1) % 4), index: c.index }],
  'its index outside the request': (c, { first, count }) => [{ ...c, index: first + count }],
  'a negative index': (c) => [{ ...c, index: -1 }],
  'a short chunk': (c) => [{ ...c, data: c.data.subarray(0, c.data.length - 1) }],
  'a long chunk': (c) => {
    const data = new Uint8Array(c.data.length + 1);
    data.set(c.data);
    return [{ ...c, data }];
  },
  'the same place in another dataset': (c) => [{ ...serveChunk(other, c.index % 4), index: c.index }],
  'its bytes with a path of another root': (c) => [{ ...c, path: serveChunk(other, c.index % 4).path }],
  'an empty path': (c) => [{ ...c, path: [] }],
  'a path that is not hex': (c) => [{ ...c, path: c.path.map(() => 'zz'.repeat(32)) }],
  nothing: () => [],
};

interface Server {
  readonly fetch: FetchSliceDeps['fetch'];
  /** Every request as [first, count]. */
  readonly requests: [number, number][];
}

/** Serves `dataset`, applying `fault(chunk, request number)` (when it gives one) to each chunk. */
function server(dataset: Dataset, fault?: (index: number, request: number) => Fault | undefined): Server {
  const requests: [number, number][] = [];
  return {
    requests,
    async fetch(root, first, count) {
      expect(root).toBe(dataset.root);
      expect(count).toBeGreaterThanOrEqual(1);
      expect(count).toBeLessThanOrEqual(MAX_CHUNKS_PER_REQUEST);
      const n = requests.push([first, count]) - 1;
      const out: ServedChunk[] = [];
      for (let i = first; i < first + count; i++) {
        const honest = serveChunk(dataset, i);
        const f = fault?.(i, n);
        out.push(...(f ? f(honest, { first, count }) : [honest]));
      }
      return out;
    },
  };
}

/** The requests made for chunk `index`. */
const asksFor = (s: Server, index: number) => s.requests.filter(([first, count]) => index >= first && index < first + count).length;

/** Every chunk the cache holds of `d` is d's own. */
async function expectOnlyHonest(cache: DatasetCache, d: Dataset): Promise<number> {
  let held = 0;
  for (let i = 0; i * CHUNK < d.data.length; i++) {
    const got = await cache.get(d.root, i);
    if (got) {
      held++;
      expectBytes(got, chunkOf(d.data, i), `cached chunk ${i}`);
    }
  }
  return held;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'the fetch should have failed').toBeInstanceOf(Error);
  return err as Error;
}

describe('fetchSlice', () => {
  it('gathers a slice across chunks from an honest server, in requests of at most 8 chunks, and caches every chunk', async () => {
    const cache = new MemoryDatasetCache();
    const s = server(big);
    const slice = sliceOf(big, CHUNK - 5, 17 * CHUNK + 100);
    let fetched = 0;
    const out = await fetchSlice(slice, { fetch: s.fetch, cache, hash, onBytes: (f, c) => ((fetched += f), expect(c).toBe(0)) });
    expectBytes(out, big.data.subarray(slice.offset, slice.offset + slice.length));
    // Chunks 0 … 18 are read: 19 chunks, in 3 requests.
    expect(s.requests).toEqual([
      [0, 8],
      [8, 8],
      [16, 3],
    ]);
    expect(fetched).toBe(big.data.length);
    expect(await cache.usage()).toEqual({ bytes: big.data.length, datasets: 1, chunks: 19 });
  });

  it('does not fetch a cached chunk again', async () => {
    const cache = new MemoryDatasetCache();
    const s = server(small);
    await fetchSlice(sliceOf(small, 10, CHUNK), { fetch: s.fetch, cache, hash });
    expect(s.requests).toEqual([[0, 2]]);
    // Chunks 1 … 3: only 2 and 3 are asked for.
    let fromCache = 0;
    let fetched = 0;
    const slice = sliceOf(small, CHUNK + 1, small.data.length - CHUNK - 1);
    const out = await fetchSlice(slice, { fetch: s.fetch, cache, hash, onBytes: (f, c) => ((fetched += f), (fromCache += c)) });
    expectBytes(out, small.data.subarray(CHUNK + 1));
    expect(s.requests).toEqual([
      [0, 2],
      [2, 2],
    ]);
    expect(fromCache).toBe(CHUNK);
    expect(fetched).toBe(small.data.length - 2 * CHUNK);
    // All cached now: no request at all.
    expectBytes(await fetchSlice(whole(small), { fetch: s.fetch, cache, hash }), small.data);
    expect(s.requests.length).toBe(2);
    // Holes are asked for as separate runs.
    expect(requestsFor([0, 1, 3, 4, 5, 9])).toEqual([
      { first: 0, count: 2 },
      { first: 3, count: 3 },
      { first: 9, count: 1 },
    ]);
  });

  it('returns an empty slice without asking anyone, and refuses a slice outside its dataset', async () => {
    const cache = new MemoryDatasetCache();
    const s = server(small);
    expect((await fetchSlice(sliceOf(small, 100, 0), { fetch: s.fetch, cache, hash })).length).toBe(0);
    expect(s.requests).toEqual([]);
    for (const slice of [
      sliceOf(small, small.data.length - 1, 2),
      sliceOf(small, -1, 1),
      { ...whole(small), root: small.root.toUpperCase() },
      { ...whole(small), bytes: 0 },
    ]) {
      const err = await failure(fetchSlice(slice, { fetch: s.fetch, cache, hash }));
      expect(isTabgridError(err, 'bad-input'), String(err)).toBe(true);
    }
    expect(s.requests).toEqual([]);
  });

  for (const [name, fault] of Object.entries(FAULTS)) {
    it(`refuses ${name}, never caches it, and refetches it`, async () => {
      const cache = new MemoryDatasetCache();
      // Chunk 2 is served wrong on the first two requests for it, right on the third.
      let seen = 0;
      const s = server(small, (i) => (i === 2 && seen++ < 2 ? fault : undefined));
      const refused: [number, string][] = [];
      const slice = sliceOf(small, 7, small.data.length - 9);
      const out = await fetchSlice(slice, { fetch: s.fetch, cache, hash, onRefused: (i, why) => refused.push([i, why]) });
      expectBytes(out, small.data.subarray(7, small.data.length - 2));
      expect(asksFor(s, 2)).toBe(3);
      // Only the refused chunk was asked for again.
      expect(asksFor(s, 1)).toBe(1);
      if (name !== 'nothing') expect(refused.length).toBeGreaterThanOrEqual(2);
      expect(await expectOnlyHonest(cache, small)).toBe(4);
    });

    it(`fails naming the dataset and chunk when ${name} comes every time`, async () => {
      const cache = new MemoryDatasetCache();
      const s = server(small, (i) => (i === 1 ? fault : undefined));
      const err = await failure(fetchSlice(whole(small), { fetch: s.fetch, cache, hash, maxAttempts: 4 }));
      expect(isTabgridError(err, 'bad-message'), String(err)).toBe(true);
      expect(err.message).toContain(`dataset ${small.root}: chunk 1 `);
      expect(asksFor(s, 1)).toBe(4);
      // The good chunks were kept; the bad one never.
      expect(await cache.get(small.root, 1)).toBeUndefined();
      expect(await expectOnlyHonest(cache, small)).toBe(3);
    });
  }

  it('refuses two chunks swapped in one answer, and extra or repeated chunks', async () => {
    const cache = new MemoryDatasetCache();
    let first = true;
    const s: Server = {
      requests: [],
      async fetch(_root, from, count) {
        s.requests.push([from, count]);
        const honest = Array.from({ length: count }, (_, i) => serveChunk(small, from + i));
        if (!first) return [...honest, honest[0]!];
        first = false;
        // Chunks 0 and 1 swapped (each under the other's index), then junk.
        return [{ ...honest[1]!, index: 0 }, { ...honest[0]!, index: 1 }, ...honest.slice(2), serveChunk(small, 3), { ...serveChunk(small, 3), index: 9 }];
      },
    };
    const refused: number[] = [];
    const out = await fetchSlice(sliceOf(small, 0, 2 * CHUNK + 1), { fetch: s.fetch, cache, hash, onRefused: (i) => refused.push(i) });
    expectBytes(out, small.data.subarray(0, 2 * CHUNK + 1));
    expect(s.requests).toEqual([
      [0, 3],
      [0, 2],
    ]);
    expect(refused).toEqual([0, 1, 3, 9]);
    expect(await expectOnlyHonest(cache, small)).toBe(3);
  });

  it('gives the honest slice or fails, never else, against a randomly hostile server', async () => {
    const random = seededRandom(77);
    const faults = Object.values(FAULTS);
    const cache = new MemoryDatasetCache({ budgetBytes: 6 * CHUNK });
    let failed = 0;
    for (let round = 0; round < 40; round++) {
      const d = round % 2 === 0 ? small : big;
      const offset = Math.floor(random() * d.data.length);
      const length = Math.floor(random() * (d.data.length - offset + 1));
      const rate = random() * 0.6;
      const s = server(d, () => (random() < rate ? faults[Math.floor(random() * faults.length)] : undefined));
      const slice = sliceOf(d, offset, length);
      try {
        expectBytes(await fetchSlice(slice, { fetch: s.fetch, cache, hash, maxAttempts: 2 }), d.data.subarray(offset, offset + length), `round ${round}`);
      } catch (err) {
        expect(isTabgridError(err, 'bad-message'), String(err)).toBe(true);
        failed++;
      }
      await expectOnlyHonest(cache, small);
      await expectOnlyHonest(cache, big);
      expect((await cache.usage()).bytes).toBeLessThanOrEqual(6 * CHUNK);
    }
    // Both outcomes happened, so both were checked.
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(40);
  });

  it('keeps within the cache budget and still answers a slice larger than it', async () => {
    const cache = new MemoryDatasetCache({ budgetBytes: 5 * CHUNK });
    const s = server(big);
    expectBytes(await fetchSlice(whole(big), { fetch: s.fetch, cache, hash }), big.data);
    expect((await cache.usage()).bytes).toBe(5 * CHUNK);
    // A smaller dataset evicts big whole, as it is the least recently used other.
    expectBytes(await fetchSlice(whole(small), { fetch: server(small).fetch, cache, hash }), small.data);
    expect(await cache.roots()).toEqual([small.root]);
    // keep: false leaves the cache alone.
    const spare = new MemoryDatasetCache();
    await fetchSlice(whole(small), { fetch: server(small).fetch, cache: spare, hash, keep: false });
    expect((await spare.usage()).chunks).toBe(0);
  });

  it('uses the bytes when the cache fails, and says so', async () => {
    const errors: unknown[] = [];
    const broken: DatasetCache = {
      get: () => Promise.reject(new Error('read failed')),
      put: () => Promise.reject(new Error('disk full')),
      proof: () => Promise.reject(new Error('read failed')),
      provable: () => Promise.reject(new Error('read failed')),
      roots: async () => [],
      usage: async () => ({ bytes: 0, datasets: 0, chunks: 0 }),
      clear: async () => undefined,
      close: () => undefined,
    };
    expectBytes(await fetchSlice(whole(small), { fetch: server(small).fetch, cache: broken, hash, onCacheError: (e) => errors.push(e) }), small.data);
    expect(errors.length).toBe(8);
    // A cached chunk of the wrong length is a miss: fetched again, not used.
    const damaged: DatasetCache = { ...broken, get: async (_root, i) => (i === 0 ? new Uint8Array(5) : undefined), put: async () => true };
    const s = server(small);
    expectBytes(await fetchSlice(sliceOf(small, 0, 10), { fetch: s.fetch, cache: damaged, hash }), small.data.subarray(0, 10));
    expect(s.requests).toEqual([[0, 1]]);
  });

  it('passes on a transport failure as it came', async () => {
    const cache = new MemoryDatasetCache();
    const err = await failure(
      fetchSlice(whole(small), {
        fetch: () => Promise.reject(new Error('link lost')),
        cache,
        hash,
      }),
    );
    expect(err.message).toBe('link lost');
  });

  it('stops promptly when aborted, even if the transport does not', async () => {
    const cache = new MemoryDatasetCache();
    const controller = new AbortController();
    let signals: AbortSignal[] = [];
    const hanging: FetchSliceDeps['fetch'] = (_root, _first, _count, signal) => {
      signals.push(signal);
      return new Promise(() => undefined);
    };
    const fetching = fetchSlice(whole(big), { fetch: hanging, cache, hash, signal: controller.signal, parallel: 3 });
    await new Promise((r) => setTimeout(r, 20));
    expect(signals.length).toBe(3);
    controller.abort();
    const err = await failure(fetching);
    expect(isTabgridError(err, 'aborted'), String(err)).toBe(true);
    // The requests in flight were told.
    expect(signals.every((s) => s.aborted)).toBe(true);
    // Already aborted: nothing is asked.
    signals = [];
    const again = await failure(fetchSlice(whole(small), { fetch: hanging, cache, hash, signal: controller.signal }));
    expect(isTabgridError(again, 'aborted')).toBe(true);
    expect(signals).toEqual([]);
  });

  it('fetches a chunk once when two units read it at once', async () => {
    const flights = new ChunkFlights();
    const cache = new MemoryDatasetCache();
    const s = server(big);
    // Two units' slices of one B: chunks 0 … 9 and 5 … 18, fetched together.
    const one = sliceOf(big, 0, 10 * CHUNK);
    const two = sliceOf(big, 5 * CHUNK + 3, big.data.length - 5 * CHUNK - 3);
    let shared = 0;
    const [a, b] = await Promise.all([
      fetchSlice(one, { fetch: s.fetch, cache, hash, flights }),
      fetchSlice(two, { fetch: s.fetch, cache, hash, flights, onBytes: (_f, c) => (shared += c) }),
    ]);
    expectBytes(a, big.data.subarray(0, 10 * CHUNK));
    expectBytes(b, big.data.subarray(5 * CHUNK + 3));
    for (let i = 0; i < 19; i++) expect(asksFor(s, i), `requests for chunk ${i}`).toBe(1);
    expect(shared).toBe(5 * CHUNK);
    expect(flights.size).toBe(0);
  });

  it('fetches a chunk itself when the fetch it waited on fails or is aborted', async () => {
    for (const how of ['fails', 'aborted'] as const) {
      const flights = new ChunkFlights();
      const cache = new MemoryDatasetCache();
      const controller = new AbortController();
      const honest = server(small);
      // The first fetch's server corrupts chunk 1 (and is slow), or the first fetch is aborted.
      const hostile: FetchSliceDeps['fetch'] = async (root, first, count, signal) => {
        await new Promise((r) => setTimeout(r, 10));
        if (how === 'aborted') controller.abort();
        return server(small, (i) => (i === 1 ? FAULTS['a corrupted byte'] : undefined)).fetch(root, first, count, signal);
      };
      const first = fetchSlice(whole(small), { fetch: hostile, cache, hash, flights, maxAttempts: 1, signal: controller.signal });
      const second = fetchSlice(whole(small), { fetch: honest.fetch, cache, hash, flights });
      const err = await failure(first);
      expect(isTabgridError(err, how === 'fails' ? 'bad-message' : 'aborted'), String(err)).toBe(true);
      expectBytes(await second, small.data);
      // The second asked only for what the first did not deliver.
      if (how === 'fails') expect(honest.requests).toEqual([[1, 1]]);
      expect(asksFor(honest, 1)).toBe(1);
      expect(await expectOnlyHonest(cache, small)).toBe(4);
      expect(flights.size).toBe(0);
    }
  });
});
