import * as v from 'valibot';
import { fields, intIn, stringOf } from '../schema-fields';
import { UnitOutput, type UnitKernel } from '../unit-kernel';

/** Most messages in one unit, and the longest message (bytes). */
export const MAX_UNIT_MESSAGES = 1 << 20;
export const MAX_UNIT_MESSAGE_BYTES = 4096;

/** Hash `count` messages of `messageLength` bytes, derived from `seed` (inputs.ts). Its leaves are the digests. */
export const sha256BatchUnitSchema = fields(
  {
    kernel: v.literal('sha256-batch'),
    jobId: stringOf('unit.jobId'),
    unitId: stringOf('unit.unitId'),
    seed: intIn('unit.seed', 0, 0xffffffff),
    count: intIn('unit.count', 1, MAX_UNIT_MESSAGES),
    messageLength: intIn('unit.messageLength', 0, MAX_UNIT_MESSAGE_BYTES),
  },
  { notObject: 'unit is not a JSON object', unknown: (key) => `unit: unexpected field '${key}'` },
);
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
