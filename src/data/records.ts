/**
 * The one record format of message datasets (sha256-batch): "length-prefixed records". Each
 * record is its byte length as a u32, little-endian, followed by that many bytes; records lie
 * back to back with nothing before, between or after them. A file of fixed-size records and a
 * directory of files (load-node.ts) are converted to it when they are read, so a dataset's root
 * names its records and their boundaries, and a unit's slice is a whole number of records.
 */
import { ErrorCode, TabgridError } from '../errors';
import { MAX_DATASET_BYTES } from './dataset';

/** The bytes of a record's length prefix. */
export const RECORD_PREFIX_BYTES = 4;

function bad(name: string, what: string): TabgridError {
  return new TabgridError(ErrorCode.BadInput, `${name}: ${what}`);
}

function checkTotal(total: number, name: string): void {
  if (total > MAX_DATASET_BYTES) throw bad(name, `as length-prefixed records it would be ${total} bytes, over the ${MAX_DATASET_BYTES} a dataset holds`);
}

/** How a message file is laid out: already length-prefixed records, records of one size back to back, or a directory (or list) of files, one a record. */
export type RecordsFormat = { readonly as: 'length-prefixed' } | { readonly as: 'fixed'; readonly recordBytes: number } | { readonly as: 'directory' };

/** A message dataset: its canonical length-prefixed bytes and how many records they hold. */
export interface RecordsData {
  readonly data: Uint8Array;
  readonly count: number;
}

/** Refuses a fixed record size outside 1..maxRecordBytes before any of the file is read. */
export function checkRecordsFormat(format: RecordsFormat, name: string, maxRecordBytes: number): void {
  if (format.as !== 'fixed') return;
  const size = format.recordBytes;
  if (!Number.isSafeInteger(size) || size < 1 || size > maxRecordBytes) throw bad(name, `a record size of ${size} bytes is not in 1..${maxRecordBytes}`);
}

/**
 * One records file's bytes as length-prefixed records, checked: kept as they are when already
 * length-prefixed, converted when fixed-size. A directory is many files, never one.
 */
export function recordsFromFile(bytes: Uint8Array, format: RecordsFormat, name: string, maxRecordBytes: number): RecordsData {
  switch (format.as) {
    case 'length-prefixed':
      return { data: bytes, count: indexRecords(bytes, name, maxRecordBytes).length - 1 };
    case 'fixed':
      checkRecordsFormat(format, name, maxRecordBytes);
      return { data: recordsFromFixed(bytes, format.recordBytes, name), count: bytes.length / format.recordBytes };
    case 'directory':
      throw bad(name, 'is one file; records in a directory are its files, one record each');
  }
}

/** The records, each prefixed by its length, back to back. */
export function encodeRecords(records: readonly Uint8Array[], name = 'records'): Uint8Array {
  if (records.length === 0) throw bad(name, 'no records');
  const total = records.reduce((n, r) => n + RECORD_PREFIX_BYTES + r.length, 0);
  checkTotal(total, name);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const r of records) {
    view.setUint32(at, r.length, true);
    out.set(r, at + RECORD_PREFIX_BYTES);
    at += RECORD_PREFIX_BYTES + r.length;
  }
  return out;
}

/** A file of records of `recordBytes` bytes each, back to back, as length-prefixed records. */
export function recordsFromFixed(bytes: Uint8Array, recordBytes: number, name: string): Uint8Array {
  if (!Number.isSafeInteger(recordBytes) || recordBytes < 1) throw bad(name, `a record size of ${recordBytes} bytes is not a whole number ≥ 1`);
  if (bytes.length === 0) throw bad(name, 'no records (the file is empty)');
  if (bytes.length % recordBytes !== 0) {
    throw bad(name, `${bytes.length} bytes are not a whole number of ${recordBytes}-byte records (${bytes.length % recordBytes} bytes left over)`);
  }
  const count = bytes.length / recordBytes;
  const stride = RECORD_PREFIX_BYTES + recordBytes;
  checkTotal(count * stride, name);
  const out = new Uint8Array(count * stride);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    view.setUint32(i * stride, recordBytes, true);
    out.set(bytes.subarray(i * recordBytes, (i + 1) * recordBytes), i * stride + RECORD_PREFIX_BYTES);
  }
  return out;
}

/**
 * Checks length-prefixed records and finds them: entry i is the byte offset of record i's
 * prefix, and one last entry is bytes.length (so record i's bytes are
 * [offsets[i] + 4, offsets[i + 1])). A Uint32Array: a dataset is at most MAX_DATASET_BYTES
 * (2³⁰), so every offset fits, and the index takes at most the dataset's own size (4 bytes a
 * record, each at least its 4-byte prefix) where 8-byte entries took twice it.
 */
export function indexRecords(bytes: Uint8Array, name: string, maxRecordBytes: number): Uint32Array {
  if (bytes.length === 0) throw bad(name, 'no records (the file is empty)');
  if (bytes.length > MAX_DATASET_BYTES) throw bad(name, `is ${bytes.length} bytes, over the ${MAX_DATASET_BYTES} a dataset holds`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Two passes (count, then fill) keep the index one exact-size array.
  const walk = (visit: (i: number, at: number) => void): number => {
    let at = 0;
    let i = 0;
    while (at < bytes.length) {
      if (bytes.length - at < RECORD_PREFIX_BYTES) {
        throw bad(name, `truncated: the length prefix of record ${i} at byte ${at} is cut short (${bytes.length - at} of its ${RECORD_PREFIX_BYTES} bytes)`);
      }
      const length = view.getUint32(at, true);
      if (length > maxRecordBytes) throw bad(name, `record ${i} at byte ${at} is ${length} bytes, longer than the ${maxRecordBytes} a record may be`);
      const left = bytes.length - at - RECORD_PREFIX_BYTES;
      if (length > left) throw bad(name, `truncated: record ${i} at byte ${at} of ${length} bytes runs past the end (${left} bytes follow its prefix)`);
      visit(i, at);
      at += RECORD_PREFIX_BYTES + length;
      i++;
    }
    return i;
  };
  const count = walk(() => {});
  const offsets = new Uint32Array(count + 1);
  walk((i, at) => {
    offsets[i] = at;
  });
  offsets[count] = bytes.length;
  return offsets;
}

/**
 * Finds the `count` records a unit's slice holds: record i's bytes are
 * slice[starts[i], starts[i] + lengths[i]). The slice must be exactly `count` whole records.
 */
export function splitRecords(slice: Uint8Array, count: number, name: string): { starts: Uint32Array; lengths: Uint32Array } {
  if (!Number.isSafeInteger(count) || count < 0) throw bad(name, `${count} is not a record count`);
  const view = new DataView(slice.buffer, slice.byteOffset, slice.byteLength);
  const starts = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (slice.length - at < RECORD_PREFIX_BYTES) throw bad(name, `the slice of ${slice.length} bytes ends at record ${i} of the ${count} it should hold`);
    const length = view.getUint32(at, true);
    const left = slice.length - at - RECORD_PREFIX_BYTES;
    if (length > left) throw bad(name, `record ${i} at byte ${at} of ${length} bytes runs past the slice's end (${left} bytes follow its prefix)`);
    starts[i] = at + RECORD_PREFIX_BYTES;
    lengths[i] = length;
    at += RECORD_PREFIX_BYTES + length;
  }
  if (at !== slice.length) throw bad(name, `the slice of ${slice.length} bytes holds more than its ${count} records (${slice.length - at} bytes after them)`);
  return { starts, lengths };
}
