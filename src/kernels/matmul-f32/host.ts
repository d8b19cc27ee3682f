import type { HostKernel } from '../host-kernel';
import { f32Freivalds } from '../matmul/freivalds';
import { matmulUnitFields, matmulWork } from '../matmul/job';
import { matmulGrid } from '../matmul/tiles';
import { f32Operands, type Operands } from '../matmul/inputs';
import { f32LeafCheck } from '../matmul/leaf-check';
import { bytesOfC, matmulF32Ref } from '../matmul/matmul';
import { matmulF32Form } from './form';
import { matmulF32SpecSchema, type MatmulF32JobSpec } from './spec';
import type { MatmulF32Unit } from './unit';

/**
 * f32 matrix products, as the host, the dashboard and the farm know them. Devices round
 * differently, so results are checked within a tolerance and never replicated.
 */
export const matmulF32Host = {
  kernel: 'matmul-f32',
  spec: matmulF32SpecSchema,
  unit: (spec, index) => ({ kernel: 'matmul-f32', ...matmulUnitFields(spec, index), p: 0 }),
  inputsOf: f32Operands,
  datasets: (spec) => (spec.data ? [spec.data.a, ...spec.data.panels] : []),
  work: matmulWork,
  checks: {
    kind: 'leaves',
    leafCheck: f32LeafCheck,
    // Rounded as the f64-accumulated reference does: a volunteer's C differs within the tolerance.
    reference: (unit) => {
      const { a, b } = f32Operands(unit);
      return bytesOfC(matmulF32Ref(a, b, unit));
    },
    bitExact: false,
    freivalds: f32Freivalds,
  },
  output: { as: 'matrix', dtype: 'float32-le', shape: (spec) => ({ m: spec.m, n: spec.n }), grid: matmulGrid },
  form: matmulF32Form,
} as const satisfies HostKernel<MatmulF32JobSpec, MatmulF32Unit, Operands<Float32Array>>;
