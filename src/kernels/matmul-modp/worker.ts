import { DEFAULT_MATMUL_CONFIG, MatmulKind } from '../matmul/gpu';
import { modpOperands } from '../matmul/inputs';
import { MODP_MAX, bytesOfC } from '../matmul/matmul';
import { CALIBRATION_SHAPE, gpuOf, poolOf, rowsOf, tuning } from '../matmul/worker';
import type { WorkerKernel } from '../worker-kernel';
import type { MatmulModpUnit } from './unit';

let calibrationOperands: readonly [Uint32Array, Uint32Array] | undefined;
const calibration = () => (calibrationOperands ??= [new Uint32Array(128 * 128).fill(3), new Uint32Array(128 * 128).fill(5)]);

/** Products modulo a prime in the compute worker: matmul-modp.wgsl with tuned tiles, or the WASM SIMD pool (f64 lanes) on the CPU. */
export const matmulModpWorker: WorkerKernel<MatmulModpUnit> = {
  calibration: (context) => ({
    gpu: () => gpuOf(context).modp(...calibration(), CALIBRATION_SHAPE, MODP_MAX, DEFAULT_MATMUL_CONFIG),
    cpu: () => poolOf(context).matmulModp(...calibration(), CALIBRATION_SHAPE, MODP_MAX),
  }),
  run(unit, context) {
    const operands = modpOperands(unit);
    return {
      gpu: async (start, end, options) =>
        bytesOfC(await gpuOf(context).modp(...rowsOf(operands, unit, start, end), unit.p, await tuning(context, MatmulKind.Modp, unit, options), options)),
      cpu: async (start, end, options) => bytesOfC(await poolOf(context).matmulModp(...rowsOf(operands, unit, start, end), unit.p, options)),
    };
  },
};
