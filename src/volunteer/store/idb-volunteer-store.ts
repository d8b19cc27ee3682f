/**
 * The VolunteerStore in IndexedDB (through `idb`), in a page or a worker. Every method is one
 * transaction, and every readwrite one asks for `durability: 'strict'`: Chromium's default
 * lets a transaction complete before its data reaches disk, and a checkpoint that a crash can
 * undo after the session has moved on would break the atBytes chain. Transactions are created
 * before the first await, so overlapping calls apply in call order. Layout: schema.ts.
 */
import type { IDBPDatabase, IDBPTransaction } from 'idb';
import { ErrorCode, TabgridError } from '../../errors';
import type { TileConfig } from '../../gpu/tune-cache';
import type { Receipt, WorkUnit } from '../../protocol';
import { appendedChunks, chunkAt, finishedChunks, joinChunks } from './chunks';
import { chunksFrom, prefixRange, PROFILE_KEY, VOLUNTEER_DB_NAME, type UnitRecord, type VolunteerDb, type VolunteerStoreName } from './schema';
import { openVolunteerDb, storageError, writeTransaction, type OpenVolunteerDbOptions } from './volunteer-db';
import { HeldState, type Checkpoint, type DonorProfile, type FinishedResult, type HeldUnit, type VolunteerStore } from './volunteer-store';

/** Options of the open: the database name, how long to wait, who hears a blocked open (volunteer-db.ts). */
export type OpenVolunteerStoreOptions = OpenVolunteerDbOptions;

const KEY_PAIR = 'signing';

/** Opens (creating or upgrading if need be) the volunteer's database. Throws TabgridError 'storage'. */
export async function openVolunteerStore(options: OpenVolunteerStoreOptions = {}): Promise<IdbVolunteerStore> {
  const name = options.name ?? VOLUNTEER_DB_NAME;
  let store: IdbVolunteerStore | undefined = undefined;
  const db = await openVolunteerDb(options, `cannot open the volunteer store ${JSON.stringify(name)}`, (why) => store?.lose(why));
  store = new IdbVolunteerStore(name, db);
  return store;
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

  async getProfile(): Promise<DonorProfile | undefined> {
    return this.run('read', () => this.db.get('profile', PROFILE_KEY));
  }

  async putProfile(profile: DonorProfile): Promise<void> {
    const plain = { ...(profile.name === undefined ? {} : { name: profile.name }), ...(profile.team === undefined ? {} : { team: profile.team }) };
    return this.write(['profile'], async (tx, pending) => void pending.push(tx.objectStore('profile').put(plain, PROFILE_KEY)));
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

  /** Runs `f` in one strict readwrite transaction (writeTransaction in volunteer-db.ts); any failure keeps nothing of it. */
  private async write<N extends ArrayLike<VolunteerStoreName>>(
    stores: N,
    f: (tx: IDBPTransaction<VolunteerDb, N, 'readwrite'>, pending: Promise<unknown>[]) => Promise<void>,
  ): Promise<void> {
    return this.run('write', () => writeTransaction(this.db, stores, 'strict', f));
  }
}
