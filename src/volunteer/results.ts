import { buildMerkleTreeOfChunks, merklePath, type MerkleTree } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';
import { toHex } from '../hex';
import { Kernel, type Backend, type VolunteerMessage, type WorkUnit } from '../protocol';

/**
 * A finished result, committed to its Merkle root and kept until its verdict: to answer the
 * host's challenge with openings, and to send again after a reconnect.
 */
export interface Sent {
  readonly root: string;
  readonly backend: Backend;
  readonly tree: MerkleTree;
  readonly leaves: Uint8Array;
  readonly leafBytes: number;
  /** What the unit's progress counts up to (heartbeats report it as done). */
  readonly total: number;
  /** Proof of work: the shares found (the leaves, as numbers). */
  readonly shares?: readonly number[];
}

export function sentResult(unit: WorkUnit, out: { leaves: Uint8Array; leafBytes: number; backend: Backend }, total: number, hash: Hasher): Sent {
  const tree = buildMerkleTreeOfChunks(out.leaves, out.leafBytes, hash);
  const shares = unit.kernel === Kernel.Sha256dPow ? sharesOf(out.leaves) : undefined;
  return { root: toHex(tree.root), backend: out.backend, tree, leaves: out.leaves, leafBytes: out.leafBytes, total, ...(shares ? { shares } : {}) };
}

/** The bytes of one Merkle leaf of a unit's output: a digest, a row of C, or a 4-byte share. */
export function leafBytesOf(unit: WorkUnit): number {
  switch (unit.kernel) {
    case Kernel.Sha256Batch:
      return 32;
    case Kernel.Sha256dPow:
      return 4;
    default:
      return 4 * unit.n;
  }
}

export function resultMessage(unitId: string, r: Sent): VolunteerMessage {
  return { type: 'result', unitId, root: r.root, backend: r.backend, ...(r.shares ? { shares: r.shares } : {}) };
}

/** Opens the challenged leaves (cheap: no GPU, so even while paused). */
export function openingsMessage(unitId: string, r: Sent, indices: readonly number[]): VolunteerMessage {
  const openings = indices
    .filter((index) => index < r.leaves.length / r.leafBytes)
    .map((index) => ({
      index,
      leaf: toHex(r.leaves.subarray(index * r.leafBytes, (index + 1) * r.leafBytes)),
      path: merklePath(r.tree, index).map(toHex),
    }));
  return { type: 'openings', unitId, openings };
}

/** A proof-of-work result's leaves back as nonces (4-byte little-endian each). */
function sharesOf(leaves: Uint8Array): number[] {
  const view = new DataView(leaves.buffer, leaves.byteOffset, leaves.byteLength);
  return Array.from({ length: leaves.length / 4 }, (_, i) => view.getUint32(4 * i, true));
}
