import * as v from 'valibot';
import { int, record, str } from '../../protocol/fields';
import { UnitOutput, type UnitKernel } from '../unit-kernel';

/** Most messages in one unit, and the longest message (bytes). */
export const MAX_UNIT_MESSAGES = 1 << 20;
export const MAX_UNIT_MESSAGE_BYTES = 4096;

/** Hash `count` messages of `messageLength` bytes, derived from `seed` (inputs.ts). Its leaves are the digests. */
export const sha256BatchUnitSchema = record({
  kernel: v.literal('sha256-batch'),
  jobId: str(),
  unitId: str(),
  seed: int(0, 0xffffffff),
  count: int(1, MAX_UNIT_MESSAGES),
  messageLength: int(0, MAX_UNIT_MESSAGE_BYTES),
});
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
