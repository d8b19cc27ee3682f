import * as v from 'valibot';
import { MODP_MAX } from '../matmul/matmul';
import { MODULUS_MESSAGE, matmulUnitLayout, matmulUnitSchema } from '../matmul/unit';
import type { UnitKernel } from '../unit-kernel';

/** Whether p is prime is the kernel's own check (matmul.ts checkModulus), before any work. */
export const matmulModpUnitSchema = matmulUnitSchema(
  'matmul-modp',
  v.pipe(v.number(MODULUS_MESSAGE), v.integer(MODULUS_MESSAGE), v.minValue(2, MODULUS_MESSAGE), v.maxValue(MODP_MAX, MODULUS_MESSAGE)),
);
export type MatmulModpUnit = v.InferOutput<typeof matmulModpUnitSchema>;

export const matmulModpUnit = {
  kernel: 'matmul-modp',
  name: 'mod-p matrix products',
  schema: matmulModpUnitSchema,
  ...matmulUnitLayout,
} as const satisfies UnitKernel<MatmulModpUnit>;
