/**
 * Picks a matmul kernel's tile configuration on this adapter by kernel time at the unit's shape
 * class: operands resident on the GPU, dispatches timed by timestamps (or back to back), so
 * transfers, which every tile pays alike, do not drown the differences. One tuning per
 * (adapter, kernel, shape class), kept in the tune cache. Tuning is bounded: the timed shape
 * grows from 64 toward the class only while the whole tuning fits `budgetMs`; it honours the
 * throttle between candidates and stops when aborted.
 */
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import type { Pace } from '../../duty-cycle';
import type { TimingMethod } from '../../gpu/kernel-timer';
import { tuneKey, type TuneCache } from '../../gpu/tune-cache';
import { configKey, type MatmulConfig, type MatmulGpu, type MatmulKind } from './gpu';
import type { MatmulShape } from './matmul';
import { TileBench } from './tile-timing';
import { candidatesFor, shapeClass, shapeClassKey, type ShapeClass } from './tile-space';

export { MATMUL_CANDIDATES } from './tile-space';

export interface TileTiming {
  readonly config: string;
  /** Median kernel milliseconds per dispatch at the timed shape. */
  readonly ms: number;
  readonly method: TimingMethod;
}

export interface TuneResult {
  readonly config: MatmulConfig;
  /** The cache key: kernel, adapter and shape class. */
  readonly key: string;
  /** Kernel time per candidate; empty when the cache answered. */
  readonly timings: readonly TileTiming[];
  /** Candidates that could not run here (compile or device errors), with why. */
  readonly failed: readonly { readonly config: string; readonly error: string }[];
  /** The shape the candidates were timed at (the class, or less when the budget said so); undefined when cached. */
  readonly timedAt?: MatmulShape;
  readonly cached: boolean;
}

export interface TuneOptions {
  readonly adapterKey: string;
  readonly cache: TuneCache;
  /** The unit's shape (default 1024³, the largest unit); tuning is per its class (tile-space.ts). */
  readonly shape?: MatmulShape;
  /** The largest shape timed (default 1024 × 1024 × 4096); a bench may raise it to time at 4096³. */
  readonly maxShape?: MatmulShape;
  /** About how long the timed dispatches may take in all (default 2000 ms; compiling is extra). */
  readonly budgetMs?: number;
  readonly candidates?: readonly MatmulConfig[];
  /** Timed dispatches per candidate (default 3), after one warm-up. */
  readonly repeats?: number;
  /** Force the timing method (tests, benches). */
  readonly method?: TimingMethod;
  readonly signal?: AbortSignal;
  /** The throttle (duty-cycle.ts): rests after each candidate for its share of the time. */
  readonly pace?: Pace;
}

export const DEFAULT_TUNE_SHAPE: MatmulShape = { m: 1024, n: 1024, k: 1024 };
export const DEFAULT_MAX_TUNE_SHAPE: MatmulShape = { m: 1024, n: 1024, k: 4096 };
export const DEFAULT_TUNE_BUDGET_MS = 2000;

/**
 * The tile configuration for `kind` at `options.shape`'s class on this adapter: from the cache,
 * or tuned by kernel time and cached. This is the entry point for benches too (e.g. Dawn in
 * Node: `tuneMatmul(new MatmulGpu(devices), 'f32', { adapterKey, cache: new MemoryTuneCache(),
 * shape: { m: 4096, n: 4096, k: 4096 }, maxShape: { m: 4096, n: 4096, k: 4096 }, budgetMs: 30_000 })`).
 */
export async function tuneMatmul(gpu: MatmulGpu, kind: MatmulKind, options: TuneOptions): Promise<TuneResult> {
  const cls = shapeClass(options.shape ?? DEFAULT_TUNE_SHAPE);
  const key = tuneKey(`matmul-${kind}`, options.adapterKey, shapeClassKey(cls));
  const known = await options.cache.get(key);
  if (known) return { config: known, key, timings: [], failed: [], cached: true };

  try {
    return await tune(gpu, kind, cls, key, options);
  } catch (err) {
    // As for kernel runs (gpu/run.ts): a failure WebGPU did not explain (a rejected readback or
    // queue wait) means the device went away, and the engine reruns on a new one.
    if (err instanceof TabgridError) throw err;
    throw new TabgridError(ErrorCode.DeviceLost, `the GPU failed while tuning matmul-${kind}: ${String(err)}`, { cause: err });
  }
}

