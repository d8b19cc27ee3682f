/**
 * A dataset: a researcher's input as one canonical byte string (matrices as row-major
 * little-endian words, messages as length-prefixed records: records.ts), content-addressed by
 * its root, the RFC 6962 Merkle root (hash/merkle.ts) over its chunks of DATASET_CHUNK_BYTES.
 * A unit names the bytes it needs as a slice; a volunteer fetches the chunks the slice falls
 * in, checks each against the root with its audit path before it keeps or uses it, and cuts
 * the slice out of them. The tree's size comes from the slice's `bytes`, never from whoever
 * served the chunk, so a hostile server cannot move a chunk to another place in the tree.
 */
import { ErrorCode, TabgridError } from '../errors';
import { fromHex, toHex } from '../hex';
import { buildMerkleTree, merklePath, verifyMerklePath, type MerkleTree } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';

/** The largest chunk: what one data message carries and one cache record holds. */
export const DATASET_CHUNK_BYTES = 256 * 1024;
/** The largest dataset a host takes (an operand of 1 GiB; its tree then has 4096 leaves). */
export const MAX_DATASET_BYTES = 2 ** 30;
/** The most chunks one get-chunks request asks for (2 MiB in flight per request). */
export const MAX_CHUNKS_PER_REQUEST = 8;

/** Bytes [offset, offset + length) of the dataset whose root is `root` and whose length is `bytes`. */
export interface DatasetSlice {
  readonly root: string;
  readonly bytes: number;
  readonly offset: number;
  readonly length: number;
}

export function chunkCount(bytes: number): number {
  return Math.ceil(bytes / DATASET_CHUNK_BYTES);
}

/** The bytes chunk `index` of a dataset of `bytes` bytes holds (every chunk but the last is full). */
export function chunkLength(bytes: number, index: number): number {
  return Math.min(DATASET_CHUNK_BYTES, bytes - index * DATASET_CHUNK_BYTES);
}

/** Why a slice does not lie inside its dataset, or undefined. */
export function sliceProblem(s: DatasetSlice): string | undefined {
  if (!Number.isSafeInteger(s.bytes) || s.bytes < 1 || s.bytes > MAX_DATASET_BYTES) return `dataset length ${s.bytes} is not in 1..${MAX_DATASET_BYTES}`;
  if (!Number.isSafeInteger(s.offset) || !Number.isSafeInteger(s.length) || s.offset < 0 || s.length < 0 || s.offset + s.length > s.bytes) {
    return `bytes ${s.offset}..${s.offset + s.length} do not lie inside the dataset's ${s.bytes}`;
  }
  return undefined;
}

/** The chunks a slice falls in: first … first + count − 1 (none for an empty slice). */
export function chunksOf(s: DatasetSlice): { first: number; count: number } {
  if (s.length === 0) return { first: 0, count: 0 };
  const first = Math.floor(s.offset / DATASET_CHUNK_BYTES);
  const last = Math.floor((s.offset + s.length - 1) / DATASET_CHUNK_BYTES);
  return { first, count: last - first + 1 };
}

/** A whole dataset with its tree: what a host serves chunks from. */
export interface Dataset {
  readonly root: string;
  readonly data: Uint8Array;
  readonly tree: MerkleTree;
}

export function buildDataset(data: Uint8Array, hash: Hasher): Dataset {
  if (data.length < 1 || data.length > MAX_DATASET_BYTES)
    throw new TabgridError(ErrorCode.BadInput, `a dataset holds 1..${MAX_DATASET_BYTES} bytes, not ${data.length}`);
  const tree = buildMerkleTree(chunkCount(data.length), (i) => chunkOf(data, i), hash);
  return { root: toHex(tree.root), data, tree };
}

/** Chunk `index` of a dataset's bytes (a view, not a copy). */
export function chunkOf(data: Uint8Array, index: number): Uint8Array {
  return data.subarray(index * DATASET_CHUNK_BYTES, Math.min(data.length, (index + 1) * DATASET_CHUNK_BYTES));
}

/** A chunk as it travels: its place, its audit path (hex, bottom first) and its bytes. */
export interface ServedChunk {
  readonly index: number;
  readonly path: readonly string[];
  readonly data: Uint8Array;
}

export function serveChunk(dataset: Dataset, index: number): ServedChunk {
  return { index, path: merklePath(dataset.tree, index).map(toHex), data: chunkOf(dataset.data, index) };
}

/**
 * Why a served chunk is not chunk `index` of the dataset the slice names, or undefined when it
 * is: its length, then its audit path against the root.
 */
export function chunkProblem(
  s: Pick<DatasetSlice, 'root' | 'bytes'>,
  index: number,
  chunk: { readonly path: readonly string[]; readonly data: Uint8Array },
  hash: Hasher,
): string | undefined {
  const count = chunkCount(s.bytes);
  if (!Number.isInteger(index) || index < 0 || index >= count) return `chunk ${index} is not in 0..${count - 1}`;
  const want = chunkLength(s.bytes, index);
  if (chunk.data.length !== want) return `chunk ${index} of ${s.root.slice(0, 12)}… has ${chunk.data.length} bytes, not ${want}`;
  const root = fromHex(s.root);
  const path = chunk.path.map(fromHex);
  if (!root || path.some((p) => p === undefined)) return `chunk ${index}: the root or its path is not hex`;
  if (!verifyMerklePath(root, count, index, chunk.data, path as Uint8Array[], hash))
    return `chunk ${index} of ${s.root.slice(0, 12)}… does not match the dataset's root`;
  return undefined;
}

/** Cuts a slice out of its (verified) chunks, `chunk(i)` returning chunk i of the dataset. */
export function gatherSlice(s: DatasetSlice, chunk: (index: number) => Uint8Array): Uint8Array {
  const out = new Uint8Array(s.length);
  const { first, count } = chunksOf(s);
  for (let i = first; i < first + count; i++) {
    const data = chunk(i);
    const start = i * DATASET_CHUNK_BYTES;
    const from = Math.max(s.offset, start);
    const to = Math.min(s.offset + s.length, start + data.length);
    out.set(data.subarray(from - start, to - start), from - s.offset);
  }
  return out;
}
