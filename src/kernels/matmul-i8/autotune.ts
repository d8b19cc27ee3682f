/**
 * Picks matmul-i8's tile configuration on this adapter by kernel time at the unit's shape class,
 * as matmul/autotune.ts does for f32 and modp: packed operands resident on the GPU, dispatches
 * timed by timestamps (or back to back), one tuning per (adapter, kernel path, shape class) kept
 * in the tune cache, the timed shape grown from 64 toward the class only while the whole tuning
 * fits `budgetMs`, the throttle asked after every timing, and an abort honoured between them.
 */
import { ErrorCode, TabgridError } from '../../errors';
import { tuneKey } from '../../gpu/tune-cache';
import {
  DEFAULT_MAX_TUNE_SHAPE,
  DEFAULT_TUNE_BUDGET_MS,
  DEFAULT_TUNE_SHAPE,
  capShape,
  pickFastest,
  sizeShape,
  type TuneOptions,
  type TuneResult,
} from '../matmul/autotune';
import type { MatmulShape } from '../matmul/matmul';
import { shapeClass } from '../matmul/tile-space';
import type { I8Config, MatmulI8Gpu } from './gpu';
import { i8CandidatesFor, i8FromTile, i8ToTile } from './tile-space';
import { I8TileBench } from './tile-timing';

export interface I8TuneOptions extends Omit<TuneOptions, 'candidates'> {
  readonly candidates?: readonly I8Config[];
}

/** As TuneResult, with an int8 configuration (timings name configurations as cached: K in int8 values). */
export type I8TuneResult = Omit<TuneResult, 'config'> & { readonly config: I8Config };

/** The tuned configuration for matmul-i8 at `options.shape`'s class on this adapter: from the cache, or timed and cached. */
export async function tuneMatmulI8(gpu: MatmulI8Gpu, options: I8TuneOptions): Promise<I8TuneResult> {
  const cls = shapeClass(options.shape ?? DEFAULT_TUNE_SHAPE);
  // The dot product differs per path (dot4I8Packed or shifts), so each has its own tuning.
  const { path } = await gpu.portablePath();
  const key = tuneKey(`matmul-i8-${path}`, options.adapterKey, `${cls.m}x${cls.n}x${cls.k}`);
  const known = await options.cache.get(key);
  const config = known && i8FromTile(known);
  if (config) return { config, key, timings: [], failed: [], cached: true };
  try {
    return await tune(gpu, { m: cls.m, n: cls.n, k: cls.k }, key, options);
  } catch (err) {
    // As for the other kernels: a failure WebGPU did not explain means the device went away.
    if (err instanceof TabgridError) throw err;
    throw new TabgridError(ErrorCode.DeviceLost, `the GPU failed while tuning matmul-i8: ${String(err)}`, { cause: err });
  }
}

async function tune(gpu: MatmulI8Gpu, cls: MatmulShape, key: string, options: I8TuneOptions): Promise<I8TuneResult> {
  const device = await gpu.device();
  const candidates = i8CandidatesFor(device.limits, options.candidates);
  if (candidates.length === 0) throw new TabgridError(ErrorCode.BadInput, 'no matmul-i8 tile candidate fits this device');
  const repeats = options.repeats ?? 3;
  const perDispatchMs = (options.budgetMs ?? DEFAULT_TUNE_BUDGET_MS) / ((candidates.length + Math.min(3, candidates.length)) * (repeats + 1));
  const target = capShape(cls, options.maxShape ?? DEFAULT_MAX_TUNE_SHAPE);
  const probe = candidates[0]!;
  const { shape, ms } = await sizeShape(target, perDispatchMs, options, async (at) => {
    const bench = await I8TileBench.open(gpu, at);
    try {
      return (await bench.time(probe, { repeats: 2, method: options.method, signal: options.signal })).minMs;
    } finally {
      bench.destroy();
    }
  });
  const dispatchesPerPass = Math.min(16, Math.max(1, Math.ceil(1 / Math.max(ms, 1e-3))));

  const bench = await I8TileBench.open(gpu, shape);
  try {
    // pickFastest ranks tile configurations in the cache's form; each is timed as the i8 configuration it names.
    const byTile = new Map(candidates.map((c) => [i8ToTile(c), c]));
    const time = (tile: ReturnType<typeof i8ToTile>) =>
      bench.time(byTile.get(tile)!, { repeats, dispatchesPerPass, method: options.method, signal: options.signal });
    const picked = await pickFastest([...byTile.keys()], time, options);
    bench.checkDevice();
    await options.cache.set(key, picked.config);
    return { config: byTile.get(picked.config)!, key, timings: picked.timings, failed: picked.failed, timedAt: shape, cached: false };
  } finally {
    bench.destroy();
  }
}
