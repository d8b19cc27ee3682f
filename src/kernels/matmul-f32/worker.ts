import { bytesOfC } from '../matmul/matmul';
import { MatmulKind } from '../matmul/gpu';
import { f32Operands } from '../matmul/inputs';
import { CALIBRATION_CONFIG, CALIBRATION_SHAPE, gpuOf, poolOf, rowsOf, tuning } from '../matmul/worker';
import type { WorkerKernel } from '../worker-kernel';
import type { MatmulF32Unit } from './unit';

let calibrationOperands: readonly [Float32Array, Float32Array] | undefined;
const calibration = () => (calibrationOperands ??= [new Float32Array(128 * 128).fill(0.5), new Float32Array(128 * 128).fill(0.25)]);

/** f32 products in the compute worker: matmul-f32*.wgsl with tuned tiles, or the WASM SIMD pool on the CPU. */
export const matmulF32Worker: WorkerKernel<MatmulF32Unit> = {
  calibration: (context) => ({
    gpu: () => gpuOf(context).f32(...calibration(), CALIBRATION_SHAPE, CALIBRATION_CONFIG),
    cpu: () => poolOf(context).matmulF32(...calibration(), CALIBRATION_SHAPE),
  }),
  run(unit, context) {
    const operands = f32Operands(unit);
    return {
      gpu: async (start, end, options) =>
        bytesOfC(await gpuOf(context).f32(...rowsOf(operands, unit, start, end), await tuning(context, MatmulKind.F32, unit, options), options)),
      cpu: async (start, end, options) => bytesOfC(await poolOf(context).matmulF32(...rowsOf(operands, unit, start, end), options)),
    };
  },
};
