/**
 * The volunteer's IndexedDB layout and its history. Output data lives in chunk records of at
 * most CHUNK_BYTES, never in the unit record, so no single value nears a browser's per-value
 * limit (Chromium refuses values of hundreds of MiB, and large values are slow to rewrite)
 * and a checkpoint only writes the chunks its bytes fall in.
 *
 * History (append, never edit; a step runs inside the versionchange transaction):
 *   1: units, chunks, receipts (by receiptId), settings.
 *   2: keys and tune stores; receipts indexed by host. Version 1 receipts already carry their
 *      hostId, so the new index covers them with no rewrite.
 *   3: the dataset cache (dataset-cache.ts): verified dataset chunks by [root, index], and one
 *      record per dataset (its bytes, chunk count, last use) indexed by last use, so the least
 *      recently used dataset is found, and recency survives reloads.
 *   4: the donor's profile (display name and team, both optional) beside the key: one record
 *      under PROFILE_KEY, so clearing the site's data clears both together.
 *   5: the audit path each cached dataset chunk verified with, by [root, index], so a reloaded
 *      page can serve its cached chunks to peers with their proofs (the swarm). Apart from the
 *      chunks, so the indexes of the chunks a page can prove are read without reading bytes;
 *      chunks cached before have none and are not served until fetched again.
 */
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { TileConfig } from '../../gpu/tune-cache';
import type { Backend, Receipt, WorkUnit } from '../../protocol';
import type { DonorProfile, HeldState } from './volunteer-store';

export const VOLUNTEER_DB_NAME = 'tabgrid-volunteer';
/** Largest chunk record of output data. */
export const CHUNK_BYTES = 1 << 20;

/** A held unit without its data; `bytes` is the stored data length, so checks need no chunk reads. */
export interface UnitRecord {
  readonly hostId: string;
  readonly unitId: string;
  /** Order held, per host: one more than the largest held when this unit was. */
  readonly seq: number;
  readonly unit: WorkUnit;
  readonly state: HeldState;
  readonly done: number;
  readonly bytes: number;
  readonly root?: string;
  readonly backend?: Backend;
  readonly updatedAt: number;
}

/** Bytes [index·CHUNK_BYTES, …) of a unit's data; every chunk but the last is full. */
export interface ChunkRecord {
  readonly hostId: string;
  readonly unitId: string;
  readonly index: number;
  readonly bytes: Uint8Array;
}

/** A verified chunk of a dataset (dataset-cache.ts): `bytes` is chunk `index` of the dataset whose root is `root`. */
export interface DatasetChunkRecord {
  readonly root: string;
  readonly index: number;
  readonly bytes: Uint8Array;
}

/** The audit path chunk `index` of dataset `root` verified with, and the dataset's length (the tree's size comes from it). */
export interface DatasetProofRecord {
  readonly root: string;
  readonly index: number;
  readonly bytes: number;
  readonly path: readonly string[];
}

/** What the dataset cache holds of one dataset: the chunks' total bytes and count, and when it was last used (a strictly increasing clock). */
export interface DatasetRecord {
  readonly root: string;
  readonly bytes: number;
  readonly chunks: number;
  readonly lastUsed: number;
}

/** Keyed by an auto-increment number, so key order is the order stored (oldest first). */
export interface ReceiptRecord {
  readonly hostId: string;
  readonly receipt: Receipt;
}

export interface VolunteerDb extends DBSchema {
  units: { key: [string, string]; value: UnitRecord; indexes: { 'by-order': [string, number] } };
  chunks: { key: [string, string, number]; value: ChunkRecord };
  receipts: { key: number; value: ReceiptRecord; indexes: { 'by-id': string; 'by-host': string } };
  settings: { key: string; value: unknown };
  keys: { key: string; value: CryptoKeyPair };
  tune: { key: string; value: TileConfig };
  'dataset-chunks': { key: [string, number]; value: DatasetChunkRecord };
  'dataset-proofs': { key: [string, number]; value: DatasetProofRecord };
  datasets: { key: string; value: DatasetRecord; indexes: { 'by-use': number } };
  profile: { key: string; value: DonorProfile };
}

/** The one record of the profile store. */
export const PROFILE_KEY = 'donor';
export type VolunteerStoreName = StoreNames<VolunteerDb>;
type Upgrade = (db: IDBPDatabase<VolunteerDb>, tx: IDBPTransaction<VolunteerDb, VolunteerStoreName[], 'versionchange'>) => void;

/** Upgrade i takes the database from version i to i + 1. */
export const UPGRADES: readonly Upgrade[] = [
  (db) => {
    const units = db.createObjectStore('units', { keyPath: ['hostId', 'unitId'] });
    units.createIndex('by-order', ['hostId', 'seq']);
    db.createObjectStore('chunks', { keyPath: ['hostId', 'unitId', 'index'] });
    const receipts = db.createObjectStore('receipts', { autoIncrement: true });
    receipts.createIndex('by-id', 'receipt.receiptId', { unique: true });
    db.createObjectStore('settings');
  },
  (db, tx) => {
    db.createObjectStore('keys');
    db.createObjectStore('tune');
    tx.objectStore('receipts').createIndex('by-host', 'hostId');
  },
  (db) => {
    db.createObjectStore('dataset-chunks', { keyPath: ['root', 'index'] });
    db.createObjectStore('datasets', { keyPath: 'root' }).createIndex('by-use', 'lastUsed');
  },
  (db) => {
    db.createObjectStore('profile');
  },
  (db) => {
    db.createObjectStore('dataset-proofs', { keyPath: ['root', 'index'] });
  },
];

/** The version this code writes; a database at a newer version is refused. */
export const VOLUNTEER_SCHEMA_VERSION = UPGRADES.length;

/**
 * Arrays sort after every string and number, so [a] … [a, []] spans every key that starts
 * with a (the IndexedDB key order: number < date < string < binary < array).
 */
export function prefixRange(...prefix: (string | number)[]): IDBKeyRange {
  return IDBKeyRange.bound(prefix, [...prefix, []]);
}

/** Chunks `from` onwards of one unit. */
export function chunksFrom(hostId: string, unitId: string, from: number): IDBKeyRange {
  return IDBKeyRange.bound([hostId, unitId, from], [hostId, unitId, []]);
}
