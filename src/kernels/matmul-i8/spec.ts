import type * as v from 'valibot';
import { jobSpecSchema, replicateEntry } from '../job-spec';
import { matmulEntries, matmulRules } from '../matmul/spec';
import { refused } from '../spec-fields';

/**
 * int8 products with exact int32 sums: bit-exact everywhere, so they may be replicated, and
 * Freivalds' check applies (freivalds.ts). Sides ≤ 1024 keep a row of C within 4 KiB and every
 * |C| ≤ 128·128·k ≤ 2^24, far from int32 overflow (which needs k > 131071).
 */
export const matmulI8SpecSchema = jobSpecSchema(
  'matmul-i8',
  { ...matmulEntries, p: refused<number>('p is for matmul-modp only'), ...replicateEntry },
  matmulRules,
);
export type MatmulI8JobSpec = v.InferOutput<typeof matmulI8SpecSchema>;
