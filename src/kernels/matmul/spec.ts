import { DEFAULT_REPLICA_SAMPLES, leafPolicyEntries, leafPolicyRules, verifyEntry, type MatmulVerify, type SpecRule } from '../job-spec';
import { intIn } from '../spec-fields';
import { MAX_UNIT_MATRIX_DIM } from './unit';

/**
 * What the two matrix kernels' jobs share: `units` independent products of m×k and k×n
 * matrices derived from the job's seed, checked by challenges or Freivalds' check (`verify`),
 * and optionally kept (`collect`).
 */
export const matmulEntries = {
  m: intIn('m', 1, MAX_UNIT_MATRIX_DIM),
  n: intIn('n', 1, MAX_UNIT_MATRIX_DIM),
  k: intIn('k', 1, MAX_UNIT_MATRIX_DIM),
  ...verifyEntry,
  ...leafPolicyEntries,
};

interface MatmulPolicyFields {
  readonly n: number;
  readonly samples?: number;
  readonly replicate?: boolean;
  readonly verify?: MatmulVerify;
}

export const matmulRules: readonly SpecRule<MatmulPolicyFields>[] = [
  ...leafPolicyRules,
  // The openings of one result (rows of 8n hex characters plus paths) must fit a message.
  (spec) =>
    (spec.samples ?? (spec.replicate === true ? DEFAULT_REPLICA_SAMPLES : 0)) * (8 * spec.n + 70 * 11) > 480_000
      ? 'samples × row size is too large for one message: use fewer samples or a smaller n'
      : undefined,
];
