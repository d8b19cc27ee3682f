import { bytesEqual } from '../hex';
import type { Hasher } from './sha256-cpu';

/**
 * The Merkle tree over a unit's output is the RFC 6962 (Certificate Transparency) Merkle Tree
 * Hash, so its shape is fixed and published:
 *
 *   leaf(d)        = SHA-256(0x00 ‖ d)
 *   node(l, r)     = SHA-256(0x01 ‖ l ‖ r)
 *   MTH([d])       = leaf(d)
 *   MTH(D[0..n))   = node(MTH(D[0..k)), MTH(D[k..n)))   with k the largest power of two < n
 *
 * Built level by level, that is: pair neighbours left to right and carry a level's odd last
 * node up unchanged. The 0x00/0x01 prefixes keep a leaf from passing for an inner node.
 * An empty tree has no root here: every unit has at least one output.
 */

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export interface MerkleTree {
  /** levels[0] are the leaf hashes, the last level holds the root alone. */
  readonly levels: readonly Uint8Array[][];
  readonly root: Uint8Array;
}

/**
 * Builds the tree over `count` leaves whose data `leafData(i)` returns. The empty tree's root is
 * SHA-256 of nothing, as RFC 6962 defines it (a proof-of-work unit may find no shares).
 */
export function buildMerkleTree(count: number, leafData: (i: number) => Uint8Array, hash: Hasher): MerkleTree {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`a Merkle tree needs a leaf count ≥ 0, got ${count}`);
  if (count === 0) return { levels: [[]], root: hash() };
  const level: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) level[i] = hash(LEAF, leafData(i));
  return treeAbove(level, hash);
}

/** leaf(d) = SHA-256(0x00 ‖ d): the hash of one leaf's data. */
export function leafHash(data: Uint8Array, hash: Hasher): Uint8Array {
  return hash(LEAF, data);
}

/**
 * The tree whose leaf hashes (leaf(d) for each leaf's data d, 32 bytes each, back to back) were
 * computed elsewhere (on the GPU: gpu/merkle-leaves.ts): the same tree and root as buildMerkleTree
 * over the data, hashing only the inner nodes here.
 */
export function buildMerkleTreeOfLeafHashes(leafHashes: Uint8Array, hash: Hasher): MerkleTree {
  if (leafHashes.length === 0 || leafHashes.length % 32 !== 0)
    throw new RangeError(`leaf hashes of ${leafHashes.length} bytes are not a whole number (≥ 1) of 32-byte digests`);
  const level: Uint8Array[] = new Array(leafHashes.length / 32);
  for (let i = 0; i < level.length; i++) level[i] = leafHashes.slice(32 * i, 32 * (i + 1));
  return treeAbove(level, hash);
}

/** Pairs neighbours level by level up to the root, carrying an odd last node up. */
function treeAbove(leaves: Uint8Array[], hash: Hasher): MerkleTree {
  let level = leaves;
  const levels = [level];
  while (level.length > 1) {
    const next: Uint8Array[] = new Array(Math.ceil(level.length / 2));
    for (let i = 0; i + 1 < level.length; i += 2) next[i / 2] = hash(NODE, level[i]!, level[i + 1]!);
    if (level.length % 2 === 1) next[next.length - 1] = level[level.length - 1]!;
    levels.push(next);
    level = next;
  }
  return { levels, root: level[0]! };
}

/** The tree over equally sized chunks of `data` (the 32-byte digests of a batch, rows of C). */
export function buildMerkleTreeOfChunks(data: Uint8Array, chunkSize: number, hash: Hasher): MerkleTree {
  if (data.length % chunkSize !== 0) throw new RangeError(`data length ${data.length} is not a multiple of ${chunkSize}`);
  return buildMerkleTree(data.length / chunkSize, (i) => data.subarray(i * chunkSize, (i + 1) * chunkSize), hash);
}

/**
 * The audit path of leaf `index`: the sibling of each level on the way up, bottom first,
 * skipping levels where the node is carried up without a sibling.
 */
export function merklePath(tree: MerkleTree, index: number): Uint8Array[] {
  const count = tree.levels[0]!.length;
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`leaf ${index} out of 0..${count - 1}`);
  const path: Uint8Array[] = [];
  let i = index;
  for (let l = 0; l < tree.levels.length - 1; l++) {
    const level = tree.levels[l]!;
    const sibling = i ^ 1;
    if (sibling < level.length) path.push(level[sibling]!);
    i >>>= 1;
  }
  return path;
}

/** The number of hashes in the audit path of leaf `index` in a tree of `count` leaves. */
export function merklePathLength(index: number, count: number): number {
  let length = 0;
  for (let i = index, width = count; width > 1; i >>>= 1, width = Math.ceil(width / 2)) {
    if ((i ^ 1) < width) length++;
  }
  return length;
}

/**
 * Recomputes the root from leaf data and its audit path and compares it with `root`. The caller
 * supplies `count`, so a path of the wrong length or a wrong index fails rather than verifying
 * a different position.
 */
export function verifyMerklePath(root: Uint8Array, count: number, index: number, leafData: Uint8Array, path: readonly Uint8Array[], hash: Hasher): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= count) return false;
  if (path.length !== merklePathLength(index, count)) return false;
  let node = hash(LEAF, leafData);
  let p = 0;
  for (let i = index, width = count; width > 1; i >>>= 1, width = Math.ceil(width / 2)) {
    const sibling = i ^ 1;
    if (sibling >= width) continue;
    const other = path[p++]!;
    if (other.length !== 32) return false;
    node = sibling > i ? hash(NODE, node, other) : hash(NODE, other, node);
  }
  return bytesEqual(node, root);
}
