import type * as v from 'valibot';
import { jobSpecSchema, replicateRefused } from '../job-spec';
import { matmulDataEntry, matmulEntries, matmulRules } from '../matmul/spec';
import { refused } from '../spec-fields';

/** f32 products differ bitwise between devices, so they are never replicated, and they have no modulus. */
export const matmulF32SpecSchema = jobSpecSchema(
  'matmul-f32',
  { ...matmulEntries, ...matmulDataEntry, p: refused<number>('p is for matmul-modp only'), ...replicateRefused('matmul-f32', 'use verify.policy "freivalds"') },
  matmulRules,
);
export type MatmulF32JobSpec = v.InferOutput<typeof matmulF32SpecSchema>;
