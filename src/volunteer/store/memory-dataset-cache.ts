/**
 * The DatasetCache in memory (Node volunteers, tests), with the IndexedDB cache's policy and
 * semantics: the same bounds and eviction (dataset-cache.ts), copies in and out. Each method
 * does all its work after its one await (the estimate), so overlapping calls cannot interleave
 * inside one.
 */
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
} from './dataset-cache';
import type { DatasetRecord } from './schema';

interface Held {
  record: DatasetRecord;
  readonly chunks: Map<number, Uint8Array>;
  readonly proofs: Map<number, ChunkProof>;
}

export class MemoryDatasetCache implements DatasetCache {
  private readonly datasets = new Map<string, Held>();
  private readonly bounds: ReturnType<typeof cacheBounds>;
  /** The recency clock: strictly increasing, so two uses in one millisecond are still ordered. */
  private clock = 0;
  private closed = false;

  constructor(private readonly options: DatasetCacheOptions = {}) {
    this.bounds = cacheBounds(options);
  }

  async get(root: string, index: number): Promise<Uint8Array | undefined> {
    this.check();
    const held = this.datasets.get(root);
    const data = held?.chunks.get(index);
    if (!held || !data) return undefined;
    held.record = { ...held.record, lastUsed: this.tick() };
    return data.slice();
  }

  async put(root: string, index: number, data: Uint8Array, proof?: ChunkProof): Promise<boolean> {
    this.check();
    checkChunk(root, index, data, proof);
    const estimate = await this.estimate();
    this.check();
    const held = this.datasets.get(root);
    if (held?.chunks.has(index)) {
      held.record = { ...held.record, lastUsed: this.tick() };
      // Held from before without its path (or the same path again): the path makes it servable.
      if (proof && !held.proofs.has(index)) held.proofs.set(index, copyProof(proof));
      return true;
    }
    const records = [...this.datasets.values()].map((h) => h.record);
    const bytes = records.reduce((sum, r) => sum + r.bytes, 0);
    const evict = evictionPlan(records, root, data.length, { bytes: byteLimit(this.bounds, estimate, bytes), datasets: this.bounds.maxDatasets });
    if (!evict) return false;
    for (const r of evict) this.datasets.delete(r);
    const own = held ?? { record: { root, bytes: 0, chunks: 0, lastUsed: 0 }, chunks: new Map<number, Uint8Array>(), proofs: new Map<number, ChunkProof>() };
    own.chunks.set(index, data.slice());
    if (proof) own.proofs.set(index, copyProof(proof));
    own.record = { root, bytes: own.record.bytes + data.length, chunks: own.record.chunks + 1, lastUsed: this.tick() };
    this.datasets.set(root, own);
    return true;
  }

  async proof(root: string, index: number): Promise<ChunkProof | undefined> {
    this.check();
    const proof = this.datasets.get(root)?.proofs.get(index);
    return proof && copyProof(proof);
  }

  async provable(root: string): Promise<number[]> {
    this.check();
    return [...(this.datasets.get(root)?.proofs.keys() ?? [])].sort((a, b) => a - b);
  }

  async roots(): Promise<string[]> {
    this.check();
    return [...this.datasets.values()].sort((a, b) => b.record.lastUsed - a.record.lastUsed).map((h) => h.record.root);
  }

  async usage(): Promise<DatasetCacheUsage> {
    this.check();
    let bytes = 0;
    let chunks = 0;
    for (const { record } of this.datasets.values()) {
      bytes += record.bytes;
      chunks += record.chunks;
    }
    return { bytes, datasets: this.datasets.size, chunks };
  }

  async clear(): Promise<void> {
    this.check();
    this.datasets.clear();
  }

  close(): void {
    this.closed = true;
  }

  private tick(): number {
    return (this.clock = Math.max(this.clock + 1, Date.now()));
  }

  /** A failing estimate only drops the quota bound for this put; the budget still holds. */
  private async estimate() {
    try {
      return await this.options.estimate?.();
    } catch {
      return undefined;
    }
  }

  private check(): void {
    if (this.closed) throw new TabgridError(ErrorCode.Storage, 'the dataset cache is closed');
  }
}

function copyProof(p: ChunkProof): ChunkProof {
  return { bytes: p.bytes, path: [...p.path] };
}
