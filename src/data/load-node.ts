/**
 * Node only: a researcher's input files read from disk into datasets' canonical bytes, with
 * errors that name the file (and the line, for headers). A file's size is checked before any of
 * it is read, and no more than that size is ever read, so a huge or growing file cannot take
 * the host's memory.
 */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TabgridError, throwIfAborted } from '../errors';
import { MAX_DATASET_BYTES } from './dataset';
import { matrixDataset, type MatrixAs, type MatrixData } from './matrix-dataset';
import { MAX_NPY_PREAMBLE_BYTES, parseNpy } from './npy';
import { parseHeaders } from './headers';
import { checkRecordsFormat, encodeRecords, recordsFromFile, RECORD_PREFIX_BYTES, type RecordsData, type RecordsFormat } from './records';

export { HEADER_HEX_DIGITS } from './headers';
export type { RecordsData, RecordsFormat } from './records';

function bad(name: string, what: string, cause?: unknown): TabgridError {
  return new TabgridError(ErrorCode.BadInput, `${name}: ${what}`, cause === undefined ? undefined : { cause });
}

/** Reads between abort checks. */
const READ_STEP = 16 * 1024 * 1024;

/**
 * A regular file's bytes, refused before reading when it holds more than `max` bytes. Reads
 * through one handle (its size from fstat), so the file checked is the file read.
 */
async function readBounded(
  path: string,
  max: number,
  signal: AbortSignal | undefined,
  how: { readonly flags?: number; readonly tooBig?: (size: number) => string } = {},
): Promise<Uint8Array> {
  throwIfAborted(signal);
  let handle;
  try {
    handle = await open(path, how.flags ?? constants.O_RDONLY);
  } catch (e) {
    throw bad(path, `cannot open it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw bad(path, info.isDirectory() ? 'is a directory, not a file' : 'is not a regular file');
    if (info.size > max) throw bad(path, how.tooBig?.(info.size) ?? `is ${info.size} bytes, over the ${max} tabgrid reads`);
    const out = new Uint8Array(info.size);
    let at = 0;
    while (at < out.length) {
      throwIfAborted(signal);
      const { bytesRead } = await handle.read(out, at, Math.min(READ_STEP, out.length - at), at);
      if (bytesRead === 0) throw bad(path, `shrank while it was read (${at} of ${out.length} bytes)`);
      at += bytesRead;
    }
    return out;
  } catch (e) {
    if (e instanceof TabgridError) throw e;
    throw bad(path, `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  } finally {
    await handle.close();
  }
}

/** A .npy matrix file as a matrix operand (matrix-dataset.ts); every error names `path`. */
export async function readMatrixFile(path: string, as: MatrixAs, options: { signal?: AbortSignal } = {}): Promise<MatrixData> {
  const bytes = await readBounded(path, MAX_DATASET_BYTES + MAX_NPY_PREAMBLE_BYTES, options.signal);
  return matrixDataset(parseNpy(bytes, path), as, path);
}

/**
 * A message file (or directory) as length-prefixed records (records.ts). A directory's records
 * are its regular files, sorted by name (code-unit order, not the locale's), every file one
 * record, dot files included; a subdirectory, link or other entry is refused rather than
 * skipped, so no record goes missing unnoticed. No record may exceed `maxRecordBytes` (the
 * kernel's limit, which the caller passes: data/ does not know the kernels).
 */
export async function readRecordsFile(path: string, format: RecordsFormat, options: { maxRecordBytes: number; signal?: AbortSignal }): Promise<RecordsData> {
  const { maxRecordBytes, signal } = options;
  switch (format.as) {
    case 'length-prefixed':
    case 'fixed':
      checkRecordsFormat(format, path, maxRecordBytes);
      return recordsFromFile(await readBounded(path, MAX_DATASET_BYTES, signal), format, path, maxRecordBytes);
    case 'directory':
      return readRecordsDirectory(path, maxRecordBytes, signal);
  }
}

async function readRecordsDirectory(path: string, maxRecordBytes: number, signal: AbortSignal | undefined): Promise<RecordsData> {
  let entries;
  try {
    if (!(await stat(path)).isDirectory()) throw bad(path, 'is not a directory');
    entries = await readdir(path, { withFileTypes: true });
  } catch (e) {
    if (e instanceof TabgridError) throw e;
    throw bad(path, `cannot list it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
  if (entries.length === 0) throw bad(path, 'no records (the directory is empty)');
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Every entry's type before any file is read: a misplaced folder is reported at once.
  for (const entry of entries) {
    if (entry.isFile()) continue;
    const kind = entry.isDirectory() ? 'a subdirectory' : entry.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
    throw bad(join(path, entry.name), `is ${kind}; a records directory holds only regular files, one record each`);
  }
  const records: Uint8Array[] = [];
  let total = 0;
  for (const entry of entries) {
    const file = join(path, entry.name);
    // O_NOFOLLOW: an entry swapped for a link after the listing is refused, not followed.
    const record = await readBounded(file, maxRecordBytes, signal, {
      flags: constants.O_RDONLY | constants.O_NOFOLLOW,
      tooBig: (size) => `is ${size} bytes, longer than the ${maxRecordBytes} a record may be`,
    });
    total += RECORD_PREFIX_BYTES + record.length;
    if (total > MAX_DATASET_BYTES) throw bad(path, `its files as length-prefixed records are over the ${MAX_DATASET_BYTES} bytes a dataset holds`);
    records.push(record);
  }
  return { data: encodeRecords(records, path), count: records.length };
}

/** A proof-of-work job's block headers file (headers.ts parseHeaders); every error names `path`. */
export async function readHeadersFile(path: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  return parseHeaders(new TextDecoder().decode(await readBounded(path, MAX_DATASET_BYTES, options.signal)), path);
}
