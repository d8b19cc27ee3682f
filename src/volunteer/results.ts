import { buildMerkleTreeOfChunks, buildMerkleTreeOfLeafHashes, leafHash, merklePath, type MerkleTree } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';
import { bytesEqual, toHex } from '../hex';
import { leavesToShares } from '../kernels/shares';
import { listsShares } from '../kernels/units';
import { unitInputDigest, type CommitmentFields } from '../proof/commitment';
import { MAX_ROWS_HEX, type Backend, type HostMessage, type VolunteerMessage, type WorkUnit } from '../protocol';

/**
 * A finished result, committed to its Merkle root, and kept until its verdict: to answer the
 * host's challenge (openings, or every row for Freivalds' check), and to send again after a
 * reconnect (each connection authenticates it with its own result key: HostLink.sendResult).
 */
export interface Sent {
  readonly root: string;
  readonly backend: Backend;
  /** What computed it, in words (the engine's), when known: not kept across reloads. */
  readonly adapter?: string;
  readonly tree: MerkleTree;
  readonly leaves: Uint8Array;
  readonly leafBytes: number;
  /** What the unit's progress counts up to (heartbeats report it as done). */
  readonly total: number;
  /** Proof of work: the shares found (the leaves, as numbers). */
  readonly shares?: readonly number[];
  /** What the result commits to (proof/commitment.ts): its MAC is made as it is sent. */
  readonly commitment: CommitmentFields;
}

/**
 * Builds the result's Merkle tree and the commitment to its root. Leaf
 * hashes computed on the GPU (`leafHashes`, one per leaf) spare hashing every leaf here; the
 * first, last and one more are checked against the leaves first, and on any mismatch (a broken
 * driver) the tree is built from the leaves alone, so a root is never committed from hashes
 * that do not match the data the host will open.
 */
export function sentResult(
  unit: WorkUnit,
  out: { leaves: Uint8Array; leafBytes: number; backend: Backend; adapter?: string; leafHashes?: Uint8Array },
  total: number,
  hash: Hasher,
): Sent {
  const tree = treeOf(out.leaves, out.leafBytes, out.leafHashes, hash);
  const root = toHex(tree.root);
  const shares = listsShares(unit) ? leavesToShares(out.leaves) : undefined;
  const commitment = { jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root };
  return {
    root,
    backend: out.backend,
    ...(out.adapter ? { adapter: out.adapter } : {}),
    tree,
    leaves: out.leaves,
    leafBytes: out.leafBytes,
    total,
    commitment,
    ...(shares ? { shares } : {}),
  };
}

function treeOf(leaves: Uint8Array, leafBytes: number, leafHashes: Uint8Array | undefined, hash: Hasher): MerkleTree {
  const count = leaves.length / leafBytes;
  if (leafHashes && count > 0 && leafHashes.length === count * 32) {
    const probes = [0, count - 1, Math.floor(Math.random() * count)];
    const agree = probes.every((i) =>
      bytesEqual(leafHash(leaves.subarray(i * leafBytes, (i + 1) * leafBytes), hash), leafHashes.subarray(i * 32, (i + 1) * 32)),
    );
    if (agree) return buildMerkleTreeOfLeafHashes(leafHashes, hash);
    console.warn('tabgrid: the GPU leaf hashes do not match the leaves; hashing them on the CPU');
  }
  return buildMerkleTreeOfChunks(leaves, leafBytes, hash);
}

/** What a result message is made of: a result as sent, without the output it keeps for the host's checks. */
export type Offer = Pick<Sent, 'root' | 'backend' | 'adapter' | 'shares' | 'commitment'>;

/** Just the parts of `r` a result message needs (a pending replica keeps no more: its output is not asked for again). */
export function offerOf(r: Sent): Offer {
  const { root, backend, adapter, shares, commitment } = r;
  return { root, backend, commitment, ...(adapter === undefined ? {} : { adapter }), ...(shares === undefined ? {} : { shares }) };
}

/** The result message, its commitment authenticated by `mac` (the connection's result key's: HostLink.sendResult). */
export function resultMessage(r: Offer, mac: string): VolunteerMessage {
  return {
    type: 'result',
    unitId: r.commitment.unitId,
    root: r.root,
    backend: r.backend,
    mac,
    ...(r.shares ? { shares: r.shares } : {}),
    ...(r.adapter ? { adapter: r.adapter } : {}),
  };
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

/** Every leaf (row of C) in order, as many whole rows per message as MAX_ROWS_HEX allows. */
export function rowsMessages(unitId: string, r: Sent): VolunteerMessage[] {
  const perMessage = Math.max(1, Math.floor(MAX_ROWS_HEX / (2 * r.leafBytes)));
  const count = r.leaves.length / r.leafBytes;
  const out: VolunteerMessage[] = [];
  for (let first = 0; first < count; first += perMessage) {
    const end = Math.min(count, first + perMessage);
    out.push({ type: 'rows', unitId, first, data: toHex(r.leaves.subarray(first * r.leafBytes, end * r.leafBytes)) });
  }
  return out;
}

/** What answers the host's check of a result: openings for a challenge, all rows for send-rows. */
export function answerCheck(message: Extract<HostMessage, { type: 'challenge' | 'send-rows' }>, r: Sent): VolunteerMessage[] {
  return message.type === 'challenge' ? [openingsMessage(message.unitId, r, message.indices)] : rowsMessages(message.unitId, r);
}
