import * as v from 'valibot';
import { datasetSlice, int, record, str } from '../../protocol/fields';
import type { MatmulF32Unit } from '../matmul-f32/unit';
import type { MatmulModpUnit } from '../matmul-modp/unit';
import { UnitOutput } from '../unit-kernel';

/** Largest prime modulus: every product of two residues then fits a u32 before reduction. */
export const MODP_MAX = 65521;

/** Largest matrix side in a unit: a row of C (a Merkle leaf) stays ≤ 4 KiB. */
export const MAX_UNIT_MATRIX_DIM = 1024;

/** Largest inner dimension of a unit reading dataset operands (a 1024-row band of A is then 64 MiB). */
export const MAX_UNIT_INNER_DIM = 16384;

/**
 * C = A·B for A (m×k) and B (k×n). Their elements come from `seed` (inputs.ts), or, where the
 * unit names dataset slices `a` (m×k) and `b` (k×n), from those bytes: row-major little-endian
 * words of the job's datasets, and then `seed` is 0. The result's leaves are the rows of C.
 * `p` is the modulus, as each kernel takes it (0 for f32: the wire keeps the field).
 */
export function matmulUnitSchema<const K extends string, const P extends v.GenericSchema<number>>(kernel: K, p: P) {
  const side = int(1, MAX_UNIT_MATRIX_DIM);
  const fields = record({
    kernel: v.literal(kernel),
    jobId: str(),
    unitId: str(),
    seed: int(0, 0xffffffff),
    m: side,
    n: side,
    k: int(1, MAX_UNIT_INNER_DIM),
    p,
    a: v.optional(datasetSlice()),
    b: v.optional(datasetSlice()),
  });
  // The unit's own fields are checked; then how its operands fit them (reported under `a`).
  return v.pipe(
    fields,
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = operandsProblem(dataset.value as MatmulOperandFields);
      if (problem) addIssue({ message: problem });
    }),
  );
}

interface MatmulOperandFields {
  readonly seed: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly a?: { readonly length: number };
  readonly b?: { readonly length: number };
}

/** Seeded units keep k ≤ MAX_UNIT_MATRIX_DIM; dataset units name both operands, each exactly m×k and k×n words. */
function operandsProblem(u: MatmulOperandFields): string | undefined {
  if ((u.a === undefined) !== (u.b === undefined)) return 'names one dataset operand: a unit reads both a and b from datasets, or neither';
  if (u.a === undefined || u.b === undefined) return u.k > MAX_UNIT_MATRIX_DIM ? `k must be at most ${MAX_UNIT_MATRIX_DIM} for a seeded unit` : undefined;
  if (u.seed !== 0) return 'seed must be 0 for a unit that reads datasets';
  if (u.a.length !== 4 * u.m * u.k) return `a must be ${4 * u.m * u.k} bytes (m×k words)`;
  if (u.b.length !== 4 * u.k * u.n) return `b must be ${4 * u.k * u.n} bytes (k×n words)`;
  return undefined;
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
