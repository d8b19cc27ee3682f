import * as v from 'valibot';
import { int, record, str } from '../../protocol/fields';
import type { MatmulF32Unit } from '../matmul-f32/unit';
import type { MatmulModpUnit } from '../matmul-modp/unit';
import { UnitOutput } from '../unit-kernel';

/** Largest prime modulus: every product of two residues then fits a u32 before reduction. */
export const MODP_MAX = 65521;

/** Largest matrix side in a unit: a row of C (a Merkle leaf) stays ≤ 4 KiB. */
export const MAX_UNIT_MATRIX_DIM = 1024;

/**
 * C = A·B for A (m×k) and B (k×n) derived from `seed` (inputs.ts). The result's leaves are the
 * rows of C. `p` is the modulus, as each kernel takes it (0 for f32: the wire keeps the field).
 */
export function matmulUnitSchema<const K extends string, const P extends v.GenericSchema<number>>(kernel: K, p: P) {
  const side = int(1, MAX_UNIT_MATRIX_DIM);
  return record({ kernel: v.literal(kernel), jobId: str(), unitId: str(), seed: int(0, 0xffffffff), m: side, n: side, k: side, p });
}

/** What the two matmul kernels' units share: rows of C are the leaves, and progress counts them. */
export const matmulUnitLayout = {
  output: UnitOutput.Leaves,
  leafBytes: (unit: { readonly n: number }) => 4 * unit.n,
  leafCount: (unit: { readonly m: number }) => unit.m,
  size: (unit: { readonly m: number }) => unit.m,
} as const;

/** A unit of either matmul kernel. */
export type MatmulUnit = MatmulF32Unit | MatmulModpUnit;
