/**
 * The audit paths of the chunks this volunteer verified in this page load, in memory, from the
 * moment they verify (before their bytes are written to the dataset cache, which keeps the paths
 * too, for later page loads): a chunk is served only with bytes verified against the root and the
 * path that verified them. Bounded to MAX_PATHS entries (a path is at most 12 digests: ~1 KiB of
 * hex), oldest first out; past that the cache's copy serves.
 */
import type { ChunkProof } from './store/dataset-cache';

export const MAX_PATHS = 8192;

/** The dataset's length (the tree's size comes from it, as for every check) and the path. */
export type VerifiedPath = ChunkProof;

export class PathBook {
  private readonly paths = new Map<string, VerifiedPath>();

  constructor(private readonly max = MAX_PATHS) {}

  /** Keeps the path a chunk verified with. */
  put(root: string, index: number, entry: VerifiedPath): void {
    const key = `${root}/${index}`;
    this.paths.delete(key);
    this.paths.set(key, entry);
    if (this.paths.size > this.max) this.paths.delete(this.paths.keys().next().value!);
  }

  get(root: string, index: number): VerifiedPath | undefined {
    return this.paths.get(`${root}/${index}`);
  }

  get size(): number {
    return this.paths.size;
  }
}
