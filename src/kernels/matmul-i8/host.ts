import type { HostKernel, LeafCheck } from '../host-kernel';
import { matmulUnitFields, matmulWork } from '../matmul/job';
import { i8Freivalds } from './freivalds';
import { i8Operands, type I8Operands } from './inputs';
import { bytesOfI32, matmulI8Ref, matmulI8Row } from './matmul-i8';
import { matmulI8Form } from './form';
import { matmulI8SpecSchema, type MatmulI8JobSpec } from './spec';
import type { MatmulI8Unit } from './unit';

/** A leaf is row i of C (n int32, little-endian); the host recomputes it exactly, O(k·n), and wants it equal. */
function i8LeafCheck(unit: MatmulI8Unit): LeafCheck {
  const { a, b } = i8Operands(unit);
  return (i, leaf) => {
    const want = matmulI8Row(a, b, unit, i);
    const view = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength);
    for (let j = 0; j < unit.n; j++) {
      const got = view.getInt32(4 * j, true);
      if (got !== want[j]) return `C[${i}][${j}] = ${got}, expected ${want[j]}`;
    }
    return undefined;
  };
}

/** int8 products with int32 sums, as the host, the dashboard and the farm know them: exact, so replicas compare roots. */
export const matmulI8Host = {
  kernel: 'matmul-i8',
  spec: matmulI8SpecSchema,
  unit: (spec, index) => ({ kernel: 'matmul-i8', ...matmulUnitFields(spec, index), p: 0 }),
  inputsOf: i8Operands,
  work: matmulWork,
  checks: {
    kind: 'leaves',
    leafCheck: i8LeafCheck,
    reference: (unit) => {
      const { a, b } = i8Operands(unit);
      return bytesOfI32(matmulI8Ref(a, b, unit));
    },
    bitExact: true,
    freivalds: i8Freivalds,
  },
  output: { as: 'matrix', dtype: 'int32-le', shape: (spec) => ({ m: spec.m, n: spec.n }) },
  form: matmulI8Form,
} as const satisfies HostKernel<MatmulI8JobSpec, MatmulI8Unit, I8Operands>;
