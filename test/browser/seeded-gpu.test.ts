import { describe } from 'vitest';
import { MatmulGpu } from '../../src/kernels/matmul/gpu';
import { gpuSuite } from '../helpers/gpu-suite';
import { seededGpuCases } from '../helpers/seeded-gpu-cases';

const { devices, scoped } = gpuSuite();
const gpu = new MatmulGpu(devices);

describe('seeded operands on the GPU (SwiftShader)', () => {
  seededGpuCases(
    () => devices,
    () => gpu,
    scoped,
  );
});
