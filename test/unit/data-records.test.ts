import { describe, expect, it } from 'vitest';
import { ErrorCode, isTabgridError } from '../../src/errors';
import { MAX_DATASET_BYTES } from '../../src/data/dataset';
import { encodeRecords, indexRecords, recordsFromFixed, RECORD_PREFIX_BYTES, splitRecords } from '../../src/data/records';

const bytes = (...xs: number[]) => Uint8Array.from(xs);
const text = (s: string) => new TextEncoder().encode(s);

function recordsError(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(isTabgridError(e, ErrorCode.BadInput)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('length-prefixed records', () => {
  it('encodes each record as its u32 little-endian length and its bytes, back to back', () => {
    const out = encodeRecords([text('abc'), new Uint8Array(0), bytes(0xff), new Uint8Array(300)]);
    expect(Array.from(out.subarray(0, 13))).toEqual([3, 0, 0, 0, 0x61, 0x62, 0x63, 0, 0, 0, 0, 1, 0]);
    expect(Array.from(out.subarray(13, 18))).toEqual([0, 0, 0xff, 0x2c, 1]);
    expect(out.length).toBe(4 * RECORD_PREFIX_BYTES + 3 + 0 + 1 + 300);
    expect(recordsError(() => encodeRecords([], 'm'))).toBe('m: no records');
  });

  it('indexes records: each prefix offset, then the total length', () => {
    const data = encodeRecords([text('abc'), new Uint8Array(0), text('hello')]);
    const offsets = indexRecords(data, 'm.bin', 4096);
    expect(Array.from(offsets)).toEqual([0, 7, 11, 20]);
    expect(offsets[offsets.length - 1]).toBe(data.length);
    // 4 bytes an entry: the index of a file of empty records (the most records a byte count can hold) is as large as the file, not twice it.
    const empties = encodeRecords(Array.from({ length: 1000 }, () => new Uint8Array(0)));
    const index = indexRecords(empties, 'empty.bin', 4096);
    expect(index).toBeInstanceOf(Uint32Array);
    expect(index.byteLength).toBe(empties.length + 4);
    // A view into a larger buffer reads the same.
    const big = new Uint8Array(data.length + 3);
    big.set(data, 3);
    expect(Array.from(indexRecords(big.subarray(3), 'm.bin', 4096))).toEqual([0, 7, 11, 20]);
  });

  it('names what is wrong with malformed records', () => {
    const good = encodeRecords([text('abc'), text('hello')]);
    expect(recordsError(() => indexRecords(new Uint8Array(0), 'm.bin', 4096))).toBe('m.bin: no records (the file is empty)');
    expect(recordsError(() => indexRecords(good.subarray(0, 9), 'm.bin', 4096))).toBe(
      'm.bin: truncated: the length prefix of record 1 at byte 7 is cut short (2 of its 4 bytes)',
    );
    expect(recordsError(() => indexRecords(good.subarray(0, 15), 'm.bin', 4096))).toBe(
      'm.bin: truncated: record 1 at byte 7 of 5 bytes runs past the end (4 bytes follow its prefix)',
    );
    expect(recordsError(() => indexRecords(good, 'm.bin', 4))).toBe('m.bin: record 1 at byte 7 is 5 bytes, longer than the 4 a record may be');
    // A prefix of 2³² − 1 is a length like any other: over the maximum.
    expect(recordsError(() => indexRecords(bytes(0xff, 0xff, 0xff, 0xff), 'm.bin', 4096))).toMatch(
      /record 0 at byte 0 is 4294967295 bytes, longer than the 4096/,
    );
  });

  it('converts fixed-size records, and refuses a file that is not a whole number of them', () => {
    const out = recordsFromFixed(text('abcdef'), 2, 'f.bin');
    expect(out).toEqual(encodeRecords([text('ab'), text('cd'), text('ef')]));
    expect(Array.from(indexRecords(out, 'f.bin', 2))).toEqual([0, 6, 12, 18]);
    expect(recordsFromFixed(text('abc'), 3, 'f.bin')).toEqual(encodeRecords([text('abc')]));
    expect(recordsError(() => recordsFromFixed(text('abcdefg'), 2, 'f.bin'))).toBe(
      'f.bin: 7 bytes are not a whole number of 2-byte records (1 bytes left over)',
    );
    expect(recordsError(() => recordsFromFixed(new Uint8Array(0), 2, 'f.bin'))).toBe('f.bin: no records (the file is empty)');
    expect(recordsError(() => recordsFromFixed(text('ab'), 0, 'f.bin'))).toMatch(/f\.bin: a record size of 0 bytes/);
    expect(recordsError(() => recordsFromFixed(text('ab'), 1.5, 'f.bin'))).toMatch(/a record size of 1.5 bytes/);
  });

  it('refuses records whose length-prefixed form is over the largest dataset, before building it', () => {
    // 2²⁸ one-byte records become 5·2²⁸ bytes; only the view's length is read, so this costs nothing.
    const huge = new Uint8Array(new ArrayBuffer(1), 0, 1);
    Object.defineProperty(huge, 'length', { value: 2 ** 28 });
    expect(recordsError(() => recordsFromFixed(huge, 1, 'big.bin'))).toBe(
      `big.bin: as length-prefixed records it would be ${5 * 2 ** 28} bytes, over the ${MAX_DATASET_BYTES} a dataset holds`,
    );
  });

  it('splits a unit slice into exactly its records', () => {
    const records = [text('abc'), new Uint8Array(0), text('hello'), bytes(1, 2)];
    const data = encodeRecords(records);
    const { starts, lengths } = splitRecords(data, 4, 'unit 3');
    expect(Array.from(lengths)).toEqual([3, 0, 5, 2]);
    records.forEach((r, i) => expect(data.subarray(starts[i]!, starts[i]! + lengths[i]!)).toEqual(r));
    // A slice from the middle of a dataset (records 1..2).
    const offsets = indexRecords(data, 'm', 4096);
    const middle = data.subarray(offsets[1]!, offsets[3]!);
    const split = splitRecords(middle, 2, 'unit 4');
    expect(Array.from(split.starts)).toEqual([4, 8]);
    expect(Array.from(split.lengths)).toEqual([0, 5]);
    expect(splitRecords(new Uint8Array(0), 0, 'u').starts.length).toBe(0);
  });

  it('refuses a slice that is not exactly `count` records', () => {
    const data = encodeRecords([text('abc'), text('hello')]);
    expect(recordsError(() => splitRecords(data, 1, 'u'))).toBe('u: the slice of 16 bytes holds more than its 1 records (9 bytes after them)');
    expect(recordsError(() => splitRecords(data, 3, 'u'))).toBe('u: the slice of 16 bytes ends at record 2 of the 3 it should hold');
    expect(recordsError(() => splitRecords(data.subarray(0, 15), 2, 'u'))).toBe(
      "u: record 1 at byte 7 of 5 bytes runs past the slice's end (4 bytes follow its prefix)",
    );
    expect(recordsError(() => splitRecords(data.subarray(0, 9), 2, 'u'))).toMatch(/ends at record 1 of the 2/);
    expect(recordsError(() => splitRecords(data, -1, 'u'))).toBe('u: -1 is not a record count');
  });
});
