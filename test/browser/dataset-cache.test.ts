import { deleteDB, openDB } from 'idb';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { IdbDatasetCache, openDatasetCache } from '../../src/volunteer/store/idb-dataset-cache';
import { openVolunteerStore } from '../../src/volunteer/store/idb-volunteer-store';
import { UPGRADES, VOLUNTEER_SCHEMA_VERSION, type VolunteerDb } from '../../src/volunteer/store/schema';
import { bytes, describeDatasetCache, root } from '../helpers/dataset-cache-conformance';
import { expectBytes, shaUnit } from '../helpers/volunteer-store-conformance';

// Unique names, so tests (and reruns in one browser profile) never share a database.
const names: string[] = [];
const freshName = () => {
  const name = `tabgrid-volunteer-test-${crypto.randomUUID()}`;
  names.push(name);
  return name;
};
afterAll(async () => {
  for (const name of names) await deleteDB(name);
});

describeDatasetCache(
  'IdbDatasetCache',
  (options) => openDatasetCache({ ...options, name: freshName() }),
  async (cache, options) => {
    cache.close();
    return openDatasetCache({ ...options, name: (cache as IdbDatasetCache).name });
  },
);

/** Makes put() on the dataset-chunks store fail as a full disk would on the calls `fail` picks (counted from 1). */
function quotaOnPut(fail: (n: number) => boolean): { count: () => number } {
  const put = IDBObjectStore.prototype.put;
  let n = 0;
  vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
    if (this.name === 'dataset-chunks' && fail(++n)) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    return put.apply(this, args);
  });
  return { count: () => n };
}

const [A, B, C] = ['a', 'b', 'c'].map(root) as [string, string, string];

describe('IdbDatasetCache', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('shares the volunteer database with the volunteer store, each on its own connection', async () => {
    const name = freshName();
    const store = await openVolunteerStore({ name });
    const cache = await openDatasetCache({ name });
    await store.hold('h', shaUnit('j/0'));
    await cache.put(A, 0, bytes(1, 100));
    expect((await store.held('h')).length).toBe(1);
    expectBytes(await cache.get(A, 0), bytes(1, 100));
    store.close();
    // Closing one leaves the other working.
    expect(await cache.roots()).toEqual([A]);
    cache.close();
    const raw = await openDB(name);
    expect(raw.version).toBe(VOLUNTEER_SCHEMA_VERSION);
    raw.close();
  });

  it('migrates a version 4 database: its cached chunks stay (no paths, so not announced), and a later verified put adds the path', async () => {
    const name = freshName();
    // Version 4 exactly as its upgrades made it, with one cached chunk.
    const old = await openDB<VolunteerDb>(name, 4, {
      upgrade(db, _from, _to, tx) {
        for (const step of UPGRADES.slice(0, 4)) step(db, tx as never);
      },
    });
    await old.put('dataset-chunks', { root: A, index: 0, bytes: bytes(7, 100) });
    await old.put('datasets', { root: A, bytes: 100, chunks: 1, lastUsed: 1 });
    old.close();
    const cache = await openDatasetCache({ name });
    expectBytes(await cache.get(A, 0), bytes(7, 100));
    expect(await cache.provable(A)).toEqual([]);
    expect(await cache.put(A, 0, bytes(7, 100), { bytes: 100, path: [] })).toBe(true);
    expect(await cache.provable(A)).toEqual([0]);
    expect((await cache.usage()).chunks).toBe(1);
    cache.close();
  });

  it('on a full disk evicts the least recently used other dataset and retries once', async () => {
    const cache = await openDatasetCache({ name: freshName() });
    await cache.put(A, 0, bytes(2, 100));
    await cache.put(B, 0, bytes(3, 100));
    await cache.put(C, 0, bytes(4, 100));
    await cache.get(A, 0);
    const puts = quotaOnPut((n) => n === 1);
    expect(await cache.put(C, 1, bytes(5, 100))).toBe(true);
    expect(puts.count()).toBe(2);
    vi.restoreAllMocks();
    // B was the least recently used other than C.
    expect(await cache.roots()).toEqual([C, A]);
    expectBytes(await cache.get(C, 1), bytes(5, 100));
    cache.close();
  });

  it('says storage-full when the retry fails too, and loses nothing', async () => {
    const cache = await openDatasetCache({ name: freshName() });
    await cache.put(A, 0, bytes(6, 100));
    await cache.put(B, 0, bytes(7, 100));
    const puts = quotaOnPut(() => true);
    const err = await cache.put(B, 1, bytes(8, 100)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTabgridError(err, 'storage-full'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/chunk 1 of dataset bbbbbbbbbbbb… .*QuotaExceededError.*the other cached datasets are intact/);
    expect(puts.count()).toBe(2);
    vi.restoreAllMocks();
    // The retry's eviction of A was in its transaction, so it was undone with it.
    expect(await cache.roots()).toEqual([B, A]);
    expect(await cache.usage()).toEqual({ bytes: 200, datasets: 2, chunks: 2 });
    expectBytes(await cache.get(A, 0), bytes(6, 100));
    cache.close();
  });

  it('with no other dataset to evict, a full disk fails the put at once', async () => {
    const cache = await openDatasetCache({ name: freshName() });
    await cache.put(A, 0, bytes(9, 100));
    const puts = quotaOnPut(() => true);
    const err = await cache.put(A, 1, bytes(10, 100)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTabgridError(err, 'storage-full'), String(err)).toBe(true);
    expect(puts.count()).toBe(1);
    vi.restoreAllMocks();
    expect(await cache.usage()).toEqual({ bytes: 100, datasets: 1, chunks: 1 });
    cache.close();
  });

  it('asks the page for its storage estimate when none is given', async () => {
    const estimate = vi.spyOn(navigator.storage, 'estimate').mockResolvedValue({ usage: 1000, quota: 3000 });
    const cache = await openDatasetCache({ name: freshName(), quotaFraction: 0.1 });
    expect(estimate).not.toHaveBeenCalled();
    // 0.1 × (3000 − 1000) = 200 bytes.
    expect(await cache.put(A, 0, bytes(11, 150))).toBe(true);
    expect(await cache.put(B, 0, bytes(12, 150))).toBe(true);
    expect(await cache.roots()).toEqual([B]);
    expect(estimate).toHaveBeenCalledTimes(2);
    cache.close();
  });
});
