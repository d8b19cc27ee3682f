import * as v from 'valibot';
import { fields, intIn, stringOf } from '../schema-fields';
import type { MatmulF32Unit } from '../matmul-f32/unit';
import type { MatmulModpUnit } from '../matmul-modp/unit';
import { UnitOutput } from '../unit-kernel';

/** Largest matrix side in a unit: a row of C (a Merkle leaf) stays ≤ 4 KiB. */
export const MAX_UNIT_MATRIX_DIM = 1024;

/**
 * C = A·B for A (m×k) and B (k×n) derived from `seed` (inputs.ts). The result's leaves are the
 * rows of C. `p` is the modulus, given by each kernel (0 for f32: the wire keeps the field).
 */
export function matmulUnitSchema<const K extends string, P extends v.GenericSchema<unknown, number>>(kernel: K, p: P) {
  return fields(
    {
      kernel: v.literal(kernel),
      jobId: stringOf('unit.jobId'),
      unitId: stringOf('unit.unitId'),
      seed: intIn('unit.seed', 0, 0xffffffff),
      m: intIn('unit.m', 1, MAX_UNIT_MATRIX_DIM),
      n: intIn('unit.n', 1, MAX_UNIT_MATRIX_DIM),
      k: intIn('unit.k', 1, MAX_UNIT_MATRIX_DIM),
      p,
    },
    { notObject: 'unit is not a JSON object', unknown: (key) => `unit: unexpected field '${key}'` },
  );
}

export const MODULUS_MESSAGE = 'unit.p must be a modulus > 1 for matmul-modp and 0 for matmul-f32';

/** What the two matmul kernels' units share: rows of C are the leaves, and progress counts them. */
export const matmulUnitLayout = {
  output: UnitOutput.Leaves,
  leafBytes: (unit: { readonly n: number }) => 4 * unit.n,
  leafCount: (unit: { readonly m: number }) => unit.m,
  size: (unit: { readonly m: number }) => unit.m,
} as const;

/** A unit of either matmul kernel. */
export type MatmulUnit = MatmulF32Unit | MatmulModpUnit;
