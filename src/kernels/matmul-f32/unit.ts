import * as v from 'valibot';
import { matmulUnitLayout, matmulUnitSchema } from '../matmul/unit';
import type { UnitKernel } from '../unit-kernel';

export const matmulF32UnitSchema = matmulUnitSchema('matmul-f32', v.literal(0, 'must be 0 for matmul-f32'));
export type MatmulF32Unit = v.InferOutput<typeof matmulF32UnitSchema>;

export const matmulF32Unit = {
  kernel: 'matmul-f32',
  name: 'f32 matrix products',
  schema: matmulF32UnitSchema,
  ...matmulUnitLayout,
} as const satisfies UnitKernel<MatmulF32Unit>;
