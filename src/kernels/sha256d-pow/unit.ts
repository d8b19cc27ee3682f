import * as v from 'valibot';
import { fields, hexBytes, intIn, stringOf } from '../schema-fields';
import { UnitOutput, type UnitKernel } from '../unit-kernel';

/** Most shares one proof-of-work result may list (jobs keep the expected count well below). */
export const MAX_SHARES = 4096;

/**
 * Search nonces [nonceStart, nonceStart + nonceCount) of an 80-byte block header for double
 * SHA-256 hashes at most `shareTarget` (shares, which prove the work) or `target` (solutions).
 * `header` is 160 hex digits (its nonce bytes 76..79 are overwritten by the search); the targets
 * are 256-bit little-endian, 64 hex digits (see pow.ts). The result lists every share; there are
 * no challenges, as the host rechecks each one.
 */
export const powUnitSchema = v.pipe(
  fields(
    {
      kernel: v.literal('sha256d-pow'),
      jobId: stringOf('unit.jobId'),
      unitId: stringOf('unit.unitId'),
      header: hexBytes('unit.header', 80),
      nonceStart: intIn('unit.nonceStart', 0, 2 ** 32 - 1),
      nonceCount: intIn('unit.nonceCount', 1, 2 ** 32),
      target: hexBytes('unit.target', 32),
      shareTarget: hexBytes('unit.shareTarget', 32),
    },
    { notObject: 'unit is not a JSON object', unknown: (key) => `unit: unexpected field '${key}'` },
  ),
  v.check(
    (unit) => unit.nonceStart + unit.nonceCount <= 2 ** 32,
    (issue) => `unit.nonceCount must be an integer in 1..${2 ** 32 - (issue.input as { nonceStart: number }).nonceStart}`,
  ),
);
export type PowUnit = v.InferOutput<typeof powUnitSchema>;

export const powUnit = {
  kernel: 'sha256d-pow',
  name: 'proof-of-work search',
  schema: powUnitSchema,
  output: UnitOutput.Shares,
  leafBytes: () => 4,
  leafCount: () => undefined,
  size: (unit) => unit.nonceCount,
} as const satisfies UnitKernel<PowUnit>;
