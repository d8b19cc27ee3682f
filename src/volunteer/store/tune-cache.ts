/**
 * The autotune cache (gpu/autotune.ts) kept in the volunteer store, so a reload does not time
 * every tile shape again. Works in a worker too: IndexedDB exists there.
 */
import type { TuneCache } from '../../gpu/autotune';
import type { MatmulConfig } from '../../gpu/matmul-gpu';
import type { VolunteerStore } from './volunteer-store';

export class IdbTuneCache implements TuneCache {
  constructor(private readonly store: Pick<VolunteerStore, 'getTune' | 'setTune'>) {}

  /**
   * A failing store reads as a miss and a failed write is dropped: the cache only saves time,
   * and losing it costs one re-tune, whereas an error here would stop the kernel from running.
   */
  async get(key: string): Promise<MatmulConfig | undefined> {
    try {
      return await this.store.getTune(key);
    } catch {
      return undefined;
    }
  }

  async set(key: string, config: MatmulConfig): Promise<void> {
    try {
      await this.store.setTune(key, config);
    } catch {
      // See get().
    }
  }
}

/** A tune cache over a store opened on first use (the compute worker opens its own connection). */
export function lazyTuneCache(open: () => Promise<Pick<VolunteerStore, 'getTune' | 'setTune'>>): IdbTuneCache {
  let opening: ReturnType<typeof open> | undefined;
  const store = () => (opening ??= open());
  return new IdbTuneCache({ getTune: async (key) => (await store()).getTune(key), setTune: async (key, config) => (await store()).setTune(key, config) });
}
