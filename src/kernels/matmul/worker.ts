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
import type { MatmulUnit } from './unit';
import { StagedOperands } from './staged';

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
  return tunedOnce(
    context,
    'matmul/tuned',
    `${kind}/${shapeClassKey(shapeClass(shape))}`,
    async (adapterKey) =>
      (await tuneMatmul(gpuOf(context), kind, { adapterKey, cache: context.tuneCache, shape, signal: options.signal, pace: options.pace })).config,
  );
}

/**
 * One tuning per engine and `key` (in the engine's shared map `mapName`), started on the first
 * unit that asks and awaited by the rest; matmul-i8's worker tunes through it too.
 */
export function tunedOnce<C>(context: KernelContext, mapName: string, key: string, tune: (adapterKey: string) => Promise<C>): Promise<C> {
  const tuned = context.shared(mapName, () => new Map<string, Promise<C>>());
  let config = tuned.get(key);
  if (!config) {
    config = context.adapterKey().then(tune);
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

/**
 * Rows [start, end) of a unit's C on the GPU, as leaf bytes: a seeded unit's operands made on the
 * GPU, a dataset unit's (`operands()`, made once) written to it; and, when the engine asks for
 * them, the rows' Merkle leaf hashes computed there too.
 */
export async function gpuRows<T extends Float32Array | Uint32Array>(
  context: KernelContext,
  kind: MatmulKind,
  unit: MatmulUnit,
  operands: () => { readonly a: T; readonly b: T },
  start: number,
  end: number,
  options: KernelOptions,
): Promise<Uint8Array> {
  const config = await tuning(context, kind, unit, options);
  const band = { m: end - start, n: unit.n, k: unit.k };
  const p = unit.kernel === 'matmul-modp' ? unit.p : 0;
  // A dataset unit's operands go to the GPU once for all its segments.
  const key = `${unit.jobId}/${unit.unitId}`;
  const staged = unit.a ? stagedOf(context).get(key, await context.devices.acquire(), operands, unit, p) : undefined;
  const out = await gpuOf(context).product(kind, staged ? { staged, rowStart: start } : { seed: unit.seed, rowStart: start }, band, p, config, {
    ...options,
    leafHashes: options.onLeafHashes !== undefined,
  });
  if (staged && end === unit.m) stagedOf(context).release(key);
  if (out.leafHashes) options.onLeafHashes?.(out.leafHashes);
  return new Uint8Array(out.c);
}

/** Writes a dataset unit's whole operands to the GPU ahead of its run (a seeded unit's are made there at run time). */
export async function stageUnit<T extends Float32Array | Uint32Array>(
  context: KernelContext,
  unit: MatmulUnit,
  operands: () => { readonly a: T; readonly b: T },
): Promise<void> {
  if (!unit.a) return;
  stagedOf(context).get(`${unit.jobId}/${unit.unitId}`, await context.devices.acquire(), operands, unit, unit.kernel === 'matmul-modp' ? unit.p : 0);
}

/** Dataset units' operands kept on the GPU between their segments, and from before their run (staged.ts). */
export const stagedOf = (context: KernelContext) =>
  context.shared(
    'matmul/staged',
    () => new StagedOperands(),
    (staged) => staged.clear(),
  );
