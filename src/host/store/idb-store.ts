/**
 * The dashboard host's durable HostStore: IndexedDB through `idb`. Each commit is one readwrite
 * transaction with `durability: 'strict'`, because Chromium's default durability is relaxed (the
 * transaction may complete before the data reaches disk), which would let a reply outlive its
 * commit. Browser only; nothing here touches `indexedDB` until open() is called.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import { ErrorCode, TabgridError } from '../../errors';
import { createKeyPair, identityFromKeyPair, type Identity } from '../../proof/identity';
import { legacyAwaiting, type LegacyVerifyingFields } from './legacy-awaiting';
import { DATASET_CHUNK_BYTES } from '../../data/dataset';
import type {
  HostSnapshot,
  HostStore,
  StoreBatch,
  StoredDataset,
  StoredJob,
  StoredOutput,
  StoredReceipt,
  StoredTeam,
  StoredTrust,
  StoredUnit,
  StoredVolunteer,
} from './store';

interface HostDb extends DBSchema {
  jobs: { key: string; value: StoredJob };
  units: { key: string; value: StoredUnit; indexes: { byJob: string } };
  volunteers: { key: string; value: StoredVolunteer };
  receipts: { key: string; value: StoredReceipt };
  trust: { key: [string, string]; value: StoredTrust };
  /** Team totals by team key (volunteers gained optional profile and recent-credit fields: no change needed). */
  teams: { key: string; value: StoredTeam };
  /** The host's key pair, under HOST_KEY (structured clone keeps the private key non-extractable). */
  keys: { key: string; value: CryptoKeyPair };
  /** Collected output by unit and root; read one at a time, never in the snapshot. */
  outputs: { key: [string, string]; value: StoredOutput };
  /** A kept dataset, without its bytes: written after all its chunks, so one listed here is whole. */
  datasets: { key: string; value: DatasetRecord };
  /** A dataset's bytes, one chunk of DATASET_CHUNK_BYTES a record (no value nears a browser's per-value limits). */
  datasetChunks: { key: [string, number]; value: DatasetChunkRecord };
}

interface DatasetRecord {
  readonly root: string;
  readonly bytes: number;
  readonly createdAt: number;
}

interface DatasetChunkRecord {
  readonly root: string;
  readonly index: number;
  readonly data: Uint8Array;
}

/** Chunks written per transaction when saving a dataset. */
const DATASET_CHUNKS_PER_TRANSACTION = 64;
const HOST_KEY = 'host';
type StoreName = StoreNames<HostDb>;
/** The stores a snapshot holds (the host key is kept apart from them). */
const STORES = ['jobs', 'units', 'volunteers', 'receipts', 'trust', 'teams'] as const satisfies readonly StoreName[];

/**
 * Upgrade i takes the database from version i to i + 1, inside the versionchange transaction.
 * Append, never edit. An upgrade that reshapes records reads and rewrites them through `tx`.
 * Optional unit fields (votes, leasedTo, hold) need no upgrade: a record is stored whole, and
 * one written before a field existed loads without it, as StoredUnit allows.
 */
const UPGRADES: readonly ((db: IDBPDatabase<HostDb>, tx: IDBPTransaction<HostDb, StoreName[], 'versionchange'>) => void)[] = [
  (db) => {
    db.createObjectStore('jobs', { keyPath: 'id' });
    db.createObjectStore('units', { keyPath: 'unitId' });
    db.createObjectStore('volunteers', { keyPath: 'id' });
    db.createObjectStore('receipts', { keyPath: 'receiptId' });
  },
  // 2: adaptive trust per job and volunteer key (receipts gained a signature field: no change needed).
  (db) => {
    db.createObjectStore('trust', { keyPath: ['jobId', 'key'] });
    db.createObjectStore('keys');
  },
  // 3: collected output.
  (db) => {
    db.createObjectStore('outputs', { keyPath: ['unitId', 'root'] });
  },
  // 4: what a verifying unit awaits, and why (store.ts `Awaiting`), replaces `collecting`.
  (_db, tx) => {
    addAwaiting(tx).catch(() => {
      try {
        tx.abort();
      } catch {
        // Already aborted by the failing request.
      }
    });
  },
  // 5: datasets, in chunk records (units gained backend and adapter: no change needed).
  (db) => {
    db.createObjectStore('datasets', { keyPath: 'root' });
    db.createObjectStore('datasetChunks', { keyPath: ['root', 'index'] });
  },
  // 6: units by job, so deleting a job finds its units (jobs gained a status: no change needed).
  (_db, tx) => {
    tx.objectStore('units').createIndex('byJob', 'jobId');
  },
  // 7: team totals (volunteers gained name, team, last seen and recent credit: optional, no change needed).
  (db) => {
    db.createObjectStore('teams', { keyPath: 'key' });
  },
];

