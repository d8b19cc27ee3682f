import { describe } from 'vitest';
import { MatmulGpu } from '../../src/kernels/matmul/gpu';
import { dawnGpu } from '../helpers/dawn-device';
import { gpuSuite } from '../helpers/gpu-suite';
import { seededGpuCases } from '../helpers/seeded-gpu-cases';

const dawn = await dawnGpu();
/** Dawn's GPU (read inside a function, as a page's navigator.gpu is). */
const gpu = () => ('gpu' in dawn ? dawn.gpu : undefined);
if ('skip' in dawn) console.warn(`seeded-gpu-dawn.test.ts: skipped: ${dawn.skip}`);

describe.skipIf('skip' in dawn)('seeded operands on the GPU (Dawn)', () => {
  const { devices } = gpuSuite(gpu);
  const matmul = new MatmulGpu(devices);
  seededGpuCases(
    () => devices,
    () => matmul,
    (run) => run(),
  );
});
