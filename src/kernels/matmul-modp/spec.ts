import * as v from 'valibot';
import { jobSpecSchema, replicateEntry } from '../job-spec';
import { isPrime, MODP_MAX } from '../matmul/matmul';
import { matmulDataEntry, matmulEntries, matmulRules } from '../matmul/spec';

const primeMessage = `p must be a prime ≤ ${MODP_MAX}`;

/** Products modulo the prime `p` (≤ 65521): bit-exact everywhere, so they may be replicated. */
export const matmulModpSpecSchema = jobSpecSchema(
  'matmul-modp',
  {
    ...matmulEntries,
    ...matmulDataEntry,
    p: v.pipe(
      v.number(primeMessage),
      v.check((p) => isPrime(p) && p <= MODP_MAX, primeMessage),
    ),
    ...replicateEntry,
  },
  matmulRules,
);
export type MatmulModpJobSpec = v.InferOutput<typeof matmulModpSpecSchema>;