/** Upgrade 4: every unit record loses `collecting`, and a verifying one gains `awaiting` (legacy-awaiting.ts). */
async function addAwaiting(tx: IDBPTransaction<HostDb, StoreName[], 'versionchange'>): Promise<void> {
  for (let cursor = await tx.objectStore('units').openCursor(); cursor; cursor = await cursor.continue()) {
    const { collecting, ...rest } = cursor.value as StoredUnit & LegacyVerifyingFields;
    const awaiting = legacyAwaiting({ ...rest, collecting });
    if (collecting !== undefined || awaiting !== undefined) await cursor.update(awaiting === undefined ? rest : { ...rest, awaiting });
  }
}

/** A job's record, units, trust records and its units' outputs, deleted within `tx`. */
async function deleteJob(tx: IDBPTransaction<HostDb, StoreName[], 'readwrite'>, jobId: string): Promise<void> {
  const unitIds = await tx.objectStore('units').index('byJob').getAllKeys(jobId);
  // Array keys sort after every number and string, so [x] … [x, []] spans every [x, anything].
  const under = (first: string) => IDBKeyRange.bound([first], [first, []]);
  await Promise.all([
    ...unitIds.flatMap((id) => [tx.objectStore('units').delete(id), tx.objectStore('outputs').delete(under(id))]),
    tx.objectStore('trust').delete(under(jobId)),
    tx.objectStore('jobs').delete(jobId),
  ]);
}

/** The IndexedDB version this code writes; a database at a newer version is refused. */
export const IDB_SCHEMA_VERSION = UPGRADES.length;

/** Plain code-unit order, as the SQLite store's BINARY collation gives for ASCII ids. */
const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

