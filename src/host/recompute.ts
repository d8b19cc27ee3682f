import { buildMerkleTreeOfChunks } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';
import { toHex } from '../hex';
import { matmulModpRef } from '../kernels/matmul';
import { matmulOperands } from '../kernels/matmul-inputs';
import { seededBatch, sha256BatchCpu } from '../kernels/sha256-batch';
import { Kernel, type MatmulUnit, type Sha256BatchUnit } from '../protocol';

/**
 * The host's own computation of a whole unit of a bit-exact kernel, and its Merkle root: the
 * last word when replicas all disagree (verify-replicas.ts). Hashing a unit costs the host
 * what it costs a volunteer's CPU (milliseconds); a modp product is O(m·n·k), up to seconds at
 * the largest units, which is why it is kept for the rare unresolved unit and never the rule.
 */
export function recomputedRoot(unit: Sha256BatchUnit | MatmulUnit, hash: Hasher): string {
  if (unit.kernel === Kernel.Sha256Batch) {
    return toHex(buildMerkleTreeOfChunks(sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash), 32, hash).root);
  }
  if (unit.kernel !== Kernel.MatmulModp) throw new Error(`${unit.kernel} results are not bit-exact; they cannot be settled by recomputing`);
  const { a, b } = matmulOperands(unit);
  const c = matmulModpRef(a as Uint32Array, b as Uint32Array, unit, unit.p);
  return toHex(buildMerkleTreeOfChunks(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), 4 * unit.n, hash).root);
}
