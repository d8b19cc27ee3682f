/**
 * What every DatasetCache must do, as vitest tests: the memory cache (Node) and the IndexedDB
 * cache (browser) are held to one contract. `open` gives a new empty cache with the options;
 * `reopen` closes the cache it is given and opens the same storage again with the options
 * (omit it for memory).
 */
import { describe, expect, it } from 'vitest';
import { DATASET_CHUNK_BYTES } from '../../src/data/dataset';
import { isTabgridError } from '../../src/errors';
import type { DatasetCache, DatasetCacheOptions, StorageQuota } from '../../src/volunteer/store/dataset-cache';
import { seededRandom } from '../../src/work/seeded';
import { expectBytes } from './volunteer-store-conformance';

/** A dataset root: 64 hex digits from a letter. */
export const root = (c: string) => c.repeat(64);
const [A, B, C, D] = ['a', 'b', 'c', 'd'].map(root) as [string, string, string, string];

/** `n` bytes, different for each (seed). */
export function bytes(seed: number, n: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
}

async function rejects(promise: Promise<unknown>, code: 'storage' | 'bad-input'): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isTabgridError(err, code), String(err)).toBe(true);
}

export function describeDatasetCache(
  name: string,
  open: (options?: DatasetCacheOptions) => Promise<DatasetCache>,
  reopen?: (cache: DatasetCache, options?: DatasetCacheOptions) => Promise<DatasetCache>,
): void {
  /** Runs `f` on a fresh cache and closes whichever cache it ends with. */
  const withCache = (f: (cache: DatasetCache) => Promise<DatasetCache | void>, options?: DatasetCacheOptions) => async () => {
    const cache = await open(options);
    let last: DatasetCache = cache;
    try {
      last = (await f(cache)) ?? cache;
    } finally {
      last.close();
    }
  };

  describe(`${name} (DatasetCache conformance)`, () => {
    it(
      'keeps a chunk and gives copies back',
      withCache(async (cache) => {
        expect(await cache.get(A, 0)).toBeUndefined();
        const data = bytes(1, 1000);
        // A view into a bigger buffer, as a data message's body is.
        const message = new Uint8Array(3000);
        message.set(data, 500);
        expect(await cache.put(A, 0, message.subarray(500, 1500))).toBe(true);
        message.fill(0);
        const got = await cache.get(A, 0);
        expectBytes(got, data);
        got!.fill(7);
        expectBytes(await cache.get(A, 0), data);
        expect(await cache.get(A, 1)).toBeUndefined();
        expect(await cache.get(B, 0)).toBeUndefined();
        expect(await cache.usage()).toEqual({ bytes: 1000, datasets: 1, chunks: 1 });
      }),
    );

    it(
      'puts idempotently',
      withCache(async (cache) => {
        const data = bytes(2, 700);
        expect(await cache.put(A, 3, data)).toBe(true);
        expect(await cache.put(A, 3, data)).toBe(true);
        expect(await cache.put(A, 3, data)).toBe(true);
        expect(await cache.usage()).toEqual({ bytes: 700, datasets: 1, chunks: 1 });
        expectBytes(await cache.get(A, 3), data);
      }),
    );

    it(
      'lists datasets most recently used first; a hit (not a miss) makes one the most recent',
      withCache(async (cache) => {
        await cache.put(A, 0, bytes(3, 10));
        await cache.put(B, 0, bytes(4, 10));
        await cache.put(C, 0, bytes(5, 10));
        expect(await cache.roots()).toEqual([C, B, A]);
        await cache.get(A, 0);
        expect(await cache.roots()).toEqual([A, C, B]);
        expect(await cache.get(B, 1)).toBeUndefined();
        expect(await cache.roots()).toEqual([A, C, B]);
        await cache.put(B, 1, bytes(6, 10));
        expect(await cache.roots()).toEqual([B, A, C]);
        // Putting a chunk already held is a use too.
        await cache.put(C, 0, bytes(5, 10));
        expect(await cache.roots()).toEqual([C, B, A]);
        expect(await cache.usage()).toEqual({ bytes: 40, datasets: 3, chunks: 4 });
      }),
    );

    it(
      'evicts whole datasets, least recently used first',
      withCache(
        async (cache) => {
          await cache.put(A, 0, bytes(10, 1000));
          await cache.put(B, 0, bytes(11, 500));
          await cache.put(B, 1, bytes(12, 500));
          await cache.put(C, 0, bytes(13, 1000));
          await cache.get(A, 0);
          // Full (3000): D's chunk evicts B, the least recently used, both its chunks.
          expect(await cache.put(D, 0, bytes(14, 1000))).toBe(true);
          expect(await cache.roots()).toEqual([D, A, C]);
          expect(await cache.get(B, 0)).toBeUndefined();
          expect(await cache.get(B, 1)).toBeUndefined();
          expect(await cache.usage()).toEqual({ bytes: 3000, datasets: 3, chunks: 3 });
          // Now C is the least recent (A and D were used since).
          expect(await cache.put(A, 1, bytes(15, 10))).toBe(true);
          expect(await cache.roots()).toEqual([A, D]);
          expect(await cache.usage()).toEqual({ bytes: 2010, datasets: 2, chunks: 3 });
          expectBytes(await cache.get(A, 1), bytes(15, 10));
          expectBytes(await cache.get(D, 0), bytes(14, 1000));
        },
        { budgetBytes: 3000 },
      ),
    );

    it(
      'never evicts the dataset a put belongs to: a chunk that cannot fit otherwise is not kept',
      withCache(
        async (cache) => {
          await cache.put(A, 0, bytes(20, 1000));
          await cache.put(A, 1, bytes(21, 1000));
          await cache.put(B, 0, bytes(22, 500));
          // A's third chunk fits once B is gone.
          expect(await cache.put(A, 2, bytes(23, 500))).toBe(true);
          expect(await cache.roots()).toEqual([A]);
          // A's fourth cannot fit without evicting A itself: nothing changes.
          expect(await cache.put(A, 3, bytes(24, 10))).toBe(false);
          expect(await cache.get(A, 3)).toBeUndefined();
          expect(await cache.usage()).toEqual({ bytes: 2500, datasets: 1, chunks: 3 });
          // A chunk bigger than the whole budget evicts nothing.
          await cache.clear();
          await cache.put(C, 0, bytes(25, 100));
          expect(await cache.put(D, 0, bytes(26, 2600))).toBe(false);
          expect(await cache.roots()).toEqual([C]);
        },
        { budgetBytes: 2500 },
      ),
    );

    it(
      'holds at most maxDatasets datasets',
      withCache(
        async (cache) => {
          await cache.put(A, 0, bytes(30, 10));
          await cache.put(B, 0, bytes(31, 10));
          await cache.get(A, 0);
          await cache.put(C, 0, bytes(32, 10));
          expect(await cache.roots()).toEqual([C, A]);
          // More chunks of a held dataset need no new place.
          await cache.put(A, 1, bytes(33, 10));
          expect(await cache.roots()).toEqual([A, C]);
        },
        { maxDatasets: 2 },
      ),
    );

    it(
      'never exceeds its budget after a put, and keeps what each put says it kept',
      withCache(
        async (cache) => {
          const random = seededRandom(40);
          const roots = [A, B, C, D];
          for (let n = 0; n < 60; n++) {
            const r = roots[Math.floor(random() * roots.length)]!;
            const index = Math.floor(random() * 6);
            const data = bytes(1000 + n, 1 + Math.floor(random() * 1500));
            const kept = await cache.put(r, index, data);
            const usage = await cache.usage();
            expect(usage.bytes).toBeLessThanOrEqual(4000);
            expect(usage.datasets).toBeLessThanOrEqual(3);
            // A chunk kept, or already held: either way the place holds a chunk now.
            if (kept) expect(await cache.get(r, index)).toBeInstanceOf(Uint8Array);
          }
        },
        { budgetBytes: 4000, maxDatasets: 3 },
      ),
    );

    it('keeps below a fraction of the quota the rest of the site leaves it', async () => {
      // The site's other data uses `others`; the browser's usage counts the cache's bytes too.
      let others = 4000;
      let failing = false;
      let held = 0;
      const estimate = async (): Promise<StorageQuota> => {
        if (failing) throw new Error('no estimate today');
        return { usage: others + held, quota: 10_000 };
      };
      const cache = await open({ quotaFraction: 0.5, budgetBytes: 100_000, estimate });
      try {
        for (let i = 0; i < 5; i++) {
          await cache.put([A, B, C, D, root('e')][i]!, 0, bytes(50 + i, 1000));
          held = (await cache.usage()).bytes;
          // 0.5 × (10 000 − 4000).
          expect(held).toBeLessThanOrEqual(3000);
        }
        expect(held).toBe(3000);
        // The rest of the site grows: the next put evicts down to the new limit, 0.5 × 2000.
        others = 8000;
        expect(await cache.put(A, 1, bytes(60, 500))).toBe(true);
        held = (await cache.usage()).bytes;
        expect(held).toBe(500);
        expect(await cache.roots()).toEqual([A]);
        // Without an estimate only the budget counts.
        failing = true;
        expect(await cache.put(B, 0, bytes(61, 5000))).toBe(true);
        expect((await cache.usage()).bytes).toBe(5500);
      } finally {
        cache.close();
      }
    });

    it(
      'clears',
      withCache(async (cache) => {
        await cache.put(A, 0, bytes(70, 100));
        await cache.put(B, 2, bytes(71, 100));
        await cache.clear();
        expect(await cache.usage()).toEqual({ bytes: 0, datasets: 0, chunks: 0 });
        expect(await cache.roots()).toEqual([]);
        expect(await cache.get(A, 0)).toBeUndefined();
        expect(await cache.put(A, 0, bytes(70, 100))).toBe(true);
      }),
    );

    it(
      'refuses a chunk of no bytes or more than a chunk, or at no place',
      withCache(async (cache) => {
        await rejects(cache.put(A, 0, new Uint8Array(0)), 'bad-input');
        await rejects(cache.put(A, 0, new Uint8Array(DATASET_CHUNK_BYTES + 1)), 'bad-input');
        await rejects(cache.put(A, -1, new Uint8Array(1)), 'bad-input');
        await rejects(cache.put(A, 0.5, new Uint8Array(1)), 'bad-input');
        expect(await cache.put(A, 0, new Uint8Array(DATASET_CHUNK_BYTES))).toBe(true);
        expect(await cache.usage()).toEqual({ bytes: DATASET_CHUNK_BYTES, datasets: 1, chunks: 1 });
      }),
    );

    it(
      'keeps the audit path a chunk verified with, adds one to a chunk held without, forgets it with the dataset',
      withCache(
        async (cache) => {
          const path = (c: string, n: number) => Array.from({ length: n }, (_, i) => (c + i.toString(16)).repeat(64).slice(0, 64));
          const proofA0 = { bytes: 3 * DATASET_CHUNK_BYTES, path: path('1', 2) };
          expect(await cache.put(A, 0, bytes(60, 500), proofA0)).toBe(true);
          expect(await cache.put(A, 2, bytes(61, 500))).toBe(true);
          expect(await cache.proof(A, 0)).toEqual(proofA0);
          expect(await cache.proof(A, 2)).toBeUndefined();
          expect(await cache.proof(B, 0)).toBeUndefined();
          expect(await cache.provable(A)).toEqual([0]);
          // Held without a path: a later put with one makes it provable (its bytes unchanged).
          const proofA2 = { bytes: 3 * DATASET_CHUNK_BYTES, path: path('2', 2) };
          expect(await cache.put(A, 2, bytes(61, 500), proofA2)).toBe(true);
          expect(await cache.provable(A)).toEqual([0, 2]);
          expect(await cache.proof(A, 2)).toEqual(proofA2);
          expect((await cache.usage()).chunks).toBe(2);
          // A path that is no path is refused, and nothing of that put is kept.
          for (const bad of [
            { bytes: 3 * DATASET_CHUNK_BYTES, path: ['xyz'] },
            { bytes: 100, path: path('3', 1) },
            { bytes: 3 * DATASET_CHUNK_BYTES, path: path('4', 33) },
          ])
            await rejects(cache.put(A, 1, bytes(62, 10), bad), 'bad-input');
          expect(await cache.get(A, 1)).toBeUndefined();
          // Evicting the dataset evicts its paths: budget for one dataset only.
          expect(await cache.put(B, 0, bytes(63, 900), { bytes: 900, path: [] })).toBe(true);
          expect(await cache.provable(A)).toEqual([]);
          expect(await cache.proof(A, 0)).toBeUndefined();
          expect(await cache.provable(B)).toEqual([0]);
          await cache.clear();
          expect(await cache.provable(B)).toEqual([]);
          if (!reopen) return;
          await cache.put(C, 1, bytes(64, 700), { bytes: 2 * DATASET_CHUNK_BYTES, path: path('5', 1) });
          // Paths survive a reload: what a reloaded page serves.
          const again = await reopen(cache, { budgetBytes: 1000 });
          expect(await again.provable(C)).toEqual([1]);
          expect(await again.proof(C, 1)).toEqual({ bytes: 2 * DATASET_CHUNK_BYTES, path: path('5', 1) });
          return again;
        },
        { budgetBytes: 1000 },
      ),
    );

    it('refuses calls once closed', async () => {
      const cache = await open();
      cache.close();
      cache.close();
      await rejects(cache.get(A, 0), 'storage');
      await rejects(cache.put(A, 0, bytes(80, 10)), 'storage');
      await rejects(cache.roots(), 'storage');
      await rejects(cache.usage(), 'storage');
      await rejects(cache.clear(), 'storage');
    });

    if (reopen) {
      it(
        'keeps chunks and recency across a close and reopen',
        withCache(
          async (cache) => {
            const a = bytes(90, DATASET_CHUNK_BYTES);
            await cache.put(A, 0, a);
            await cache.put(A, 1, bytes(91, 333));
            await cache.put(B, 0, bytes(92, 1000));
            await cache.put(C, 0, bytes(93, 1000));
            await cache.get(A, 1);
            const again = await reopen(cache, { budgetBytes: DATASET_CHUNK_BYTES + 2333 });
            expectBytes(await again.get(A, 0), a);
            expectBytes(await again.get(B, 0), bytes(92, 1000));
            expect(await again.roots()).toEqual([B, A, C]);
            expect(await again.usage()).toEqual({ bytes: DATASET_CHUNK_BYTES + 2333, datasets: 3, chunks: 4 });
            // The recency read back drives eviction: C is the least recently used.
            expect(await again.put(D, 0, bytes(94, 10))).toBe(true);
            expect(await again.roots()).toEqual([D, B, A]);
            const third = await reopen(again, { budgetBytes: DATASET_CHUNK_BYTES + 2333 });
            expect(await third.roots()).toEqual([D, B, A]);
            expect(await third.get(C, 0)).toBeUndefined();
            return third;
          },
          { budgetBytes: DATASET_CHUNK_BYTES + 2333 },
        ),
      );
    }
  });
}
