import type { Hasher } from '../hash/sha256-cpu';
import { matmulF32Ref, matmulModpRef } from '../kernels/matmul';
import { matmulOperands } from '../kernels/matmul-inputs';
import { seededBatch, sha256BatchCpu } from '../kernels/sha256-batch';
import { Kernel, type ChallengedUnit } from '../protocol';
import { outputRoot } from './row-collector';

/**
 * A whole unit computed by the CPU reference: the digests of a hashing unit, or C of a matrix
 * unit (little-endian words, row-major; f32 rounded as the f64-accumulated reference does).
 * The host recomputes with it when replicas all disagree; the farm and the tests check
 * volunteers against it.
 */
export function referenceLeaves(unit: ChallengedUnit, hash: Hasher): Uint8Array {
  if (unit.kernel === Kernel.Sha256Batch) return sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash);
  const { a, b } = matmulOperands(unit);
  const c =
    unit.kernel === Kernel.MatmulModp
      ? matmulModpRef(a as Uint32Array, b as Uint32Array, unit, unit.p)
      : matmulF32Ref(a as Float32Array, b as Float32Array, unit);
  return new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
}

/**
 * The Merkle root of a bit-exact unit (hashing, modp) computed by the host itself: the last
 * word when replicas all disagree (verify-replicas.ts). Hashing a unit costs the host what it
 * costs a volunteer's CPU (milliseconds); a modp product is O(m·n·k), up to seconds at the
 * largest units, which is why it is kept for the rare unresolved unit and never the rule.
 */
export function recomputedRoot(unit: ChallengedUnit, hash: Hasher): string {
  if (unit.kernel === Kernel.MatmulF32) throw new Error('f32 results are not bit-exact; they cannot be settled by recomputing');
  return outputRoot(unit, referenceLeaves(unit, hash), hash);
}
