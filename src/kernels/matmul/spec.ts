import * as v from 'valibot';
import { DEFAULT_REPLICA_SAMPLES, leafPolicyEntries, leafPolicyRules, verifyEntry, type MatmulVerify, type SpecRule } from '../job-spec';
import { intIn } from '../spec-fields';
import { matmulDataSchema, tilesProblem, type MatmulData } from './tiles';
import { MAX_UNIT_INNER_DIM, MAX_UNIT_MATRIX_DIM } from './unit';

/**
 * What the matrix kernels' jobs share: `units` independent products of m×k and k×n matrices
 * derived from the job's seed, checked by challenges or Freivalds' check (`verify`), and
 * optionally kept (`collect`). Seeded jobs keep k ≤ MAX_UNIT_MATRIX_DIM (matmulRules).
 */
export const matmulEntries = {
  m: intIn('m', 1, MAX_UNIT_MATRIX_DIM),
  n: intIn('n', 1, MAX_UNIT_MATRIX_DIM),
  k: intIn('k', 1, MAX_UNIT_INNER_DIM),
  ...verifyEntry,
  ...leafPolicyEntries,
};

/**
 * The kernels whose jobs may read datasets (f32, modp): one big product tiled into units
 * (tiles.ts), m and n the sides of a unit's block of C, k the inner dimension.
 */
export const matmulDataEntry = { data: v.optional(matmulDataSchema) };

interface MatmulPolicyFields {
  readonly id: string;
  readonly units: number;
  readonly seed: number;
  readonly m: number;
  readonly k: number;
  readonly data?: MatmulData;
  readonly n: number;
  readonly samples?: number;
  readonly replicate?: boolean;
  readonly verify?: MatmulVerify;
}

export const matmulRules: readonly SpecRule<MatmulPolicyFields>[] = [
  tilesProblem,
  ...leafPolicyRules,
  // The openings of one result (rows of 8n hex characters plus paths) must fit a message.
  (spec) =>
    (spec.samples ?? (spec.replicate === true ? DEFAULT_REPLICA_SAMPLES : 0)) * (8 * spec.n + 70 * 11) > 480_000
      ? 'samples × row size is too large for one message: use fewer samples or a smaller n'
      : undefined,
];
