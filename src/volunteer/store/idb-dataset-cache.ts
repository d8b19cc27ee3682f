/**
 * The DatasetCache in IndexedDB, in the volunteer's database (its own connection to it, at the
 * one version: volunteer-db.ts; layout: schema.ts versions 3 and 5). Chunks and their audit paths are keyed [root, index];
 * each dataset has a record of its bytes, chunk count and last use, indexed by last use, so
 * eviction reads no chunk and recency survives reloads. Every put is one transaction (the
 * evictions, the chunk, the record), so a failure keeps nothing of it and loses nothing else.
 * Puts and recency updates commit with 'relaxed' durability (the volunteer store's are
 * 'strict'): a transaction stays atomic, and what a crash may undo here is a chunk the next
 * unit fetches again or a recency bump, never work.
 */
import type { IDBPDatabase, IDBPTransaction } from 'idb';
import { ErrorCode, TabgridError } from '../../errors';
import {
  byteLimit,
  cacheBounds,
  checkChunk,
  evictionPlan,
  type ChunkProof,
  type DatasetCache,
  type DatasetCacheOptions,
  type DatasetCacheUsage,
  type StorageQuota,
} from './dataset-cache';
import { prefixRange, VOLUNTEER_DB_NAME, type VolunteerDb } from './schema';
import { openVolunteerDb, storageError, writeTransaction, type OpenVolunteerDbOptions } from './volunteer-db';

export type OpenDatasetCacheOptions = OpenVolunteerDbOptions & DatasetCacheOptions;

type CacheStore = 'dataset-chunks' | 'dataset-proofs' | 'datasets';
type CacheTx = IDBPTransaction<VolunteerDb, CacheStore[], 'readwrite'>;
const STORES: CacheStore[] = ['dataset-chunks', 'dataset-proofs', 'datasets'];

/** Opens the dataset cache in the volunteer's database (creating or upgrading it if need be). Throws TabgridError 'storage'. */
export async function openDatasetCache(options: OpenDatasetCacheOptions = {}): Promise<IdbDatasetCache> {
  const name = options.name ?? VOLUNTEER_DB_NAME;
  cacheBounds(options);
  let cache: IdbDatasetCache | undefined = undefined;
  const db = await openVolunteerDb(options, `cannot open the dataset cache in ${JSON.stringify(name)}`, (why) => cache?.lose(why));
  cache = new IdbDatasetCache(name, db, options);
  return cache;
}

/** The page's storage estimate, asked when called (never at load): undefined without the Storage API. */
async function browserEstimate(): Promise<StorageQuota | undefined> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  return typeof storage?.estimate === 'function' ? storage.estimate() : undefined;
}

export class IdbDatasetCache implements DatasetCache {
  private lost: string | null = null;
  private readonly bounds: ReturnType<typeof cacheBounds>;

  constructor(
    readonly name: string,
    private readonly db: IDBPDatabase<VolunteerDb>,
    private readonly options: DatasetCacheOptions = {},
  ) {
    this.bounds = cacheBounds(options);
  }

  async get(root: string, index: number): Promise<Uint8Array | undefined> {
    return this.run('read', () =>
      writeTransaction(this.db, STORES, 'relaxed', async (tx, pending) => {
        const chunk = await tx.objectStore('dataset-chunks').get([root, index]);
        if (!chunk) return undefined;
        const record = await tx.objectStore('datasets').get(root);
        if (record) pending.push(tx.objectStore('datasets').put({ ...record, lastUsed: await nextUse(tx) }));
        return chunk.bytes;
      }),
    );
  }

  async put(root: string, index: number, data: Uint8Array, proof?: ChunkProof): Promise<boolean> {
    checkChunk(root, index, data, proof);
    // Asked before the transaction: awaiting anything but its own requests would commit it.
    const estimate = await this.estimate();
    try {
      return await this.run('write', () => this.putOnce(root, index, data, proof, estimate, 0));
    } catch (err) {
      if (!(err instanceof TabgridError && err.code === ErrorCode.StorageFull)) throw err;
    }
    // The browser's quota ran out before our bounds did: evict one dataset more and try once more.
    try {
      return await this.run('write', () => this.putOnce(root, index, data, proof, estimate, 1));
    } catch (err) {
      if (!(err instanceof TabgridError && err.code === ErrorCode.StorageFull)) throw err;
      throw new TabgridError(
        ErrorCode.StorageFull,
        `cannot keep chunk ${index} of dataset ${root.slice(0, 12)}… in the dataset cache of ${JSON.stringify(this.name)}: the browser refused to store more for this site (QuotaExceededError), also after evicting what it could; free disk space or clear old site data. Nothing of this put was kept; the other cached datasets are intact`,
        { cause: err },
      );
    }
  }