async function tune(gpu: MatmulGpu, kind: MatmulKind, cls: ShapeClass, key: string, options: TuneOptions): Promise<TuneResult> {
  const device = await gpu.device();
  const candidates = candidatesFor(kind, cls, device.limits, options.candidates);
  if (candidates.length === 0) throw new TabgridError(ErrorCode.BadInput, `no matmul-${kind} tile candidate fits this device for ${shapeClassKey(cls)}`);
  const repeats = options.repeats ?? 3;
  // Every candidate and three finalists again, each a warm-up and `repeats` timed dispatches.
  const perDispatchMs = (options.budgetMs ?? DEFAULT_TUNE_BUDGET_MS) / ((candidates.length + Math.min(3, candidates.length)) * (repeats + 1));
  const target = capShape(cls, options.maxShape ?? DEFAULT_MAX_TUNE_SHAPE);
  const probe = candidates[0]!;
  const { shape, ms } = await sizeShape(target, perDispatchMs, options, async (at) => {
    const bench = await TileBench.open(gpu, kind, at);
    try {
      // The faster of two: a busy machine can only slow a dispatch down.
      return (await bench.time(probe, { repeats: 2, method: options.method, signal: options.signal })).minMs;
    } finally {
      bench.destroy();
    }
  });
  // Passes of about a millisecond or more: coarse timestamps (100 µs in browsers) still rank short kernels.
  const dispatchesPerPass = Math.min(16, Math.max(1, Math.ceil(1 / Math.max(ms, 1e-3))));

  const bench = await TileBench.open(gpu, kind, shape);
  try {
    const time = (config: MatmulConfig) => bench.time(config, { repeats, dispatchesPerPass, method: options.method, signal: options.signal });
    const picked = await pickFastest(candidates, time, options);
    bench.checkDevice();
    await options.cache.set(key, picked.config);
    return { ...picked, key, timedAt: shape, cached: false };
  } finally {
    bench.destroy();
  }
}

/** The class capped side by side at `max` (so tuning a huge K stays bounded). */
export function capShape(cls: MatmulShape, max: MatmulShape): MatmulShape {
  return { m: Math.min(cls.m, max.m), n: Math.min(cls.n, max.n), k: Math.min(cls.k, max.k) };
}

/**
 * The largest shape up to `target` whose probe dispatch (`probeMs`: opens a bench at the shape,
 * times the probe configuration, closes it) stays within `perDispatchMs`: from 64 per side (or
 * less), the side furthest from its target doubles while the last measured time says the doubled
 * one fits. Each probe costs at most about twice the bound. Shared with matmul-i8/autotune.ts.
 */
export async function sizeShape(
  target: MatmulShape,
  perDispatchMs: number,
  options: { readonly signal?: AbortSignal; readonly pace?: Pace },
  probeMs: (shape: MatmulShape) => Promise<number>,
): Promise<{ shape: MatmulShape; ms: number }> {
  let shape = { m: Math.min(64, target.m), n: Math.min(64, target.n), k: Math.min(64, target.k) };
  for (;;) {
    throwIfAborted(options.signal);
    const started = performance.now();
    const ms = await probeMs(shape);
    await options.pace?.rest(performance.now() - started, options.signal);
    const side = (['m', 'n', 'k'] as const).filter((s) => shape[s] < target[s]).sort((x, y) => shape[x] / target[x] - shape[y] / target[y])[0];
    if (side === undefined || 2 * ms > perDispatchMs) return { shape, ms };
    shape = { ...shape, [side]: Math.min(target[side], 2 * shape[side]) };
  }
}

/**
 * Measures each candidate in turn, then the `finalists` fastest once more, and keeps the one
 * with the least time (a candidate's time: the lesser of its measurements, since interference
 * only slows a dispatch; the earlier candidate on a tie). A candidate that fails with a GPU error
 * (a driver that cannot compile it) is skipped and reported; anything else (abort, device loss)
 * ends the tuning. Rests per `pace` after each measurement.
 */
export async function pickFastest(
  candidates: readonly MatmulConfig[],
  measure: (config: MatmulConfig) => Promise<{ readonly ms: number; readonly method: TimingMethod }>,
  options: { readonly signal?: AbortSignal; readonly pace?: Pace; readonly finalists?: number } = {},
): Promise<{ config: MatmulConfig; timings: TileTiming[]; failed: { config: string; error: string }[] }> {
  const timings: TileTiming[] = [];
  const failed: { config: string; error: string }[] = [];
  const ran: { config: MatmulConfig; index: number }[] = [];
  const once = async (config: MatmulConfig): Promise<{ ms: number; method: TimingMethod } | undefined> => {
    throwIfAborted(options.signal);
    const started = performance.now();
    try {
      return await measure(config);
    } catch (err) {
      if (!(err instanceof TabgridError) || err.code !== ErrorCode.GpuError) throw err;
      failed.push({ config: configKey(config), error: err.message });
      return undefined;
    } finally {
      await options.pace?.rest(performance.now() - started, options.signal);
    }
  };
  for (const config of candidates) {
    const timed = await once(config);
    if (!timed) continue;
    ran.push({ config, index: timings.length });
    timings.push({ config: configKey(config), ms: timed.ms, method: timed.method });
  }
  if (ran.length === 0) throw new TabgridError(ErrorCode.GpuError, `no tile configuration ran: ${failed.map((f) => `${f.config}: ${f.error}`).join('; ')}`);
  const byTime = () => [...ran].sort((x, y) => timings[x.index]!.ms - timings[y.index]!.ms || x.index - y.index);
  if (ran.length > 1) {
    for (const finalist of byTime().slice(0, options.finalists ?? 3)) {
      const again = await once(finalist.config);
      const first = timings[finalist.index]!;
      if (again && again.ms < first.ms) timings[finalist.index] = { ...first, ms: again.ms };
    }
  }
  return { config: byTime()[0]!.config, timings, failed };
}
