/**
 * Where autotuned tile shapes are kept (kernels/matmul/autotune.ts), per adapter and kernel, so
 * a reload does not time every shape again. Both the compute worker (which tunes) and the
 * volunteer store (which keeps them) import this; neither imports the other.
 */

/** A tile configuration: a tiled shader's override constants. */
export interface TileConfig {
  readonly wgX: number;
  readonly wgY: number;
  readonly tm: number;
  readonly tn: number;
  readonly tileK: number;
  /**
   * f32 only: use the vec4 kernel (4 × 4 outputs per invocation, vec4 loads) when K and N are
   * multiples of 4; other shapes run the scalar kernel with the same tiles.
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
