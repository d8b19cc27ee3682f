/**
 * The volunteer's cache of dataset chunks, so inputs shared by many units (B in A·B) are
 * fetched once per volunteer and reused across units and reloads. It holds ONLY verified
 * bytes: a chunk goes in after chunk-fetcher.ts checked it against its dataset's root, and the
 * cache trusts what it holds. Beside a chunk it keeps the audit path the chunk verified with, so
 * the volunteer can serve the chunk to peers (who check it themselves) after a reload too. Bounded: a byte budget,
 * a count of datasets, and in pages a fraction of the storage quota the site may still use.
 * When a put would cross a bound it evicts whole datasets, least recently used first, never
 * the one the put belongs to. Implementations: idb-dataset-cache.ts (pages, recency and
 * chunks survive reloads) and memory-dataset-cache.ts (Node, tests).
 *
 * Every failure is a TabgridError: 'storage-full' when the browser's quota stays exhausted
 * after an eviction and one retry, 'storage' for everything else (closed or failing database).
 */
import { DATASET_CHUNK_BYTES } from '../../data/dataset';
import { ErrorCode, TabgridError } from '../../errors';
import type { DatasetRecord } from './schema';

export type { DatasetRecord } from './schema';

export interface DatasetCache {
  /** Chunk `index` of the dataset `root`, or undefined when not held; a hit makes the dataset the most recently used. */
  get(root: string, index: number): Promise<Uint8Array | undefined>;
  /**
   * Keeps VERIFIED chunk `index` of dataset `root` (the caller checked it against the root),
   * evicting least recently used other datasets as the bounds need, and makes the dataset the
   * most recently used. Idempotent: a chunk already held is not stored again. Resolves false,
   * storing and evicting nothing, when the chunk cannot fit even with every other dataset
   * evicted; the bounds hold after every put.
   */
  put(root: string, index: number, data: Uint8Array, proof?: ChunkProof): Promise<boolean>;
  /** The audit path chunk `index` of `root` verified with, when held with one (recency unchanged). */
  proof(root: string, index: number): Promise<ChunkProof | undefined>;
  /** The indexes of `root`'s chunks held with their audit paths, ascending: what this volunteer can serve of it. */
  provable(root: string): Promise<number[]>;
  /** Roots of the datasets held, most recently used first (the `cached` hint of request-unit). */
  roots(): Promise<string[]>;
  /** What the cache holds: chunk bytes, datasets and chunks. */
  usage(): Promise<DatasetCacheUsage>;
  /** Drops every dataset. */
  clear(): Promise<void>;
  /** Closes the cache; later calls throw a Storage error. Closing twice is harmless. */
  close(): void;
}

/** The audit path a chunk verified with, and its dataset's length. */
export interface ChunkProof {
  readonly bytes: number;
  readonly path: readonly string[];
}

export interface DatasetCacheUsage {
  readonly bytes: number;
  readonly datasets: number;
  readonly chunks: number;
}

/** What navigator.storage.estimate() answers: the site's usage and quota in bytes, either maybe missing. */
export interface StorageQuota {
  readonly usage?: number;
  readonly quota?: number;
}

export interface DatasetCacheOptions {
  /** The most chunk bytes held (default DEFAULT_DATASET_CACHE_BYTES). */
  readonly budgetBytes?: number;
  /** The most datasets held (default DEFAULT_DATASET_CACHE_DATASETS). */
  readonly maxDatasets?: number;
  /** The share of the storage the site may still use that the cache may take (default DEFAULT_QUOTA_FRACTION; with `estimate`). */
  readonly quotaFraction?: number;
  /**
   * Asked before each put: the site's storage usage and quota. The IndexedDB cache defaults to
   * navigator.storage.estimate (when the page has it); the memory cache to none. Tests inject it.
   */
  readonly estimate?: () => Promise<StorageQuota | undefined>;
}

export const DEFAULT_DATASET_CACHE_BYTES = 512 * 1024 * 1024;
export const DEFAULT_DATASET_CACHE_DATASETS = 64;
export const DEFAULT_QUOTA_FRACTION = 0.5;
/** Digests in an audit path: a tree of 2^32 chunks is far beyond any dataset (1 GiB is 4096). */
const MAX_PROOF_DIGESTS = 32;

