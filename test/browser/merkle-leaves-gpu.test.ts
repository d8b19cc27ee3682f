import { describe } from 'vitest';
import { gpuSuite } from '../helpers/gpu-suite';
import { merkleLeavesCases } from '../helpers/merkle-leaves-cases';

const { devices, scoped } = gpuSuite();

describe('Merkle leaves on the GPU (SwiftShader)', () => {
  merkleLeavesCases(() => devices, scoped);
});
