import * as v from 'valibot';
import { across, hex, int, record, str } from '../../protocol/fields';
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
const powUnitFields = record({
  kernel: v.literal('sha256d-pow'),
  jobId: str(),
  unitId: str(),
  header: hex(160),
  nonceStart: int(0, 2 ** 32 - 1),
  nonceCount: int(1, 2 ** 32),
  target: hex(64),
  shareTarget: hex(64),
});
export const powUnitSchema = v.pipe(
  powUnitFields,
  // The search must not run past the last 32-bit nonce.
  across<v.InferOutput<typeof powUnitFields>>(
    'nonceCount',
    (u) => u.nonceCount <= 2 ** 32 - u.nonceStart,
    (u) => `must be an integer in 1..${2 ** 32 - u.nonceStart}`,
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
