/**
 * The seam between the wire and the kernels: the schema of the `unit` message's work unit.
 * The unit shapes (Sha256BatchUnit, MatmulUnit, PowUnit) are declared in protocol.ts; these
 * schemas check them field by field and are typed against them, so the `unit` message
 * (messages.ts) knows units only through `workUnitSchema`. Point it at the kernels' own unit
 * schemas, and the wire follows them.
 */
import * as v from 'valibot';
import { Kernel, MAX_UNIT_MATRIX_DIM, MAX_UNIT_MESSAGE_BYTES, MAX_UNIT_MESSAGES, type WorkUnit } from '../protocol';
import { across, hex, int, record, str } from './fields';

const seed = int(0, 0xffffffff);
const unitIds = { jobId: str(), unitId: str() };

const sha256Batch = record({
  kernel: v.literal(Kernel.Sha256Batch),
  ...unitIds,
  seed,
  count: int(1, MAX_UNIT_MESSAGES),
  messageLength: int(0, MAX_UNIT_MESSAGE_BYTES),
});

const side = int(1, MAX_UNIT_MATRIX_DIM);
const matmulF32 = record({ kernel: v.literal(Kernel.MatmulF32), ...unitIds, seed, m: side, n: side, k: side, p: v.literal(0, 'must be 0 for matmul-f32') });
// The job checks that p is prime; here only that it is a modulus the kernels take.
const matmulModp = record({ kernel: v.literal(Kernel.MatmulModp), ...unitIds, seed, m: side, n: side, k: side, p: int(2, 65521) });

const sha256dPow = record({
  kernel: v.literal(Kernel.Sha256dPow),
  ...unitIds,
  header: hex(160),
  nonceStart: int(0, 2 ** 32 - 1),
  nonceCount: int(1, 2 ** 32),
  target: hex(64),
  shareTarget: hex(64),
});

const kernels = Object.values(Kernel).join(', ');

export const workUnitSchema: v.GenericSchema<unknown, WorkUnit> = v.pipe(
  v.variant('kernel', [sha256Batch, matmulF32, matmulModp, sha256dPow], (issue) => (issue.path ? `must be one of ${kernels}` : 'is not a JSON object')),
  // The search must not run past the last 32-bit nonce.
  across(
    'nonceCount',
    (u) => u.kernel !== Kernel.Sha256dPow || u.nonceCount <= 2 ** 32 - u.nonceStart,
    (u) => `must be an integer in 1..${2 ** 32 - (u.kernel === Kernel.Sha256dPow ? u.nonceStart : 0)}`,
  ),
);
