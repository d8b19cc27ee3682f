import { describe } from 'vitest';
import { gpuSuite } from '../helpers/gpu-suite';
import { unitStreamCases } from '../helpers/unit-stream-cases';

const { devices } = gpuSuite();

describe('the matmul unit stream (SwiftShader)', () => {
  unitStreamCases(
    () => devices,
    () => navigator.gpu,
  );
});