  async proof(root: string, index: number): Promise<ChunkProof | undefined> {
    return this.run('read', async () => {
      const record = await this.db.get('dataset-proofs', [root, index]);
      return record && { bytes: record.bytes, path: record.path };
    });
  }

  async provable(root: string): Promise<number[]> {
    // Keys only: no chunk's bytes are read.
    return this.run('read', async () => (await this.db.getAllKeys('dataset-proofs', prefixRange(root))).map(([, index]) => index));
  }

  async roots(): Promise<string[]> {
    return this.run('read', async () => {
      const keys = await this.db.getAllFromIndex('datasets', 'by-use');
      return keys.map((r) => r.root).reverse();
    });
  }

  async usage(): Promise<DatasetCacheUsage> {
    return this.run('read', async () => {
      const records = await this.db.getAll('datasets');
      return { bytes: records.reduce((s, r) => s + r.bytes, 0), datasets: records.length, chunks: records.reduce((s, r) => s + r.chunks, 0) };
    });
  }

  async clear(): Promise<void> {
    return this.run('write', () =>
      writeTransaction(this.db, STORES, 'strict', async (tx, pending) => {
        pending.push(tx.objectStore('dataset-chunks').clear(), tx.objectStore('dataset-proofs').clear(), tx.objectStore('datasets').clear());
      }),
    );
  }

  close(): void {
    this.lose('the cache was closed');
  }

  /** Called when the connection is closed under us (or by close()); later calls fail. */
  lose(why: string): void {
    if (this.lost === null) {
      this.lost = why;
      this.db.close();
    }
  }

  /** One put in one transaction: `spare` datasets are evicted besides what the bounds need. */
  private putOnce(
    root: string,
    index: number,
    data: Uint8Array,
    proof: ChunkProof | undefined,
    estimate: StorageQuota | undefined,
    spare: number,
  ): Promise<boolean> {
    return writeTransaction(this.db, STORES, 'relaxed', async (tx, pending) => {
      const chunks = tx.objectStore('dataset-chunks');
      const proofs = tx.objectStore('dataset-proofs');
      const datasets = tx.objectStore('datasets');
      const records = await datasets.getAll();
      const own = records.find((r) => r.root === root);
      const proved = proof && { root, index, bytes: proof.bytes, path: [...proof.path] };
      if (own && (await chunks.count([root, index])) > 0) {
        pending.push(datasets.put({ ...own, lastUsed: await nextUse(tx) }));
        // Held from before without its path: the path makes it servable.
        if (proved && (await proofs.count([root, index])) === 0) pending.push(proofs.put(proved));
        return true;
      }
      const held = records.reduce((sum, r) => sum + r.bytes, 0);
      const evict = evictionPlan(records, root, data.length, { bytes: byteLimit(this.bounds, estimate, held), datasets: this.bounds.maxDatasets }, spare);
      // A retry with nothing else to evict would fail the same way.
      if (!evict) return false;
      if (evict.length < spare) throw new TabgridError(ErrorCode.StorageFull, 'no other dataset is cached to evict');
      const lastUsed = await nextUse(tx);
      for (const r of evict) pending.push(chunks.delete(prefixRange(r)), proofs.delete(prefixRange(r)), datasets.delete(r));
      // A copy: structured clone of a view stores its whole underlying buffer (a whole message).
      pending.push(chunks.put({ root, index, bytes: data.slice() }));
      if (proved) pending.push(proofs.put(proved));
      pending.push(datasets.put({ root, bytes: (own?.bytes ?? 0) + data.length, chunks: (own?.chunks ?? 0) + 1, lastUsed }));
      return true;
    });
  }

  /** A failing estimate only drops the quota bound for this put; the budget still holds. */
  private async estimate(): Promise<StorageQuota | undefined> {
    try {
      return await (this.options.estimate ?? browserEstimate)();
    } catch {
      return undefined;
    }
  }

  private async run<T>(what: 'read' | 'write', f: () => Promise<T>): Promise<T> {
    if (this.lost !== null) throw new TabgridError(ErrorCode.Storage, `the dataset cache in ${JSON.stringify(this.name)} is closed: ${this.lost}`);
    try {
      return await f();
    } catch (err) {
      throw storageError(`cannot ${what} the dataset cache in ${JSON.stringify(this.name)}`, err);
    }
  }
}

/** The next value of the recency clock: past every stored use and not before now, so uses stay ordered across reloads and tabs. */
async function nextUse(tx: CacheTx): Promise<number> {
  const last = await tx.objectStore('datasets').index('by-use').openCursor(null, 'prev');
  return Math.max(Date.now(), (last?.value.lastUsed ?? 0) + 1);
}
