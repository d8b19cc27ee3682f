import * as v from 'valibot';
import { matmulUnitLayout, matmulUnitSchema } from '../matmul/unit';
import type { UnitKernel } from '../unit-kernel';

// int8 products have no modulus; the wire keeps the field (0) as matmul-f32 does.
export const matmulI8UnitSchema = v.pipe(
  matmulUnitSchema('matmul-i8', v.literal(0, 'must be 0 for matmul-i8')),
  // Its operands are packed int8 (inputs.ts), which no dataset format maps to yet.
  v.check((u) => u.a === undefined, 'reads no datasets: matmul-i8 units are seeded'),
);
export type MatmulI8Unit = v.InferOutput<typeof matmulI8UnitSchema>;

export const matmulI8Unit = {
  kernel: 'matmul-i8',
  name: 'int8 matrix products',
  schema: matmulI8UnitSchema,
  ...matmulUnitLayout,
} as const satisfies UnitKernel<MatmulI8Unit>;
