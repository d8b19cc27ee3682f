import { deleteDB, openDB } from 'idb';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Backend } from '../../src/protocol';
import { IdbVolunteerStore, openVolunteerStore } from '../../src/volunteer/store/idb-volunteer-store';
import { Persistence, requestPersistence } from '../../src/volunteer/store/persistence';
import { CHUNK_BYTES, VOLUNTEER_SCHEMA_VERSION } from '../../src/volunteer/store/schema';
import { HeldState } from '../../src/volunteer/store/volunteer-store';
import {
  checkpointInPieces,
  describeVolunteerStore,
  expectBytes,
  randomBytes,
  receipt,
  rejection,
  shaUnit,
  split,
} from '../helpers/volunteer-store-conformance';

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

describeVolunteerStore(
  'IdbVolunteerStore',
  () => openVolunteerStore({ name: freshName() }),
  async (store) => {
    store.close();
    return openVolunteerStore({ name: (store as IdbVolunteerStore).name });
  },
);

/** Resolves with the result of a raw IDBRequest (the open and version 1 layout are written without idb on purpose). */
const settled = <T>(request: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** A version 1 database as version 1 of the code laid it out, with one unit, receipts and a setting. */
async function createVersion1(name: string, data: Uint8Array): Promise<IDBDatabase> {
  const request = indexedDB.open(name, 1);
  request.onupgradeneeded = () => {
    const db = request.result;
    db.createObjectStore('units', { keyPath: ['hostId', 'unitId'] }).createIndex('by-order', ['hostId', 'seq']);
    db.createObjectStore('chunks', { keyPath: ['hostId', 'unitId', 'index'] });
    db.createObjectStore('receipts', { autoIncrement: true }).createIndex('by-id', 'receipt.receiptId', { unique: true });
    db.createObjectStore('settings');
  };
  const db = await settled(request);
  const tx = db.transaction(['units', 'chunks', 'receipts', 'settings'], 'readwrite');
  tx.objectStore('units').put({ hostId: 'A', unitId: 'j/0', seq: 0, unit: shaUnit('j/0'), state: 'computing', done: 40, bytes: data.length, updatedAt: 5 });
  for (let i = 0; i * CHUNK_BYTES < data.length; i++)
    tx.objectStore('chunks').put({ hostId: 'A', unitId: 'j/0', index: i, bytes: data.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES) });
  tx.objectStore('receipts').add({ hostId: 'A', receipt: receipt('r1', 'j/9') });
  tx.objectStore('receipts').add({ hostId: 'B', receipt: receipt('r2', 'k/0') });
  tx.objectStore('receipts').add({ hostId: 'A', receipt: receipt('r3', 'j/8') });
  tx.objectStore('settings').put({ paused: false }, 'prefs');
  await new Promise((resolve, reject) => ((tx.oncomplete = resolve), (tx.onerror = () => reject(tx.error))));
  return db;
}

/** Counts put() calls on the object store `name`, throwing `fail(n)`'s error on the n-th when it gives one. */
function spyPuts(name: string, fail: (n: number) => Error | undefined = () => undefined): { count: () => number } {
  const put = IDBObjectStore.prototype.put;
  let n = 0;
  vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
    if (this.name === name) {
      const err = fail(++n);
      if (err) throw err;
    }
    return put.apply(this, args);
  });
  return { count: () => n };
}

