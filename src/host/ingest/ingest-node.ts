/**
 * Job requests in Node: the shared ingestion (ingest.ts) with paths read from disk (load-node.ts),
 * relative to `base` (the job file's folder; default the working directory).
 */
import { isAbsolute, resolve } from 'node:path';
import { readHeadersFile, readMatrixFile, readRecordsFile } from '../../data/load-node';
import type { Hasher } from '../../hash/sha256-cpu';
import type { Ingested } from './build';
import { ingestRequest as ingestWith, type PathReader } from './ingest';

export { submitIngested } from './ingest';

export interface IngestOptions {
  /** Where relative paths start (the job file's folder; default the working directory). */
  readonly base?: string;
  readonly hash: Hasher;
  readonly signal?: AbortSignal;
}

/** Reads files from disk, relative paths from `base`. */
export function diskPaths(base: string = process.cwd()): PathReader {
  return {
    resolve: (p) => (isAbsolute(p) ? p : resolve(base, p)),
    matrix: (path, as, signal) => readMatrixFile(path, as, { signal }),
    records: (path, format, options) => readRecordsFile(path, format, options),
    headers: (path, signal) => readHeadersFile(path, { signal }),
  };
}

/** Reads and checks a job request's inputs (paths, bytes or Blobs) and builds its datasets and spec; stores nothing. */
export function ingestRequest(raw: unknown, options: IngestOptions): Promise<Ingested> {
  return ingestWith(raw, { hash: options.hash, signal: options.signal, paths: diskPaths(options.base) });
}