/** The options with defaults, checked; a bad option is a 'bad-input' TabgridError. */
export function cacheBounds(options: DatasetCacheOptions): { budgetBytes: number; maxDatasets: number; quotaFraction: number } {
  const budgetBytes = options.budgetBytes ?? DEFAULT_DATASET_CACHE_BYTES;
  const maxDatasets = options.maxDatasets ?? DEFAULT_DATASET_CACHE_DATASETS;
  const quotaFraction = options.quotaFraction ?? DEFAULT_QUOTA_FRACTION;
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0)
    throw new TabgridError(ErrorCode.BadInput, `dataset cache: budgetBytes ${budgetBytes} is not a byte count`);
  if (!Number.isSafeInteger(maxDatasets) || maxDatasets < 1) throw new TabgridError(ErrorCode.BadInput, `dataset cache: maxDatasets ${maxDatasets} is not ≥ 1`);
  if (!(quotaFraction > 0 && quotaFraction <= 1)) throw new TabgridError(ErrorCode.BadInput, `dataset cache: quotaFraction ${quotaFraction} is not in (0, 1]`);
  return { budgetBytes, maxDatasets, quotaFraction };
}

/**
 * The most bytes the cache may hold: the budget, and with a quota estimate, `quotaFraction`
 * of the quota the site's other data leaves (the cache's own bytes count as its own, so the
 * limit does not shrink as the cache fills). An estimate that lacks either number is ignored.
 */
export function byteLimit(bounds: { budgetBytes: number; quotaFraction: number }, estimate: StorageQuota | undefined, held: number): number {
  const { usage, quota } = estimate ?? {};
  if (usage === undefined || quota === undefined || !Number.isFinite(usage) || !Number.isFinite(quota)) return bounds.budgetBytes;
  const others = Math.max(0, usage - held);
  return Math.min(bounds.budgetBytes, Math.floor(bounds.quotaFraction * Math.max(0, quota - others)));
}

/**
 * The datasets to evict, least recently used first, so that `adding` bytes (and a dataset,
 * when `root` is new) fit the limits; `spare` more are evicted besides (a retry after the
 * browser's quota ran out). Undefined when the chunk cannot fit even with every other dataset
 * gone: then nothing is evicted and the chunk is not kept.
 */
export function evictionPlan(
  records: readonly DatasetRecord[],
  root: string,
  adding: number,
  limits: { bytes: number; datasets: number },
  spare = 0,
): string[] | undefined {
  const others = records.filter((r) => r.root !== root).sort((a, b) => a.lastUsed - b.lastUsed);
  let bytes = records.reduce((sum, r) => sum + r.bytes, 0) + adding;
  let datasets = others.length + 1;
  const evict: string[] = [];
  for (const r of others) {
    if (bytes <= limits.bytes && datasets <= limits.datasets && evict.length >= spare) break;
    evict.push(r.root);
    bytes -= r.bytes;
    datasets--;
  }
  if (bytes > limits.bytes || datasets > limits.datasets) return undefined;
  return evict;
}

/** A chunk the cache is asked to keep: a chunk's length, at a chunk's place; its proof, if any, a path of digests for a dataset it fits in. */
export function checkChunk(root: string, index: number, data: Uint8Array, proof?: ChunkProof): void {
  if (typeof root !== 'string' || root.length === 0) throw new TabgridError(ErrorCode.BadInput, 'dataset cache: a chunk needs its dataset root');
  if (!Number.isSafeInteger(index) || index < 0) throw new TabgridError(ErrorCode.BadInput, `dataset cache: chunk index ${index} is not a place in a dataset`);
  if (data.length < 1 || data.length > DATASET_CHUNK_BYTES) {
    throw new TabgridError(
      ErrorCode.BadInput,
      `dataset cache: chunk ${index} of ${root.slice(0, 12)}… has ${data.length} bytes, not 1..${DATASET_CHUNK_BYTES}`,
    );
  }
  if (proof !== undefined) {
    const fits = Number.isSafeInteger(proof.bytes) && proof.bytes > index * DATASET_CHUNK_BYTES && Array.isArray(proof.path);
    if (!fits || proof.path.length > MAX_PROOF_DIGESTS || proof.path.some((d) => typeof d !== 'string' || !/^[0-9a-f]{64}$/.test(d)))
      throw new TabgridError(
        ErrorCode.BadInput,
        `dataset cache: the audit path of chunk ${index} of ${root.slice(0, 12)}… is not a path in a dataset holding it`,
      );
  }
}
