/**
 * Where autotuned tile shapes are kept (kernels/matmul/autotune.ts), per adapter, kernel and shape class, so
 * a reload does not time every shape again. Both the compute worker (which tunes) and the
 * volunteer store (which keeps them) import this; neither imports the other.
 */

/**
 * The version of tuning keys. 2: tuned on kernel time per shape class; version 1's keys
 * (`matmul-f32@adapter`, tuned on whole calls, transfers included) are never read again.
 */
export const TUNE_KEY_VERSION = 2;

/** The cache key of a tuning: kernel, adapter and shape class (see matmul/tile-space.ts). */
export function tuneKey(kernel: string, adapterKey: string, shapeClass: string): string {
  return `v${TUNE_KEY_VERSION}/${kernel}@${adapterKey}/${shapeClass}`;
}

/** A tile configuration: a tiled shader's override constants. */
export interface TileConfig {
  readonly wgX: number;
  readonly wgY: number;
  readonly tm: number;
  readonly tn: number;
  readonly tileK: number;
  /**
   * f32 only: use a vec4 kernel (vec4 loads; 4 × 4 outputs per invocation, or with tm/tn up to
   * 8 × 8 the wide one) when K and N are multiples of 4; other shapes run the scalar kernel with
   * 4 × 4 outputs and the same workgroup.
   */
  readonly vec4?: boolean;
}

export interface TuneCache {
  get(key: string): Promise<TileConfig | undefined>;
  set(key: string, config: TileConfig): Promise<void>;
}

export class MemoryTuneCache implements TuneCache {
  private readonly map = new Map<string, TileConfig>();
  async get(key: string) {
    return this.map.get(key);
  }
  async set(key: string, config: TileConfig) {
    this.map.set(key, config);
  }
}

/** What keeps tuned shapes across reloads: the volunteer store (volunteer-store.ts). */
export interface TuneStore {
  getTune(key: string): Promise<TileConfig | undefined>;
  setTune(key: string, config: TileConfig): Promise<void>;
}

/** The tune cache over a store (in the compute worker: the page's volunteer store, reached over Comlink). */
export class StoredTuneCache implements TuneCache {
  constructor(private readonly store: TuneStore) {}

  /**
   * A failing store reads as a miss and a failed write is dropped: the cache only
   * saves time, and losing it costs one re-tune, whereas an error here would stop the kernel
   * from running.
   */
  async get(key: string): Promise<TileConfig | undefined> {
    try {
      return await this.store.getTune(key);
    } catch {
      return undefined;
    }
  }

  async set(key: string, config: TileConfig): Promise<void> {
    try {
      await this.store.setTune(key, config);
    } catch {
      // See get().
    }
  }
}
