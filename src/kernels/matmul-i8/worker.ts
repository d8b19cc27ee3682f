import { throwIfAborted } from '../../errors';
import type { MatmulShape } from '../matmul/matmul';
import type { KernelContext, KernelOptions, WorkerKernel } from '../worker-kernel';
import { MatmulI8Gpu } from './gpu';
import { i8Operands, seededInt8 } from './inputs';
import { bytesOfI32, matmulI8Rows, packColumns, packedWords, packRows } from './matmul-i8';
import type { MatmulI8Unit } from './unit';

/** Multiply-adds per CPU slice (about 10 ms here): between slices the worker yields (an abort gets through) and rests when throttled. */
const CPU_SLICE_MADDS = 1 << 22;

const gpuOf = (context: KernelContext) => context.shared('matmul-i8/gpu', () => new MatmulI8Gpu(context.devices));

/**
 * Rows [start, end) of C on the CPU (plain JS, one thread: the worker pool of the other products
 * takes f32 and residues only), in slices of rows.
 */
async function rowsOnCpu(a: Int8Array, b: Int8Array, shape: MatmulShape, start: number, end: number, options: KernelOptions): Promise<Int32Array> {
  const { n, k } = shape;
  const band = { m: end - start, n, k };
  const aBand = a.subarray(start * k, end * k);
  const out = new Int32Array(band.m * n);
  const slice = Math.max(1, Math.floor(CPU_SLICE_MADDS / (n * k)));
  for (let from = 0; from < band.m; from += slice) {
    throwIfAborted(options.signal);
    const to = Math.min(band.m, from + slice);
    const started = performance.now();
    matmulI8Rows(aBand, b, band, from, to, out);
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

/** int8 products in the compute worker: matmul-i8.wgsl (dot4I8Packed, or shifts without it), or plain JS on the CPU. */
export const matmulI8Worker: WorkerKernel<MatmulI8Unit> = {
  calibration: (context) => ({
    gpu: () => gpuOf(context).matmul(...calibration(), CALIBRATION_SHAPE),
    cpu: () => rowsOnCpu(...calibration(), CALIBRATION_SHAPE, 0, CALIBRATION_SHAPE.m, {}),
  }),
  run(unit, context) {
    const { a, b } = i8Operands(unit);
    // B is packed once for the unit, on the first GPU segment.
    let bt: Uint32Array | undefined;
    return {
      gpu: async (start, end, options) => {
        bt ??= packColumns(b, unit.k, unit.n);
        const aRows = packRows(a.subarray(start * unit.k, end * unit.k), end - start, unit.k);
        if (aRows.length !== (end - start) * packedWords(unit.k)) throw new Error('packed rows of A have the wrong length');
        return bytesOfI32(await gpuOf(context).packed(aRows, bt, { m: end - start, n: unit.n, k: unit.k }, options));
      },
      cpu: async (start, end, options) => bytesOfI32(await rowsOnCpu(a, b, unit, start, end, options)),
    };
  },
};
