import { describe } from 'vitest';
import { bufferPoolCases } from '../helpers/buffer-pool-cases';
import { gpuSuite } from '../helpers/gpu-suite';

const { devices } = gpuSuite();

describe('BufferPool on SwiftShader', () => {
  bufferPoolCases(() => devices);
});