function storageError(what: string, err: unknown): TabgridError {
  if (err instanceof TabgridError) return err;
  const e = err as { name?: string; message?: string } | undefined;
  const detail =
    e?.name === 'QuotaExceededError'
      ? 'the browser refused to store more for this site (QuotaExceededError); free disk space or clear old data'
      : e?.name === 'VersionError'
        ? `the database was created by a newer tabgrid (${e.message}); reload the page to get the newer version`
        : `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
  return new TabgridError(ErrorCode.Storage, `${what}: ${detail}`, { cause: err });
}

function putAll<N extends StoreName>(
  tx: IDBPTransaction<HostDb, StoreName[], 'readwrite'>,
  name: N,
  records: readonly HostDb[N]['value'][] | undefined,
  pending: Promise<unknown>[],
): void {
  if (!records?.length) return;
  const store = tx.objectStore(name);
  for (const record of records) pending.push(store.put(record));
}

export class IdbHostStore implements HostStore {
  /** Why the connection was closed under us, if it was; later calls fail with this. */
  private lost: string | null = null;
  private identity?: Promise<Identity>;

  private constructor(
    readonly name: string,
    private readonly db: IDBPDatabase<HostDb>,
  ) {}

  /**
   * Opens (creating or upgrading if need be) the database `name`. Throws TabgridError 'storage'.
   * `onBlocked` hears that an upgrade waits for another tab, e.g. to ask the user to close it.
   */
  static async open(name = 'tabgrid-host', { onBlocked }: { onBlocked?: () => void } = {}): Promise<IdbHostStore> {
    if (typeof indexedDB === 'undefined') throw new TabgridError(ErrorCode.Storage, `cannot open host store ${JSON.stringify(name)}: no IndexedDB here`);
    let store: IdbHostStore | undefined;
    try {
      const db = await openDB<HostDb>(name, IDB_SCHEMA_VERSION, {
        upgrade(db, oldVersion, _newVersion, tx) {
          for (let v = oldVersion; v < IDB_SCHEMA_VERSION; v++) UPGRADES[v]!(db, tx);
        },
        // Another tab holds an older connection. Ours close themselves on `blocking` (below), so
        // this only lasts while a tab runs code without that handler; the open waits for it.
        blocked() {
          onBlocked?.();
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
      store = new IdbHostStore(name, db);
      return store;
    } catch (err) {
      throw storageError(`cannot open host store ${JSON.stringify(name)}`, err);
    }
  }

  async load(): Promise<HostSnapshot> {
    this.check();
    try {
      // One transaction over all the stores, so the snapshot is of one commit.
      const tx = this.db.transaction(STORES, 'readonly');
      const [jobs, units, volunteers, receipts, trust, teams] = await Promise.all([
        tx.objectStore('jobs').getAll(),
        tx.objectStore('units').getAll(),
        tx.objectStore('volunteers').getAll(),
        tx.objectStore('receipts').getAll(),
        tx.objectStore('trust').getAll(),
        tx.objectStore('teams').getAll(),
        tx.done,
      ]);
      // Sorted here rather than through indexes: an index silently skips a record whose
      // indexed field is not a valid key (NaN, undefined), and load must return everything.
      jobs.sort((a, b) => cmp(a.createdAt, b.createdAt) || cmp(a.id, b.id));
      units.sort((a, b) => cmp(a.jobId, b.jobId) || cmp(a.index, b.index) || cmp(a.unitId, b.unitId));
      receipts.sort((a, b) => cmp(a.issuedAt, b.issuedAt) || cmp(a.receiptId, b.receiptId));
      // Units written before proof-of-work jobs existed have no solutions field.
      trust.sort((a, b) => cmp(a.jobId, b.jobId) || cmp(a.key, b.key));
      teams.sort((a, b) => cmp(a.key, b.key));
      return { jobs, units: units.map((u) => ({ ...u, solutions: u.solutions ?? null })), volunteers, receipts, trust, teams };
    } catch (err) {
      throw storageError(`cannot read host store ${JSON.stringify(this.name)}`, err);
    }
  }

  async commit(batch: StoreBatch): Promise<void> {
    this.check();
    const names: StoreName[] = STORES.filter((s) => (batch[s]?.length ?? 0) > 0);
    const deleting = (batch.deletedJobs?.length ?? 0) > 0;
    if (deleting) for (const s of ['jobs', 'units', 'trust'] as const) if (!names.includes(s)) names.push(s);
    if (deleting || (batch.outputs?.length ?? 0) + (batch.droppedOutputs?.length ?? 0) > 0) names.push('outputs');
    if ((batch.deletedDatasets?.length ?? 0) > 0) names.push('datasets', 'datasetChunks');
    if (names.length === 0) return;
    let tx: IDBPTransaction<HostDb, StoreName[], 'readwrite'> | undefined;
    const pending: Promise<unknown>[] = [];
    try {
      tx = this.db.transaction(names, 'readwrite', { durability: 'strict' });
      // Deletions first, as the other stores apply them: a batch may delete a job and upsert others.
      for (const id of batch.deletedJobs ?? []) await deleteJob(tx, id);
      for (const root of batch.deletedDatasets ?? []) {
        pending.push(tx.objectStore('datasets').delete(root), tx.objectStore('datasetChunks').delete(IDBKeyRange.bound([root, 0], [root, Infinity])));
      }
      // put() throws synchronously for a record it cannot key or clone; the catch aborts.
      putAll(tx, 'jobs', batch.jobs, pending);
      putAll(tx, 'units', batch.units, pending);
      putAll(tx, 'volunteers', batch.volunteers, pending);
      putAll(tx, 'receipts', batch.receipts, pending);
      putAll(tx, 'trust', batch.trust, pending);
      putAll(tx, 'teams', batch.teams, pending);
      putAll(tx, 'outputs', batch.outputs, pending);
      for (const o of batch.droppedOutputs ?? []) pending.push(tx.objectStore('outputs').delete([o.unitId, o.root]));
      await Promise.all([...pending, tx.done]);
    } catch (err) {
      try {
        tx?.abort();
      } catch {
        // Already aborted by the failing request, or already finished.
      }
      // Settle the requests the abort failed, so none surfaces as an unhandled rejection.
      await Promise.allSettled(tx ? [...pending, tx.done] : pending);
      throw storageError(`cannot write host store ${JSON.stringify(this.name)}`, err);
    }
  }

  async output(unitId: string, root: string): Promise<Uint8Array | undefined> {
    this.check();
    try {
      return (await this.db.get('outputs', [unitId, root]))?.data;
    } catch (err) {
      throw storageError(`cannot read an output from ${JSON.stringify(this.name)}`, err);
    }
  }

  /**
   * Writes the chunks in transactions of DATASET_CHUNKS_PER_TRANSACTION and the dataset's record
   * last: a save cut short leaves only chunk records no dataset names, which the next save of
   * the root overwrites.
   */
  async saveDataset(d: StoredDataset): Promise<void> {
    this.check();
    if (d.data.length === 0) throw new TabgridError(ErrorCode.Storage, `cannot store dataset ${d.root}: it has no bytes`);
    try {
      if (await this.db.getKey('datasets', d.root)) return;
      const count = Math.ceil(d.data.length / DATASET_CHUNK_BYTES);
      for (let first = 0; first < count; first += DATASET_CHUNKS_PER_TRANSACTION) {
        const tx = this.db.transaction('datasetChunks', 'readwrite', { durability: 'strict' });
        const puts: Promise<unknown>[] = [];
        for (let i = first; i < Math.min(count, first + DATASET_CHUNKS_PER_TRANSACTION); i++) {
          puts.push(tx.store.put({ root: d.root, index: i, data: d.data.slice(i * DATASET_CHUNK_BYTES, (i + 1) * DATASET_CHUNK_BYTES) }));
        }
        await Promise.all([...puts, tx.done]);
      }
      const tx = this.db.transaction('datasets', 'readwrite', { durability: 'strict' });
      if (!(await tx.store.getKey(d.root))) await tx.store.add({ root: d.root, bytes: d.data.length, createdAt: d.createdAt });
      await tx.done;
    } catch (err) {
      throw storageError(`cannot store dataset ${d.root} in ${JSON.stringify(this.name)}`, err);
    }
  }

  async loadDataset(root: string): Promise<StoredDataset | undefined> {
    this.check();
    try {
      const tx = this.db.transaction(['datasets', 'datasetChunks'], 'readonly');
      const record = await tx.objectStore('datasets').get(root);
      if (!record) return undefined;
      const data = new Uint8Array(record.bytes);
      let at = 0;
      const range = IDBKeyRange.bound([root, 0], [root, Infinity]);
      for (let c = await tx.objectStore('datasetChunks').openCursor(range); c && at < record.bytes; c = await c.continue()) {
        if (c.value.index * DATASET_CHUNK_BYTES !== at || at + c.value.data.length > record.bytes) break;
        data.set(c.value.data, at);
        at += c.value.data.length;
      }
      await tx.done;
      if (at !== record.bytes)
        throw new TabgridError(
          ErrorCode.Storage,
          `dataset ${root} in ${JSON.stringify(this.name)} is damaged: its chunks hold ${at} of its ${record.bytes} bytes`,
        );
      return { root, data, createdAt: record.createdAt };
    } catch (err) {
      throw storageError(`cannot read dataset ${root} from ${JSON.stringify(this.name)}`, err);
    }
  }

  async datasetRoots(): Promise<string[]> {
    this.check();
    try {
      // Keys come in IndexedDB's string order, which is code-unit order.
      return await this.db.getAllKeys('datasets');
    } catch (err) {
      throw storageError(`cannot list datasets in ${JSON.stringify(this.name)}`, err);
    }
  }

  /** The host's signing identity, made on first use and kept in this database (non-extractable). */
  hostIdentity(): Promise<Identity> {
    // One read per store; a failed one is tried again on the next call.
    this.identity ??= this.keyPair()
      .then(identityFromKeyPair)
      .catch((err: unknown) => {
        this.identity = undefined;
        throw err;
      });
    return this.identity;
  }

  private async keyPair(): Promise<CryptoKeyPair> {
    this.check();
    try {
      const kept = await this.db.get('keys', HOST_KEY);
      if (kept) return kept;
      // Made before the transaction, which would commit while WebCrypto works. Another tab
      // making one at once: the first key written wins, and both use it.
      const fresh = await createKeyPair();
      const tx = this.db.transaction('keys', 'readwrite', { durability: 'strict' });
      const raced = await tx.store.get(HOST_KEY);
      if (!raced) await tx.store.add(fresh, HOST_KEY);
      await tx.done;
      return raced ?? fresh;
    } catch (err) {
      throw storageError(`cannot read or store the host key in ${JSON.stringify(this.name)}`, err);
    }
  }

  async close(): Promise<void> {
    this.lose('the store was closed');
  }

  private lose(why: string): void {
    if (this.lost === null) {
      this.lost = why;
      this.db.close();
    }
  }

  private check(): void {
    if (this.lost !== null) throw new TabgridError(ErrorCode.Storage, `host store ${JSON.stringify(this.name)} is closed: ${this.lost}`);
  }
}
