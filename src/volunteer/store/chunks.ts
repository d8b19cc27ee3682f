/**
 * Pure chunk arithmetic for the IndexedDB store: a unit's data is cut at multiples of
 * CHUNK_BYTES, chunk i holding bytes [i·CHUNK_BYTES, (i + 1)·CHUNK_BYTES). Kept apart from the
 * transactions so the layout can be checked without a browser.
 */
import { ErrorCode, TabgridError } from '../../errors';
import { CHUNK_BYTES, type ChunkRecord } from './schema';

/** The chunk that byte `at` falls in, and how many bytes of that chunk precede it. */
export function chunkAt(at: number, chunkBytes = CHUNK_BYTES): { index: number; within: number } {
  return { index: Math.floor(at / chunkBytes), within: at % chunkBytes };
}

/**
 * The records that store `append` at byte `at` of a unit's data. When `at` is inside a chunk,
 * `tail` is that stored chunk, which is rewritten topped up; later chunks are new.
 * Every record's bytes are a copy: structured clone stores a view's whole underlying buffer,
 * so a subarray of a big output would store all of it again in each chunk.
 */
export function appendedChunks(
  hostId: string,
  unitId: string,
  at: number,
  append: Uint8Array,
  tail: Uint8Array | undefined,
  chunkBytes = CHUNK_BYTES,
): ChunkRecord[] {
  const records: ChunkRecord[] = [];
  const start = chunkAt(at, chunkBytes);
  const within = start.within;
  let index = start.index;
  let pos = 0;
  if (within > 0 && append.length > 0) {
    if (!tail || tail.length !== within) {
      throw new TabgridError(ErrorCode.Storage, `unit ${unitId}'s stored data is damaged: chunk ${index} has ${tail?.length ?? 0} bytes, ${within} expected`);
    }
    const bytes = new Uint8Array(Math.min(chunkBytes, within + append.length));
    bytes.set(tail);
    pos = bytes.length - within;
    bytes.set(append.subarray(0, pos), within);
    records.push({ hostId, unitId, index: index++, bytes });
  }
  for (; pos < append.length; pos += chunkBytes) records.push({ hostId, unitId, index: index++, bytes: append.slice(pos, pos + chunkBytes) });
  return records;
}

/**
 * For a finished unit: the stored chunks that already hold what `data` has there are kept
 * (a checkpointed prefix is not written again); the records returned replace the rest.
 * `count` is how many chunks `data` takes: stored chunks from there on are to be deleted.
 */
export function finishedChunks(
  hostId: string,
  unitId: string,
  stored: readonly ChunkRecord[],
  data: Uint8Array,
  chunkBytes = CHUNK_BYTES,
): { records: ChunkRecord[]; count: number } {
  const count = Math.ceil(data.length / chunkBytes);
  let keep = 0;
  while (
    keep < count &&
    keep < stored.length &&
    stored[keep]!.index === keep &&
    sameBytes(stored[keep]!.bytes, data.subarray(keep * chunkBytes, (keep + 1) * chunkBytes))
  )
    keep++;
  const records: ChunkRecord[] = [];
  for (let i = keep; i < count; i++) records.push({ hostId, unitId, index: i, bytes: data.slice(i * chunkBytes, (i + 1) * chunkBytes) });
  return { records, count };
}

/** A unit's data from its chunks (in index order); `bytes` is the length its record says. */
export function joinChunks(unitId: string, chunks: readonly ChunkRecord[], bytes: number, chunkBytes = CHUNK_BYTES): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const [i, chunk] of chunks.entries()) {
    const expected = Math.min(chunkBytes, bytes - at);
    if (chunk.index !== i || chunk.bytes.length !== expected) {
      throw new TabgridError(
        ErrorCode.Storage,
        `unit ${unitId}'s stored data is damaged: chunk ${chunk.index} (${chunk.bytes.length} bytes) where chunk ${i} (${expected} bytes) belongs`,
      );
    }
    out.set(chunk.bytes, at);
    at += chunk.bytes.length;
  }
  if (at !== bytes) throw new TabgridError(ErrorCode.Storage, `unit ${unitId}'s stored data is damaged: ${at} of ${bytes} bytes found`);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
