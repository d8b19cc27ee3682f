import { throwIfAborted } from '../../errors';
import type { MatmulShape } from '../matmul/matmul';
import type { KernelContext, KernelOptions, WorkerKernel } from '../worker-kernel';
import { shapeClass } from '../matmul/tile-space';
import { tunedOnce } from '../matmul/worker';
import { tuneMatmulI8 } from './autotune';
import { I8Path, MatmulI8Gpu, type I8Config } from './gpu';
import { i8Operands, seededInt8 } from './inputs';
import { bytesOfI32, matmulI8Rows } from './matmul-i8';
import { i8Simd, matmulI8RowsSimd, packBForSimd } from './matmul-i8-simd';
import type { MatmulI8Unit } from './unit';

/**
 * Multiply-adds per CPU slice (a few ms with SIMD, tens without): between slices the worker
 * yields (an abort gets through) and rests when throttled.
 */
const CPU_SLICE_MADDS = 1 << 24;

const gpuOf = (context: KernelContext) => context.shared('matmul-i8/gpu', () => new MatmulI8Gpu(context.devices));

/**
 * The tile configuration tuned for this adapter at `shape`'s class (timed once per engine and
 * class, by kernel time, then cached), under the unit's abort signal and throttle, as the f32
 * and modp workers tune theirs (matmul/worker.ts).
 */
function tuning(context: KernelContext, shape: MatmulShape, options: KernelOptions): Promise<I8Config> {
  const cls = shapeClass(shape);
  return tunedOnce(
    context,
    'matmul-i8/tuned',
    `${cls.m}x${cls.n}x${cls.k}`,
    async (adapterKey) =>
      (await tuneMatmulI8(gpuOf(context), { adapterKey, cache: context.tuneCache, shape, signal: options.signal, pace: options.pace })).config,
  );
}

/** B as the CPU path reads it: packed for the SIMD kernel once per unit, or as it is where SIMD is missing. */
type CpuB = { readonly b: Int8Array; readonly packed: Int16Array | undefined };
const cpuB = (b: Int8Array, k: number, n: number): CpuB => ({ b, packed: i8Simd() ? packBForSimd(b, k, n) : undefined });

/**
 * Rows [start, end) of C on the CPU, one thread (the worker pool of the other products takes
 * f32 and residues only): WebAssembly SIMD (matmul-i8-simd.ts), plain JS where it is missing;
 * in slices of whole row quads.
 */
async function rowsOnCpu(a: Int8Array, b: CpuB, shape: MatmulShape, start: number, end: number, options: KernelOptions): Promise<Int32Array> {
  const { n, k } = shape;
  const band = { m: end - start, n, k };
  const aBand = a.subarray(start * k, end * k);
  const out = new Int32Array(band.m * n);
  const slice = 4 * Math.max(1, Math.floor(CPU_SLICE_MADDS / (4 * n * k)));
  for (let from = 0; from < band.m; from += slice) {
    throwIfAborted(options.signal);
    const to = Math.min(band.m, from + slice);
    const started = performance.now();
    if (!b.packed || !matmulI8RowsSimd(aBand, b.packed, band, from, to, out)) matmulI8Rows(aBand, b.b, band, from, to, out);
    options.onProgress?.(to, band.m);
    await new Promise((r) => setTimeout(r, 0));
    await options.pace?.rest(performance.now() - started, options.signal);
  }
  return out;
}

/** The problem a software adapter is timed on against the CPU: 128³. */
const CALIBRATION_SHAPE = { m: 128, n: 128, k: 128 };
let calibrationOperands: readonly [Int8Array, Int8Array] | undefined;
const calibration = () => (calibrationOperands ??= [seededInt8(1, 1, 128 * 128), seededInt8(1, 2, 128 * 128)]);
let calibrationB: CpuB | undefined;

/** int8 products in the compute worker: tensor cores where offered and proven (subgroup-matrix.ts), else matmul-i8.wgsl (dot4I8Packed, or shifts without it) with tuned tiles, or WebAssembly SIMD on the CPU. */
export const matmulI8Worker: WorkerKernel<MatmulI8Unit> = {
  calibration: (context) => ({
    gpu: () => gpuOf(context).matmul(...calibration(), CALIBRATION_SHAPE),
    cpu: () => {
      const [a, b] = calibration();
      return rowsOnCpu(a, (calibrationB ??= cpuB(b, 128, 128)), CALIBRATION_SHAPE, 0, CALIBRATION_SHAPE.m, {});
    },
  }),
  run(unit, context) {
    // The CPU makes the operands only for a CPU run; the GPU makes them itself, packed (seeded-i8.wgsl).
    let operands: ReturnType<typeof i8Operands> | undefined;
    let bCpu: CpuB | undefined;
    return {
      gpu: async (start, end, options) => {
        const gpu = gpuOf(context);
        const { path, reason } = await gpu.path();
        context.notePath?.('matmul-i8', `${path}: ${reason}`);
        // The tensor-core path's tile is the adapter's configuration: only the portable shader is tuned.
        const config = path === I8Path.SubgroupMatrix ? undefined : await tuning(context, unit, options);
        const out = await gpu.seeded(unit.seed, { m: end - start, n: unit.n, k: unit.k }, start, {
          ...options,
          config,
          leafHashes: options.onLeafHashes !== undefined,
        });
        if (out.leafHashes) options.onLeafHashes?.(out.leafHashes);
        return new Uint8Array(out.c);
      },
      cpu: async (start, end, options) => {
        const { a, b } = (operands ??= i8Operands(unit));
        return bytesOfI32(await rowsOnCpu(a, (bCpu ??= cpuB(b, unit.k, unit.n)), unit, start, end, options));
      },
    };
  },
};
