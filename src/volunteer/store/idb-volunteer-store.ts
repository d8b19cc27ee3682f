/**
 * The VolunteerStore in IndexedDB (through `idb`), in a page or a worker. Every method is one
 * transaction, and every readwrite one asks for `durability: 'strict'`: Chromium's default
 * lets a transaction complete before its data reaches disk, and a checkpoint that a crash can
 * undo after the session has moved on would break the atBytes chain. Transactions are created
 * before the first await, so overlapping calls apply in call order. Layout: schema.ts.
 */
import { openDB, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { ErrorCode, TabgridError } from '../../errors';
import type { TileConfig } from '../../gpu/tune-cache';
import type { Receipt, WorkUnit } from '../../protocol';
import { appendedChunks, chunkAt, finishedChunks, joinChunks } from './chunks';
import {
  chunksFrom,
  prefixRange,
  UPGRADES,
  VOLUNTEER_DB_NAME,
  VOLUNTEER_SCHEMA_VERSION,
  type UnitRecord,
  type VolunteerDb,
  type VolunteerStoreName,
} from './schema';
import { HeldState, type Checkpoint, type FinishedResult, type HeldUnit, type VolunteerStore } from './volunteer-store';

export interface OpenVolunteerStoreOptions {
  /** Database name (default 'tabgrid-volunteer'); tests use their own. */
  readonly name?: string;
  /** How long the open may wait, e.g. for another tab to let go of an old version (default 10 s). */
  readonly timeoutMs?: number;
  /** Hears that the open waits for another tab's connection to close. */
  readonly onBlocked?: () => void;
}

const KEY_PAIR = 'signing';

/** Opens (creating or upgrading if need be) the volunteer's database. Throws TabgridError 'storage'. */
export async function openVolunteerStore(options: OpenVolunteerStoreOptions = {}): Promise<IdbVolunteerStore> {
  const name = options.name ?? VOLUNTEER_DB_NAME;
  const what = `cannot open the volunteer store ${JSON.stringify(name)}`;
  if (typeof indexedDB === 'undefined') throw new TabgridError(ErrorCode.Storage, `${what}: no IndexedDB here`);
  let store: IdbVolunteerStore | undefined;
  let blocked = false;
  let gaveUp = false;
  const opening = openDB<VolunteerDb>(name, VOLUNTEER_SCHEMA_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      for (let v = oldVersion; v < VOLUNTEER_SCHEMA_VERSION; v++) UPGRADES[v]!(db, tx);
    },
    // An older connection (another tab) did not close when asked. Its tab may still be about
    // to; the timeout below decides when to stop waiting.
    blocked() {
      blocked = true;
      options.onBlocked?.();
    },
    // Another tab wants a newer version: step aside rather than stall its upgrade.
    blocking(_current, _wanted, event) {
      (event.target as IDBDatabase).close();
      store?.lose('another tab upgraded the database; reload this page');
    },
    terminated() {
      store?.lose('the browser closed the database (storage cleared or failing)');
    },
  });
  // An open we gave up on may still succeed later: close it then, so it blocks no one.
  opening.then(
    (db) => gaveUp && db.close(),
    () => undefined,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      gaveUp = true;
      reject(
        new TabgridError(
          ErrorCode.Storage,
          blocked
            ? `${what}: another tab keeps an older version of it open; close or reload the other tabgrid tabs`
            : `${what}: no answer within ${options.timeoutMs ?? 10_000} ms`,
        ),
      );
    }, options.timeoutMs ?? 10_000);
  });
  try {
    store = new IdbVolunteerStore(name, await Promise.race([opening, timeout]));
    return store;
  } catch (err) {
    throw storageError(what, err);
  } finally {
    clearTimeout(timer);
  }
}

export class IdbVolunteerStore implements VolunteerStore {
  /** Why the connection was closed, if it was; later calls fail with this. */
  private lost: string | null = null;

  constructor(
    readonly name: string,
    private readonly db: IDBPDatabase<VolunteerDb>,
  ) {}

