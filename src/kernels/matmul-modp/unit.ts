import type * as v from 'valibot';
import { int } from '../../protocol/fields';
import { MODP_MAX } from '../matmul/unit';
import { matmulUnitLayout, matmulUnitSchema } from '../matmul/unit';
import type { UnitKernel } from '../unit-kernel';

// The job checks that p is prime (spec.ts), the kernels before any work; here only that it is a modulus they take.
export const matmulModpUnitSchema = matmulUnitSchema('matmul-modp', int(2, MODP_MAX));
export type MatmulModpUnit = v.InferOutput<typeof matmulModpUnitSchema>;

export const matmulModpUnit = {
  kernel: 'matmul-modp',
  name: 'mod-p matrix products',
  schema: matmulModpUnitSchema,
  ...matmulUnitLayout,
} as const satisfies UnitKernel<MatmulModpUnit>;
