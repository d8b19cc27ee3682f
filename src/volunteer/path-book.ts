/**
 * The audit paths of the chunks this volunteer verified, kept beside the dataset cache (which
 * keeps bytes only) so it can serve those chunks to peers with their proofs. A chunk is served
 * only when both hold it: bytes verified against the root, and the path that verified them.
 * Bounded to MAX_PATHS entries (a path is at most 12 digests: ~1 KiB of hex), oldest first out;
 * paths of chunks verified in an earlier page load are not kept, so those chunks are not served.
 */
export const MAX_PATHS = 8192;

export interface VerifiedPath {
  /** The dataset's length: the tree's size comes from it, as for every check. */
  readonly bytes: number;
  readonly path: readonly string[];
}

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