  async held(hostId: string): Promise<HeldUnit[]> {
    return this.run('read', async () => {
      const tx = this.db.transaction(['units', 'chunks'], 'readonly');
      const records = await tx.objectStore('units').index('by-order').getAll(prefixRange(hostId));
      const chunks = await Promise.all(records.map((r) => tx.objectStore('chunks').getAll(prefixRange(hostId, r.unitId))));
      await tx.done;
      return records.map((r, i) => ({
        hostId,
        unit: r.unit,
        state: r.state,
        done: r.done,
        data: joinChunks(r.unitId, chunks[i]!, r.bytes),
        ...(r.root === undefined ? {} : { root: r.root }),
        ...(r.backend === undefined ? {} : { backend: r.backend }),
        updatedAt: r.updatedAt,
      }));
    });
  }

  async hold(hostId: string, unit: WorkUnit): Promise<void> {
    return this.write(['units'], async (tx, pending) => {
      const units = tx.objectStore('units');
      if ((await units.count([hostId, unit.unitId])) > 0) return;
      const last = await units.index('by-order').openCursor(prefixRange(hostId), 'prev');
      const record: UnitRecord = {
        hostId,
        unitId: unit.unitId,
        seq: last ? last.value.seq + 1 : 0,
        unit,
        state: HeldState.Queued,
        done: 0,
        bytes: 0,
        updatedAt: Date.now(),
      };
      pending.push(units.add(record));
    });
  }

  async checkpoint(hostId: string, unitId: string, { done, atBytes, append }: Checkpoint): Promise<void> {
    return this.write(['units', 'chunks'], async (tx, pending) => {
      const units = tx.objectStore('units');
      const chunks = tx.objectStore('chunks');
      const record = await this.unit(units.get([hostId, unitId]), hostId, unitId, 'checkpoint');
      if (record.state === HeldState.Sent) throw new TabgridError(ErrorCode.Storage, `cannot checkpoint unit ${unitId}: it is already finished`);
      if (record.bytes !== atBytes) {
        throw new TabgridError(ErrorCode.Storage, `stale checkpoint of unit ${unitId}: it appends at byte ${atBytes} but ${record.bytes} bytes are stored`);
      }
      const { index, within } = chunkAt(atBytes);
      const tail = within > 0 && append.length > 0 ? (await chunks.get([hostId, unitId, index]))?.bytes : undefined;
      // The record first: should a chunk write fail, the abort must undo a write already made.
      pending.push(units.put({ ...record, state: HeldState.Computing, done, bytes: atBytes + append.length, updatedAt: Date.now() }));
      for (const chunk of appendedChunks(hostId, unitId, atBytes, append, tail)) pending.push(chunks.put(chunk));
    });
  }

  async finish(hostId: string, unitId: string, { done, data, root, backend }: FinishedResult): Promise<void> {
    return this.write(['units', 'chunks'], async (tx, pending) => {
      const units = tx.objectStore('units');
      const chunks = tx.objectStore('chunks');
      const record = await this.unit(units.get([hostId, unitId]), hostId, unitId, 'finish');
      const stored = await chunks.getAll(prefixRange(hostId, unitId));
      const { records, count } = finishedChunks(hostId, unitId, stored, data);
      pending.push(units.put({ ...record, state: HeldState.Sent, done, bytes: data.length, root, backend, updatedAt: Date.now() }));
      pending.push(chunks.delete(chunksFrom(hostId, unitId, count)));
      for (const chunk of records) pending.push(chunks.put(chunk));
    });
  }

  async forget(hostId: string, unitId: string): Promise<void> {
    return this.write(['units', 'chunks'], async (tx, pending) => {
      pending.push(tx.objectStore('units').delete([hostId, unitId]), tx.objectStore('chunks').delete(prefixRange(hostId, unitId)));
    });
  }

  async settle(hostId: string, unitId: string, receipt?: Receipt): Promise<void> {
    return this.write(['units', 'chunks', 'receipts'], async (tx, pending) => {
      const receipts = tx.objectStore('receipts');
      pending.push(tx.objectStore('units').delete([hostId, unitId]), tx.objectStore('chunks').delete(prefixRange(hostId, unitId)));
      if (receipt && (await receipts.index('by-id').count(receipt.receiptId)) === 0) pending.push(receipts.add({ hostId, receipt }));
    });
  }

  async receipts(hostId?: string): Promise<Receipt[]> {
    return this.run('read', async () => {
      const store = this.db.transaction('receipts', 'readonly').store;
      // Index entries with one key are in primary-key order, the order stored.
      const records = hostId === undefined ? await store.getAll() : await store.index('by-host').getAll(hostId);
      return records.map((r) => r.receipt);
    });
  }

