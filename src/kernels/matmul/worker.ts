/**
 * What the two matrix kernels share in the compute worker: one GPU runner, one pool of CPU
 * workers, the tile shapes tuned per adapter, and the small problem a software adapter is timed
 * on against the CPU.
 */
import type { KernelContext, KernelOptions } from '../worker-kernel';
import { tuneMatmul } from './autotune';
import type { MatmulShape } from './matmul';
import { shapeClass, shapeClassKey } from './tile-space';
import { CpuMatmulPool } from './cpu-pool';
import { DEFAULT_MATMUL_CONFIG, MatmulGpu, type MatmulConfig, type MatmulKind } from './gpu';

export const gpuOf = (context: KernelContext) => context.shared('matmul/gpu', () => new MatmulGpu(context.devices));

export const poolOf = (context: KernelContext) =>
  context.shared(
    'matmul/cpu-pool',
    () => new CpuMatmulPool(context.cpuWorkers === undefined ? {} : { workers: context.cpuWorkers }),
    (pool) => pool.terminate(),
  );

/**
 * The tile configuration tuned for this adapter at `shape`'s class (timed once per engine and
 * class, by kernel time, then cached), under the unit's abort signal and throttle.
 */
export function tuning(context: KernelContext, kind: MatmulKind, shape: MatmulShape, options: KernelOptions = {}): Promise<MatmulConfig> {
  const tuned = context.shared('matmul/tuned', () => new Map<string, Promise<MatmulConfig>>());
  const key = `${kind}/${shapeClassKey(shapeClass(shape))}`;
  let config = tuned.get(key);
  if (!config) {
    config = context
      .adapterKey()
      .then(
        async (adapterKey) =>
          (await tuneMatmul(gpuOf(context), kind, { adapterKey, cache: context.tuneCache, shape, signal: options.signal, pace: options.pace })).config,
      );
    // A failed (or aborted) tuning is not remembered; the next unit tries again.
    config.catch(() => tuned.delete(key));
    tuned.set(key, config);
  }
  return config;
}

/** The calibration problem's shape, and the tile shape it runs with: tuning costs seconds, and only pays if the GPU wins. */
export const CALIBRATION_SHAPE = { m: 128, n: 128, k: 128 };
export const CALIBRATION_CONFIG: MatmulConfig = { ...DEFAULT_MATMUL_CONFIG, wgX: 8, wgY: 8, vec4: true };

/** The arguments for rows [start, end) of C: those rows of A, all of B. */
export function rowsOf<T extends Float32Array | Uint32Array>(
  operands: { readonly a: T; readonly b: T },
  unit: { readonly n: number; readonly k: number },
  start: number,
  end: number,
) {
  return [operands.a.subarray(start * unit.k, end * unit.k) as T, operands.b, { m: end - start, n: unit.n, k: unit.k }] as const;
}
