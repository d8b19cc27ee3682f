import { buildDataset, chunkCount, serveChunk, type Dataset, type ServedChunk } from '../data/dataset';
import { shelf } from '../data/shelf';
import { ErrorCode, TabgridError } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import { datasetsOf, type JobSpec } from './job';
import type { HostStore } from './store/store';

/** How many volunteer keys the per-key byte counts keep (the least recently served go first). */
export const MAX_SERVED_KEYS = 4096;
/** How many datasets the count of one key keeps apart (bytes of further ones are not counted per key). */
export const MAX_SERVED_ROOTS = 256;

/**
 * The datasets of the jobs a host serves: loaded from its store when a job is opened or added,
 * checked against the root the job names (a store that returns other bytes is an error, not an
 * input), held on the process's shelf (data/shelf.ts) so the kernels' inputs and the host's own
 * checks read them, and served to volunteers chunk by chunk with audit paths. Counts the bytes
 * served, which the farm reports per unit (locality scheduling keeps it near one A band a unit).
 */
export class DatasetLibrary {
  private readonly held = new Map<string, { readonly dataset: Dataset; readonly release: () => void }>();
  private served = 0;
  /** Bytes served per volunteer key and dataset root, for the most recent MAX_SERVED_KEYS keys (a key that fetches again moves to the back). */
  private readonly byKey = new Map<string, Map<string, number>>();

  constructor(
    private readonly store: HostStore,
    private readonly hash: Hasher,
  ) {}

  /** Loads every dataset `jobs` name that is not held yet; throws naming the first one the store lacks or holds wrongly. */
  async load(jobs: readonly JobSpec[]): Promise<void> {
    for (const spec of jobs) {
      for (const root of datasetsOf(spec)) {
        if (this.held.has(root)) continue;
        const stored = await this.store.loadDataset(root);
        if (!stored) throw new TabgridError(ErrorCode.BadInput, `job ${spec.id} reads dataset ${root.slice(0, 12)}…, which this host's store does not hold`);
        const dataset = buildDataset(stored.data, this.hash);
        if (dataset.root !== root)
          throw new TabgridError(ErrorCode.Storage, `the store's dataset ${root.slice(0, 12)}… hashes to ${dataset.root.slice(0, 12)}…`);
        this.held.set(root, { dataset, release: shelf.holdDataset(root, stored.data) });
      }
    }
  }

  has(root: string): boolean {
    return this.held.has(root);
  }

  /** Chunks first … first + count − 1 of a held dataset, each with its audit path (counted once sent: `sent`). */
  chunks(root: string, first: number, count: number): ServedChunk[] {
    const held = this.held.get(root);
    if (!held) throw new TabgridError(ErrorCode.BadInput, `no dataset ${root.slice(0, 12)}… on this host`);
    const total = chunkCount(held.dataset.data.length);
    if (first + count > total)
      throw new TabgridError(ErrorCode.BadInput, `dataset ${root.slice(0, 12)}… has chunks 0..${total - 1}, not ${first}..${first + count - 1}`);
    const out: ServedChunk[] = [];
    for (let i = first; i < first + count; i++) out.push(serveChunk(held.dataset, i));
    return out;
  }

  /** Counts `bytes` of dataset `root` as served to volunteer `key`. */
  sent(key: string, root: string, bytes: number): void {
    this.served += bytes;
    const roots = this.byKey.get(key) ?? new Map<string, number>();
    this.byKey.delete(key);
    this.byKey.set(key, roots);
    if (roots.has(root) || roots.size < MAX_SERVED_ROOTS) roots.set(root, (roots.get(root) ?? 0) + bytes);
    if (this.byKey.size > MAX_SERVED_KEYS) this.byKey.delete(this.byKey.keys().next().value!);
  }

  /** Bytes served per key and root (the most recent MAX_SERVED_KEYS keys, MAX_SERVED_ROOTS roots each), as plain objects. */
  servedByKey(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.byKey].map(([key, roots]) => [key, Object.fromEntries(roots)]));
  }

  /** Dataset bytes served to volunteers since the host started. */
  get bytesServed(): number {
    return this.served;
  }

  /** Lets go of these datasets (their job was deleted): no longer served, nor held on the shelf. */
  drop(roots: readonly string[]): void {
    for (const root of roots) {
      this.held.get(root)?.release();
      this.held.delete(root);
    }
  }

  /** Lets go of every dataset (the host closes). */
  close(): void {
    for (const h of this.held.values()) h.release();
    this.held.clear();
  }
}
