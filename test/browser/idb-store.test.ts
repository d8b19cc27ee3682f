import { deleteDB, openDB } from 'idb';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { IDB_SCHEMA_VERSION, IdbHostStore } from '../../src/host/store/idb-store';
import { describeHostStore, job, unit, volunteer } from '../helpers/store-conformance';

// Unique names, so tests (and reruns in one browser profile) never share a database.
const names: string[] = [];
const freshName = () => {
  const name = `tabgrid-test-${crypto.randomUUID()}`;
  names.push(name);
  return name;
};
afterAll(async () => {
  for (const name of names) await deleteDB(name);
});

describeHostStore(
  'IdbHostStore',
  () => IdbHostStore.open(freshName()),
  async (store) => {
    await store.close();
    return IdbHostStore.open((store as IdbHostStore).name);
  },
);

/** The rejection of `promise`, which must be a TabgridError 'storage'. */
async function storageError(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isTabgridError(err, 'storage'), String(err)).toBe(true);
  return err as Error;
}

describe('IdbHostStore', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('creates its stores at the current version', async () => {
    const name = freshName();
    await (await IdbHostStore.open(name)).close();
    const raw = await openDB(name);
    expect(raw.version).toBe(IDB_SCHEMA_VERSION);
    expect([...raw.objectStoreNames].sort()).toEqual([
      'datasetChunks',
      'datasets',
      'jobs',
      'keys',
      'outputs',
      'receipts',
      'teams',
      'trust',
      'units',
      'volunteers',
    ]);
    raw.close();
  });

  it('reports a quota error as storage and keeps what was committed before', async () => {
    const store = await IdbHostStore.open(freshName());
    const before = { jobs: [job('j', 1)], units: [unit('j', 0), unit('j', 1)], volunteers: [volunteer('v', 3)], receipts: [], trust: [], teams: [] };
    await store.commit(before);
    // The second put of the batch fails as a full disk would, after the first was accepted.
    const put = IDBObjectStore.prototype.put;
    let calls = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
      if (++calls === 2) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    });
    const err = await storageError(store.commit({ units: [unit('j', 0, { state: 'leased', holder: 'v' }), unit('j', 2)], volunteers: [volunteer('v', 99)] }));
    expect(err.message).toMatch(/QuotaExceededError/);
    expect(calls).toBe(2);
    vi.restoreAllMocks();
    expect(await store.load()).toEqual(before);
    await store.close();
    // And it is on disk, not only in this connection.
    const again = await IdbHostStore.open(store.name);
    expect(await again.load()).toEqual(before);
    await again.close();
  });

  it('steps aside when another tab upgrades the database, then refuses to write', async () => {
    const name = freshName();
    const store = await IdbHostStore.open(name);
    await store.commit({ units: [unit('j', 0)] });
    // Would stay blocked forever if the store kept its connection open.
    const newer = await openDB(name, IDB_SCHEMA_VERSION + 1, {
      blocked: () => {
        throw new Error('blocked by the old connection');
      },
    });
    newer.close();
    const err = await storageError(store.commit({ units: [unit('j', 1)] }));
    expect(err.message).toMatch(/another tab upgraded/);
    await storageError(store.load());
  });

  it('refuses a database left at a newer version', async () => {
    const name = freshName();
    (await openDB(name, IDB_SCHEMA_VERSION + 1)).close();
    const err = await storageError(IdbHostStore.open(name));
    expect(err.message).toMatch(/newer tabgrid/);
  });

  it('upgrades a version-3 database: what each verifying unit awaits, from `collecting` and the rest', async () => {
    const name = freshName();
    const root = 'ab'.repeat(32);
    // The stores versions 1–3 made, and unit records as a version-3 host wrote them.
    const old = await openDB(name, 3, {
      upgrade(db) {
        db.createObjectStore('jobs', { keyPath: 'id' });
        db.createObjectStore('units', { keyPath: 'unitId' });
        db.createObjectStore('volunteers', { keyPath: 'id' });
        db.createObjectStore('receipts', { keyPath: 'receiptId' });
        db.createObjectStore('trust', { keyPath: ['jobId', 'key'] });
        db.createObjectStore('keys');
        db.createObjectStore('outputs', { keyPath: ['unitId', 'root'] });
      },
    });
    const verifying = (i: number, over: Record<string, unknown>) => ({ ...unit('j', i, { state: 'verifying', holder: 'v', leaseDeadline: 9, root }), ...over });
    const before = [
      unit('j', 0, { state: 'leased', holder: 'v', leaseDeadline: 9 }),
      verifying(1, { challenge: [2, 5] }),
      verifying(2, {}),
      verifying(3, { collecting: 'verified' }),
      verifying(4, { collecting: 'trusted' }),
      { ...unit('j', 5, { state: 'verifying', votes: [{ key: 'a', root }] }) },
      unit('j', 6, { state: 'accepted', holder: 'v', root, acceptedAt: 3 }),
    ];
    for (const u of before) await old.put('units', u);
    old.close();
    const store = await IdbHostStore.open(name);
    expect((await store.load()).units).toEqual([
      before[0],
      { ...before[1], awaiting: 'openings' },
      { ...before[2], awaiting: 'rows-to-check' },
      { ...unit('j', 3, { state: 'verifying', holder: 'v', leaseDeadline: 9, root }), awaiting: 'rows-to-keep' },
      { ...unit('j', 4, { state: 'verifying', holder: 'v', leaseDeadline: 9, root }), awaiting: 'rows-trusted' },
      { ...before[5], awaiting: 'recompute' },
      before[6],
    ]);
    // Version 5's dataset stores are there, empty, and keep what is saved.
    expect(await store.datasetRoots()).toEqual([]);
    await store.saveDataset({ root, data: Uint8Array.of(9, 8, 7), createdAt: 1 });
    expect((await store.loadDataset(root))?.data).toEqual(Uint8Array.of(9, 8, 7));
    // Version 7's team store is there, empty; volunteers from before load without names.
    expect((await store.load()).teams).toEqual([]);
    await store.close();
    expect(IDB_SCHEMA_VERSION).toBe(7);
  });

  it('upgrades a version-5 database: its units are indexed by job, so deleting a job finds the units written before', async () => {
    const name = freshName();
    const old = await openDB(name, 5, {
      upgrade(db) {
        db.createObjectStore('jobs', { keyPath: 'id' });
        db.createObjectStore('units', { keyPath: 'unitId' });
        db.createObjectStore('volunteers', { keyPath: 'id' });
        db.createObjectStore('receipts', { keyPath: 'receiptId' });
        db.createObjectStore('trust', { keyPath: ['jobId', 'key'] });
        db.createObjectStore('keys');
        db.createObjectStore('outputs', { keyPath: ['unitId', 'root'] });
        db.createObjectStore('datasets', { keyPath: 'root' });
        db.createObjectStore('datasetChunks', { keyPath: ['root', 'index'] });
      },
    });
    for (const j of [job('a', 1), job('b', 2)]) await old.put('jobs', j);
    for (const u of [unit('a', 0), unit('a', 1), unit('b', 0)]) await old.put('units', u);
    await old.put('outputs', { unitId: 'a/0', root: 'aa', data: Uint8Array.of(1) });
    old.close();
    const store = await IdbHostStore.open(name);
    await store.commit({ deletedJobs: ['a'] });
    const after = await store.load();
    expect(after.jobs).toEqual([job('b', 2)]);
    expect(after.units).toEqual([unit('b', 0)]);
    expect(await store.output('a/0', 'aa')).toBeUndefined();
    await store.close();
  });

  it('reports a commit after close as storage', async () => {
    const store = await IdbHostStore.open(freshName());
    await store.close();
    await storageError(store.commit({ units: [unit('j', 0)] }));
    await storageError(store.hostIdentity());
  });

  it('gives two connections making the host key at once the same key, the first written', async () => {
    const name = freshName();
    const [a, b] = await Promise.all([IdbHostStore.open(name), IdbHostStore.open(name)]);
    const [ka, kb] = await Promise.all([a.hostIdentity(), b.hostIdentity()]);
    expect(kb.publicKey).toBe(ka.publicKey);
    await Promise.all([a.close(), b.close()]);
    const again = await IdbHostStore.open(name);
    expect((await again.hostIdentity()).publicKey).toBe(ka.publicKey);
    await again.close();
  });
});