  async getSetting<T>(key: string): Promise<T | undefined> {
    return this.run('read', () => this.db.get('settings', key) as Promise<T | undefined>);
  }

  async setSetting(key: string, value: unknown): Promise<void> {
    return this.write(['settings'], async (tx, pending) => void pending.push(tx.objectStore('settings').put(value, key)));
  }

  async getKeyPair(): Promise<CryptoKeyPair | undefined> {
    return this.run('read', () => this.db.get('keys', KEY_PAIR));
  }

  async putKeyPair(pair: CryptoKeyPair): Promise<void> {
    // Copied to a plain object: the pair generateKey returns is one, but a caller's may not be.
    return this.write(
      ['keys'],
      async (tx, pending) => void pending.push(tx.objectStore('keys').put({ publicKey: pair.publicKey, privateKey: pair.privateKey }, KEY_PAIR)),
    );
  }

  async getTune(key: string): Promise<TileConfig | undefined> {
    return this.run('read', () => this.db.get('tune', key));
  }

  async setTune(key: string, config: TileConfig): Promise<void> {
    return this.write(['tune'], async (tx, pending) => void pending.push(tx.objectStore('tune').put(config, key)));
  }

  close(): void {
    this.lose('the store was closed');
  }

  /** Called when the connection is closed under us (or by close()); later calls fail. */
  lose(why: string): void {
    if (this.lost === null) {
      this.lost = why;
      this.db.close();
    }
  }

  private async unit(request: Promise<UnitRecord | undefined>, hostId: string, unitId: string, what: string): Promise<UnitRecord> {
    const record = await request;
    if (!record) throw new TabgridError(ErrorCode.Storage, `cannot ${what} unit ${unitId}: it is not held for host ${hostId}`);
    return record;
  }

  private async run<T>(what: 'read' | 'write', f: () => Promise<T>): Promise<T> {
    if (this.lost !== null) throw new TabgridError(ErrorCode.Storage, `the volunteer store ${JSON.stringify(this.name)} is closed: ${this.lost}`);
    try {
      return await f();
    } catch (err) {
      throw storageError(`cannot ${what} the volunteer store ${JSON.stringify(this.name)}`, err);
    }
  }

  /**
   * Runs `f` in one readwrite transaction and waits for it to commit. `f` puts each request it
   * makes in `pending`. Whatever `f` throws, or any request that fails, aborts the
   * transaction, so nothing of it is kept.
   */
  private async write<N extends ArrayLike<VolunteerStoreName>>(
    stores: N,
    f: (tx: IDBPTransaction<VolunteerDb, N, 'readwrite'>, pending: Promise<unknown>[]) => Promise<void>,
  ): Promise<void> {
    return this.run('write', async () => {
      const tx = this.db.transaction(stores, 'readwrite', { durability: 'strict' });
      const pending: Promise<unknown>[] = [];
      try {
        await f(tx, pending);
        await Promise.all(pending);
        await tx.done;
      } catch (err) {
        try {
          tx.abort();
        } catch {
          // Already aborted by the failing request, or already finished.
        }
        // Settle the requests the abort failed, so none surfaces as an unhandled rejection.
        await Promise.allSettled([...pending, tx.done]);
        throw err;
      }
    });
  }
}

/**
 * IndexedDB failures as TabgridErrors: a full quota becomes 'storage-full' (the session can
 * tell the volunteer to free space and stop prefetching, which retrying will not fix); every
 * other fault is 'storage'.
 */
function storageError(what: string, err: unknown): TabgridError {
  if (err instanceof TabgridError) return err;
  const e = err as { name?: string; message?: string } | undefined;
  if (e?.name === 'QuotaExceededError') {
    return new TabgridError(
      ErrorCode.StorageFull,
      `${what}: the browser refused to store more for this site (QuotaExceededError); free disk space or clear old site data. Nothing of this write was kept; what was stored before is intact`,
      { cause: err },
    );
  }
  const detail =
    e?.name === 'VersionError'
      ? `the database was created by a newer tabgrid (${e.message}); reload the page to get the newer version`
      : `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
  return new TabgridError(ErrorCode.Storage, `${what}: ${detail}`, { cause: err });
}
