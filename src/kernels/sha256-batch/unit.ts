import * as v from 'valibot';
import { datasetSlice, int, record, str } from '../../protocol/fields';
import { UnitOutput, type UnitKernel } from '../unit-kernel';

/** Most messages in one unit, and the longest message (bytes). */
export const MAX_UNIT_MESSAGES = 1 << 20;
export const MAX_UNIT_MESSAGE_BYTES = 4096;

/**
 * Hash `count` messages. Seeded: `messageLength` bytes each, derived from `seed` (inputs.ts).
 * From a dataset: the `count` length-prefixed records (data/records.ts) that exactly fill the
 * slice `records`, and then `seed` and `messageLength` are 0. Its leaves are the digests.
 */
export const sha256BatchUnitSchema = v.pipe(
  record({
    kernel: v.literal('sha256-batch'),
    jobId: str(),
    unitId: str(),
    seed: int(0, 0xffffffff),
    count: int(1, MAX_UNIT_MESSAGES),
    messageLength: int(0, MAX_UNIT_MESSAGE_BYTES),
    records: v.optional(datasetSlice()),
  }),
  v.check(
    (u) => recordsProblem(u) === undefined,
    (issue) => recordsProblem(issue.input as { seed: number; messageLength: number; count: number; records?: { length: number } }) ?? 'has bad records',
  ),
);

function recordsProblem(u: {
  readonly seed: number;
  readonly messageLength: number;
  readonly count: number;
  readonly records?: { readonly length: number };
}): string | undefined {
  if (u.records === undefined) return undefined;
  if (u.seed !== 0 || u.messageLength !== 0) return 'seed and messageLength must be 0 for a unit that reads records';
  if (u.records.length < 4 * u.count || u.records.length > u.count * (4 + MAX_UNIT_MESSAGE_BYTES))
    return `records cannot hold ${u.count} records in ${u.records.length} bytes`;
  return undefined;
}
export type Sha256BatchUnit = v.InferOutput<typeof sha256BatchUnitSchema>;

export const sha256BatchUnit = {
  kernel: 'sha256-batch',
  name: 'SHA-256 hashing',
  schema: sha256BatchUnitSchema,
  output: UnitOutput.Leaves,
  leafBytes: () => 32,
  leafCount: (unit) => unit.count,
  size: (unit) => unit.count,
} as const satisfies UnitKernel<Sha256BatchUnit>;