describe('IdbVolunteerStore', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('creates the current layout from nothing', async () => {
    const name = freshName();
    (await openVolunteerStore({ name })).close();
    const raw = await openDB(name);
    expect(raw.version).toBe(VOLUNTEER_SCHEMA_VERSION);
    expect([...raw.objectStoreNames].sort()).toEqual([
      'chunks',
      'dataset-chunks',
      'dataset-proofs',
      'datasets',
      'keys',
      'profile',
      'receipts',
      'settings',
      'tune',
      'units',
    ]);
    expect([...raw.transaction('datasets').store.indexNames]).toEqual(['by-use']);
    expect([...raw.transaction('receipts').store.indexNames].sort()).toEqual(['by-host', 'by-id']);
    raw.close();
  });

  it('migrates a version 1 database, keeping its units, chunks, receipts and settings', async () => {
    const name = freshName();
    const data = randomBytes(11, CHUNK_BYTES + 999);
    (await createVersion1(name, data)).close();
    const store = await openVolunteerStore({ name });
    const held = split(await store.held('A'));
    expect(held.meta).toEqual([{ hostId: 'A', unit: shaUnit('j/0'), state: HeldState.Computing, done: 40, updatedAt: 5 }]);
    expectBytes(held.data[0], data);
    // The by-host index, new in version 2, covers the receipts version 1 wrote.
    expect(await store.receipts('A')).toEqual([receipt('r1', 'j/9'), receipt('r3', 'j/8')]);
    expect(await store.receipts('B')).toEqual([receipt('r2', 'k/0')]);
    expect(await store.receipts()).toEqual([receipt('r1', 'j/9'), receipt('r2', 'k/0'), receipt('r3', 'j/8')]);
    expect(await store.getSetting('prefs')).toEqual({ paused: false });
    // The stores new in version 2 work, and the checkpoint chain continues.
    expect(await store.getKeyPair()).toBeUndefined();
    // The profile store, new in version 4: empty, then keeps a profile.
    expect(await store.getProfile()).toBeUndefined();
    await store.putProfile({ name: 'Ada', team: 'Lab A' });
    expect(await store.getProfile()).toEqual({ name: 'Ada', team: 'Lab A' });
    await store.setTune('t', { wgX: 8, wgY: 8, tm: 1, tn: 1, tileK: 8 });
    expect(await store.getTune('t')).toEqual({ wgX: 8, wgY: 8, tm: 1, tn: 1, tileK: 8 });
    await store.checkpoint('A', 'j/0', { done: 41, atBytes: data.length, append: new Uint8Array([1, 2]) });
    expect((await store.held('A'))[0]!.data.length).toBe(data.length + 2);
    store.close();
    const raw = await openDB(name);
    expect(raw.version).toBe(VOLUNTEER_SCHEMA_VERSION);
    raw.close();
  });

  it('reports a full quota as storage-full and keeps the previous checkpoint', async () => {
    const store = await openVolunteerStore({ name: freshName() });
    const data = randomBytes(12, 4 * CHUNK_BYTES);
    await store.hold('A', shaUnit('j/0'));
    const at = await checkpointInPieces(store, 'A', 'j/0', data, [CHUNK_BYTES + CHUNK_BYTES / 2]);
    const before = split(await store.held('A'));
    // The second chunk of the next checkpoint (puts 1, 2), and of a finish (puts 3, 4, 5), fails as a
    // full disk would, after the unit record and the first chunk were written.
    const puts = spyPuts('chunks', (n) => (n === 2 || n === 4 ? new DOMException('The quota has been exceeded.', 'QuotaExceededError') : undefined));
    const err = await rejection(
      store.checkpoint('A', 'j/0', { done: 3 * CHUNK_BYTES, atBytes: at, append: data.subarray(at, 3 * CHUNK_BYTES) }),
      'storage-full',
    );
    expect(err.message).toMatch(/QuotaExceededError/);
    await rejection(store.finish('A', 'j/0', { done: 4, data, root: 'aa', backend: Backend.Cpu }), 'storage-full');
    expect(puts.count()).toBe(4);
    vi.restoreAllMocks();
    const after = split(await store.held('A'));
    expect(after.meta).toEqual(before.meta);
    expectBytes(after.data[0], data.subarray(0, at));
    // On disk too, and the same checkpoint succeeds once there is room.
    store.close();
    const again = await openVolunteerStore({ name: (store as IdbVolunteerStore).name });
    expectBytes((await again.held('A'))[0]!.data, data.subarray(0, at));
    await again.checkpoint('A', 'j/0', { done: 3 * CHUNK_BYTES, atBytes: at, append: data.subarray(at, 3 * CHUNK_BYTES) });
    expectBytes((await again.held('A'))[0]!.data, data.subarray(0, 3 * CHUNK_BYTES));
    again.close();
  });

  it('finishes writing only the chunks past a checkpointed prefix', async () => {
    const store = await openVolunteerStore({ name: freshName() });
    const whole = randomBytes(13, 4 * CHUNK_BYTES + 7);
    await store.hold('A', shaUnit('j/0'));
    await checkpointInPieces(store, 'A', 'j/0', whole, [2 * CHUNK_BYTES + CHUNK_BYTES / 2]);
    let puts = spyPuts('chunks');
    await store.finish('A', 'j/0', { done: 64, data: whole, root: 'aa', backend: Backend.WebGpu });
    // Chunk 2 topped up, chunks 3 and 4 new; chunks 0 and 1 are not written again.
    expect(puts.count()).toBe(3);
    vi.restoreAllMocks();
    expectBytes((await store.held('A'))[0]!.data, whole);
    // Different from the first byte: every chunk is rewritten.
    const other = randomBytes(14, 2 * CHUNK_BYTES);
    puts = spyPuts('chunks');
    await store.finish('A', 'j/0', { done: 64, data: other, root: 'bb', backend: Backend.WebGpu });
    expect(puts.count()).toBe(2);
    vi.restoreAllMocks();
    expectBytes((await store.held('A'))[0]!.data, other);
    store.close();
  });

  it('fails the open with storage when an older connection in another tab will not close', async () => {
    const name = freshName();
    // A tab of version 1 code that ignores versionchange.
    const old = await createVersion1(name, new Uint8Array(10));
    const onBlocked = vi.fn();
    const err = await rejection(openVolunteerStore({ name, timeoutMs: 500, onBlocked }));
    expect(err.message).toMatch(/another tab keeps an older version/);
    expect(onBlocked).toHaveBeenCalled();
    // Once the old tab goes, the abandoned open completes the upgrade and lets others in.
    old.close();
    await new Promise((r) => setTimeout(r, 300));
    const raw = await openDB(name);
    expect(raw.version).toBe(VOLUNTEER_SCHEMA_VERSION);
    raw.close();
    let blocked = false;
    await deleteDB(name, { blocked: () => (blocked = true) });
    expect(blocked).toBe(false);
  });

  it('steps aside when another tab upgrades the database, then refuses calls', async () => {
    const name = freshName();
    const store = await openVolunteerStore({ name });
    await store.hold('A', shaUnit('j/0'));
    // Would stay blocked if the store kept its connection open.
    const newer = await openDB(name, VOLUNTEER_SCHEMA_VERSION + 1, {
      blocked: () => {
        throw new Error('blocked by the old connection');
      },
    });
    newer.close();
    expect((await rejection(store.held('A'))).message).toMatch(/another tab upgraded/);
    await rejection(store.hold('A', shaUnit('j/1')));
  });

  it('refuses a database left at a newer version', async () => {
    const name = freshName();
    (await openDB(name, VOLUNTEER_SCHEMA_VERSION + 1)).close();
    expect((await rejection(openVolunteerStore({ name }))).message).toMatch(/newer tabgrid/);
  });

  it('asks for persistent storage and says what it got', async () => {
    expect(Object.values(Persistence)).toContain(await requestPersistence());
    // Without the Storage API it reports unavailable rather than throwing.
    Object.defineProperty(navigator, 'storage', { value: undefined, configurable: true });
    try {
      expect(await requestPersistence()).toBe(Persistence.Unavailable);
    } finally {
      delete (navigator as { storage?: unknown }).storage;
    }
    expect(navigator.storage).toBeDefined();
  });
});
