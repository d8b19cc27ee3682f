import { DEFAULT_MATMUL_CONFIG, MatmulKind } from '../matmul/gpu';
import { modpOperands } from '../matmul/inputs';
import { MODP_MAX, bytesOfC } from '../matmul/matmul';
import { CALIBRATION_SHAPE, gpuOf, gpuRows, poolOf, rowsOf, stageUnit } from '../matmul/worker';
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
  prepare: (unit, context) => stageUnit(context, unit, () => modpOperands(unit)),
  run(unit, context) {
    // Made on the CPU only for a CPU run or a dataset unit; a seeded unit's GPU run makes them on the GPU.
    let kept: ReturnType<typeof modpOperands> | undefined;
    const operands = () => (kept ??= modpOperands(unit));
    return {
      gpu: (start, end, options) => gpuRows(context, MatmulKind.Modp, unit, operands, start, end, options),
      cpu: async (start, end, options) => bytesOfC(await poolOf(context).matmulModp(...rowsOf(operands(), unit, start, end), unit.p, options)),
    };
  },
};
