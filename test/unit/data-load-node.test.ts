import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, isTabgridError } from '../../src/errors';
import { MAX_DATASET_BYTES } from '../../src/data/dataset';
import { readHeadersFile, readMatrixFile, readRecordsFile } from '../../src/data/load-node';
import { encodeNpy } from '../../src/data/npy';
import { encodeRecords } from '../../src/data/records';

const root = mkdtempSync(join(tmpdir(), 'tabgrid-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let made = 0;
/** A fresh folder under the test's temp root. */
const folder = () => {
  const dir = join(root, `case-${made++}`);
  mkdirSync(dir);
  return dir;
};
const text = (s: string) => new TextEncoder().encode(s);
const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const LIMIT = { maxRecordBytes: 4096 };

async function loadError(run: () => Promise<unknown>, code: ErrorCode = ErrorCode.BadInput): Promise<string> {
  try {
    await run();
  } catch (e) {
    expect(isTabgridError(e, code)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('readMatrixFile', () => {
  it('reads a .npy matrix as an operand', async () => {
    const dir = folder();
    const values = Float32Array.from({ length: 6 }, (_, i) => i / 3);
    writeFileSync(join(dir, 'A.npy'), encodeNpy('<f4', [2, 3], u8(values)));
    const m = await readMatrixFile(join(dir, 'A.npy'), { kind: 'f32' });
    expect([m.rows, m.cols]).toEqual([2, 3]);
    expect(m.data).toEqual(u8(values));
    writeFileSync(join(dir, 'B.npy'), encodeNpy('<u2', [3, 1], u8(Uint16Array.of(1, 2, 3))));
    expect((await readMatrixFile(join(dir, 'B.npy'), { kind: 'modp', p: 7 })).data).toEqual(u8(Uint32Array.of(1, 2, 3)));
  });

  it('names the path in every error', async () => {
    const dir = folder();
    const path = join(dir, 'A.npy');
    writeFileSync(path, encodeNpy('<f4', [2, 3], new Uint8Array(24)).subarray(0, 130));
    expect(await loadError(() => readMatrixFile(path, { kind: 'f32' }))).toBe(
      `${path}: truncated: shape (2, 3) of <f4 needs 24 bytes of data, but only 2 are present`,
    );
    writeFileSync(path, encodeNpy('<u4', [1, 2], u8(Uint32Array.of(3, 9))));
    expect(await loadError(() => readMatrixFile(path, { kind: 'modp', p: 7 }))).toBe(`${path}: element [0, 1] is 9, not a residue in 0..6`);
    expect(await loadError(() => readMatrixFile(join(dir, 'missing.npy'), { kind: 'f32' }))).toBe(`${join(dir, 'missing.npy')}: cannot open it (ENOENT)`);
    expect(await loadError(() => readMatrixFile(dir, { kind: 'f32' }))).toBe(`${dir}: is a directory, not a file`);
  });

  it('refuses a file over the largest dataset before reading it', async () => {
    const dir = folder();
    const path = join(dir, 'huge.npy');
    // A sparse file: its size is what stat says; no byte of it is written or read.
    writeFileSync(path, '');
    truncateSync(path, MAX_DATASET_BYTES + 70000);
    expect(await loadError(() => readMatrixFile(path, { kind: 'f32' }))).toBe(
      `${path}: is ${MAX_DATASET_BYTES + 70000} bytes, over the ${MAX_DATASET_BYTES + 65548} tabgrid reads`,
    );
  });

  it('stops when its signal fires', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'A.npy'), encodeNpy('<f4', [1, 1], new Uint8Array(4)));
    const signal = AbortSignal.abort();
    expect(await loadError(() => readMatrixFile(join(dir, 'A.npy'), { kind: 'f32' }, { signal }), ErrorCode.Aborted)).toBe('aborted');
  });
});

describe('readRecordsFile', () => {
  it('reads length-prefixed records, checking them', async () => {
    const dir = folder();
    const data = encodeRecords([text('abc'), new Uint8Array(0), text('hello')]);
    writeFileSync(join(dir, 'm.bin'), data);
    const got = await readRecordsFile(join(dir, 'm.bin'), { as: 'length-prefixed' }, LIMIT);
    expect(got.count).toBe(3);
    expect(got.data).toEqual(data);
    writeFileSync(join(dir, 'bad.bin'), data.subarray(0, data.length - 1));
    expect(await loadError(() => readRecordsFile(join(dir, 'bad.bin'), { as: 'length-prefixed' }, LIMIT))).toBe(
      `${join(dir, 'bad.bin')}: truncated: record 2 at byte 11 of 5 bytes runs past the end (4 bytes follow its prefix)`,
    );
    expect(await loadError(() => readRecordsFile(join(dir, 'm.bin'), { as: 'length-prefixed' }, { maxRecordBytes: 4 }))).toMatch(
      /record 2 at byte 11 is 5 bytes, longer than the 4/,
    );
  });

  it('converts a file of fixed-size records', async () => {
    const dir = folder();
    const path = join(dir, 'f.bin');
    writeFileSync(path, text('aabbccdd'));
    const got = await readRecordsFile(path, { as: 'fixed', recordBytes: 2 }, LIMIT);
    expect(got.count).toBe(4);
    expect(got.data).toEqual(encodeRecords([text('aa'), text('bb'), text('cc'), text('dd')]));
    expect(await loadError(() => readRecordsFile(path, { as: 'fixed', recordBytes: 3 }, LIMIT))).toBe(
      `${path}: 8 bytes are not a whole number of 3-byte records (2 bytes left over)`,
    );
    expect(await loadError(() => readRecordsFile(path, { as: 'fixed', recordBytes: 4097 }, LIMIT))).toBe(
      `${path}: a record size of 4097 bytes is not in 1..4096`,
    );
  });

  it('reads a directory: every regular file one record, sorted by name', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'b'), text('second'));
    writeFileSync(join(dir, 'a'), text('first'));
    writeFileSync(join(dir, 'B'), text('upper case sorts first'));
    writeFileSync(join(dir, 'c-empty'), '');
    writeFileSync(join(dir, 'a10'), text('after a'));
    const got = await readRecordsFile(dir, { as: 'directory' }, LIMIT);
    expect(got.count).toBe(5);
    expect(got.data).toEqual(encodeRecords([text('upper case sorts first'), text('first'), text('after a'), text('second'), new Uint8Array(0)]));
  });

  it('refuses subdirectories, links, oversized files and empty directories, naming the entry', async () => {
    const withSub = folder();
    writeFileSync(join(withSub, 'a'), text('x'));
    mkdirSync(join(withSub, 'nested'));
    expect(await loadError(() => readRecordsFile(withSub, { as: 'directory' }, LIMIT))).toBe(
      `${join(withSub, 'nested')}: is a subdirectory; a records directory holds only regular files, one record each`,
    );
    const withLink = folder();
    writeFileSync(join(withLink, 'a'), text('x'));
    symlinkSync(join(withLink, 'a'), join(withLink, 'link'));
    expect(await loadError(() => readRecordsFile(withLink, { as: 'directory' }, LIMIT))).toBe(
      `${join(withLink, 'link')}: is a symbolic link; a records directory holds only regular files, one record each`,
    );
    const withBig = folder();
    writeFileSync(join(withBig, 'big'), new Uint8Array(4097));
    expect(await loadError(() => readRecordsFile(withBig, { as: 'directory' }, LIMIT))).toBe(
      `${join(withBig, 'big')}: is 4097 bytes, longer than the 4096 a record may be`,
    );
    const empty = folder();
    expect(await loadError(() => readRecordsFile(empty, { as: 'directory' }, LIMIT))).toBe(`${empty}: no records (the directory is empty)`);
    writeFileSync(join(empty, 'file'), 'x');
    expect(await loadError(() => readRecordsFile(join(empty, 'file'), { as: 'directory' }, LIMIT))).toBe(`${join(empty, 'file')}: is not a directory`);
    expect(await loadError(() => readRecordsFile(empty, { as: 'length-prefixed' }, LIMIT))).toBe(`${empty}: is a directory, not a file`);
    expect(await loadError(() => readRecordsFile(join(empty, 'nothing'), { as: 'directory' }, LIMIT))).toMatch(/nothing: cannot list it \(ENOENT\)/);
  });

  it('refuses a records file over the largest dataset before reading it', async () => {
    const path = join(folder(), 'huge.bin');
    writeFileSync(path, '');
    truncateSync(path, MAX_DATASET_BYTES + 1);
    expect(await loadError(() => readRecordsFile(path, { as: 'fixed', recordBytes: 1 }, LIMIT))).toBe(
      `${path}: is ${MAX_DATASET_BYTES + 1} bytes, over the ${MAX_DATASET_BYTES} tabgrid reads`,
    );
  });
});

describe('readHeadersFile', () => {
  const header = (i: number) => i.toString(16).padStart(2, '0').repeat(80);

  it('reads one header per non-empty line, lower-cased, ignoring blank lines, CRs, spaces and a BOM', async () => {
    const path = join(folder(), 'headers.txt');
    writeFileSync(path, `\uFEFF${header(1)}\r\n\n  ${header(0xab).toUpperCase()}  \n${header(2)}`);
    expect(await readHeadersFile(path)).toEqual([header(1), header(0xab), header(2)]);
  });

  it('names the file and line of a bad header', async () => {
    const path = join(folder(), 'headers.txt');
    writeFileSync(path, `${header(1)}\n\n${header(2).slice(2)}\n`);
    expect(await loadError(() => readHeadersFile(path))).toBe(`${path}:3: 158 hex digits; a header is 160 (80 bytes)`);
    writeFileSync(path, `${header(1)}\n  0x${header(2).slice(4)}\n`);
    expect(await loadError(() => readHeadersFile(path))).toBe(`${path}:2: "x" at column 4 is not a hex digit; a header is 160 hex digits`);
    writeFileSync(path, '\n \n');
    expect(await loadError(() => readHeadersFile(path))).toBe(`${path}: no headers (every line is empty)`);
  });
});
