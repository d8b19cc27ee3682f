/**
 * Job requests, wherever they are made: checks a request (request.ts), reads its inputs (bytes,
 * Blobs such as a page's File objects, or paths through a reader only Node has), checks them
 * (data/), and builds the datasets and the job spec (build.ts). `submitIngested` then saves the
 * datasets and adds the job, in that order, so a job never names a dataset its store lacks, and
 * a bad input stops everything before anything is stored. Page-safe: Node's file reading comes
 * in as `paths` (ingest-node.ts).
 */
import * as v from 'valibot';
import { MAX_DATASET_BYTES } from '../../data/dataset';
import { parseHeaders } from '../../data/headers';
import { matrixDataset, type MatrixAs, type MatrixData } from '../../data/matrix-dataset';
import { MAX_NPY_PREAMBLE_BYTES, parseNpy } from '../../data/npy';
import { checkRecordsFormat, encodeRecords, recordsFromFile, type RecordsData, type RecordsFormat } from '../../data/records';
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import type { Hasher } from '../../hash/sha256-cpu';
import { toHex } from '../../hex';
import { MAX_UNIT_MESSAGE_BYTES } from '../../kernels/sha256-batch/unit';
import type { HostCore } from '../host-core';
import { parseJob, type JobSpec } from '../job';
import { refuseChangedSpec } from '../job-intake';
import type { HostStore } from '../store/store';
import { headersJob, productJob, recordsJob, type Ingested, type JobOptions, type MatrixInput } from './build';
import { headersRequestSchema, isJobRequest, productRequestSchema, recordsRequestSchema, REQUEST_ONLY } from './request';

/** Reads the files a request names by path (Node: load-node.ts); every error names the file. */
export interface PathReader {
  /** The path as messages and names give it (resolved against the job file's folder). */
  resolve(path: string): string;
  matrix(path: string, as: MatrixAs, signal?: AbortSignal): Promise<MatrixData>;
  records(path: string, format: RecordsFormat, options: { readonly maxRecordBytes: number; readonly signal?: AbortSignal }): Promise<RecordsData>;
  headers(path: string, signal?: AbortSignal): Promise<string[]>;
}

export interface IngestOptions {
  readonly hash: Hasher;
  readonly signal?: AbortSignal;
  /** How paths are read; without it (a page) a path is an error: pass a File. */
  readonly paths?: PathReader;
}

function bad(name: string, what: string): TabgridError {
  return new TabgridError(ErrorCode.BadInput, `${name}: ${what}`);
}

function parsed<S extends v.GenericSchema>(schema: S, raw: unknown, what: string): v.InferOutput<S> {
  const r = v.safeParse(schema, raw, { abortEarly: true });
  if (!r.success) {
    const issue = r.issues[0];
    const field = issue.path?.map((p) => String(p.key)).join('.');
    throw new TabgridError(ErrorCode.BadInput, `${what}: ${field && !issue.message.startsWith(field) ? `${field} ` : ''}${issue.message}`);
  }
  return r.output;
}

function optionsOf(raw: Record<string, unknown>): JobOptions {
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !REQUEST_ONLY.has(k)));
}

/**
 * A request's id, or one made from its kernel and a digest of the whole spec (every input's root,
 * every option), so submitting the same request twice names the same job, and two requests that
 * differ in anything (the same A with another B) name two.
 */
function idOf(given: string | undefined, kernel: string, hash: Hasher, ingest: (id: string) => Ingested): Ingested {
  if (given !== undefined) return ingest(given);
  // Built once (the datasets' trees are the costly part, and the id changes none of them), then named.
  const draftId = `${kernel}-draft`;
  let draft: Ingested;
  try {
    draft = ingest(draftId);
  } catch (err) {
    // Its errors name the job as the request did: without an id, not by the draft's made-up one.
    const prefix = `job ${JSON.stringify(draftId)}: `;
    if (err instanceof TabgridError && err.message.startsWith(prefix))
      throw new TabgridError(err.code, `job: ${err.message.slice(prefix.length)}`, { cause: err });
    throw err;
  }
  const { id: _draft, ...rest } = draft.spec;
  const digest = toHex(hash(new TextEncoder().encode(JSON.stringify(rest)))).slice(0, 12);
  return { ...draft, spec: parseJob({ ...draft.spec, id: `${kernel}-${digest}` }) };
}

/** A File's name, or `fallback` for a Blob that has none. */
export function blobName(blob: Blob, fallback: string): string {
  const name = (blob as Partial<File>).name;
  return typeof name === 'string' && name !== '' ? name : fallback;
}

/** A Blob's bytes, refused before any is read when it holds more than `max` (`tooBig` says why). */
export async function readBlob(blob: Blob, name: string, max: number, signal?: AbortSignal, tooBig?: (size: number) => string): Promise<Uint8Array> {
  throwIfAborted(signal);
  if (blob.size > max) throw bad(name, tooBig?.(blob.size) ?? `is ${blob.size} bytes, over the ${max} tabgrid reads`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await blob.arrayBuffer());
  } catch (e) {
    throw new TabgridError(ErrorCode.BadInput, `${name}: cannot read it (${(e as Error).message})`, { cause: e });
  }
  throwIfAborted(signal);
  return bytes;
}

function pathReader(options: IngestOptions, path: string): PathReader {
  if (!options.paths) throw bad(path, 'a page cannot read a file by its path: pass the File (or its bytes)');
  return options.paths;
}

type Source = string | Uint8Array | Blob;

async function matrixOf(src: Source, field: string, as: MatrixAs, options: IngestOptions): Promise<MatrixInput> {
  if (typeof src === 'string') {
    const paths = pathReader(options, src);
    return { ...(await paths.matrix(paths.resolve(src), as, options.signal)), name: src };
  }
  const name = src instanceof Uint8Array ? field : blobName(src, field);
  const bytes = src instanceof Uint8Array ? src : await readBlob(src, name, MAX_DATASET_BYTES + MAX_NPY_PREAMBLE_BYTES, options.signal);
  return { ...matrixDataset(parseNpy(bytes, name), as, name), name };
}

type RecordsSource = string | Blob | readonly (Uint8Array | Blob)[];

async function recordsOf(src: RecordsSource, format: RecordsFormat, options: IngestOptions): Promise<RecordsData & { name: string }> {
  const maxRecordBytes = MAX_UNIT_MESSAGE_BYTES;
  if (typeof src === 'string') {
    const paths = pathReader(options, src);
    return { ...(await paths.records(paths.resolve(src), format, { maxRecordBytes, signal: options.signal })), name: src };
  }
  if (src instanceof Blob) {
    const name = blobName(src, 'records');
    checkRecordsFormat(format, name, maxRecordBytes);
    return { ...recordsFromFile(await readBlob(src, name, MAX_DATASET_BYTES, options.signal), format, name, maxRecordBytes), name };
  }
  // A list: each item one record (a directory a page was given, or records in memory).
  if (src.length === 0) throw bad('records', 'no records (the list is empty)');
  // Sizes are known before any Blob is read: a list too large in all is refused before a byte of it is.
  const total = src.reduce((n, item) => n + 4 + (item instanceof Uint8Array ? item.length : item.size), 0);
  if (total > MAX_DATASET_BYTES) {
    throw bad('records', `${src.length} records as length-prefixed records would be ${total} bytes, over the ${MAX_DATASET_BYTES} a dataset holds`);
  }
  const records: Uint8Array[] = [];
  for (let i = 0; i < src.length; i++) {
    const item = src[i]!;
    const name = item instanceof Uint8Array ? `record ${i}` : blobName(item, `record ${i}`);
    const tooBig = (size: number) => `is ${size} bytes, longer than the ${maxRecordBytes} a record may be`;
    if (item instanceof Uint8Array && item.length > maxRecordBytes) throw bad(name, tooBig(item.length));
    records.push(item instanceof Uint8Array ? item : await readBlob(item, name, maxRecordBytes, options.signal, tooBig));
  }
  return { data: encodeRecords(records), count: records.length, name: 'records' };
}

async function headersOf(src: string | Blob | readonly string[], options: IngestOptions): Promise<string[]> {
  if (typeof src === 'string') {
    const paths = pathReader(options, src);
    return paths.headers(paths.resolve(src), options.signal);
  }
  if (src instanceof Blob) {
    const name = blobName(src, 'headers');
    return parseHeaders(new TextDecoder().decode(await readBlob(src, name, MAX_DATASET_BYTES, options.signal)), name);
  }
  return [...src];
}

/** Reads and checks a job request's inputs and builds its datasets and spec; stores nothing. */
export async function ingestRequest(raw: unknown, options: IngestOptions): Promise<Ingested> {
  const kernel = typeof raw === 'object' && raw !== null ? (raw as { kernel?: unknown }).kernel : undefined;
  // Named as parseJob names a job: "job" when the request gives no id (not "job undefined").
  const id = (raw as { id?: unknown } | null)?.id;
  const what = id === undefined ? 'job' : `job ${JSON.stringify(id)}`;
  if (kernel === 'matmul-f32' || kernel === 'matmul-modp') {
    const r = parsed(productRequestSchema, raw, what);
    if (r.kernel === 'matmul-modp' && r.p === undefined) throw new TabgridError(ErrorCode.BadInput, `${what}: p (the prime modulus) is missing`);
    const as: MatrixAs = r.kernel === 'matmul-modp' ? { kind: 'modp', p: r.p ?? 0 } : { kind: 'f32' };
    const a = await matrixOf(r.a, 'a', as, options);
    const b = await matrixOf(r.b, 'b', as, options);
    return idOf(r.id, r.kernel, options.hash, (id) =>
      productJob(
        { id, kernel: r.kernel, a, b, ...(r.p === undefined ? {} : { p: r.p }), m: r.m, n: r.n, unitFlops: r.unitFlops, options: optionsOf(r) },
        options.hash,
      ),
    );
  }
  if (kernel === 'sha256-batch') {
    const r = parsed(recordsRequestSchema, raw, what);
    const format = r.format ?? 'length-prefixed';
    const records = await recordsOf(r.records, typeof format === 'string' ? { as: format } : { as: 'fixed', recordBytes: format.fixed }, options);
    return idOf(r.id, r.kernel, options.hash, (id) => recordsJob({ id, records, messagesPerUnit: r.messagesPerUnit, options: optionsOf(r) }, options.hash));
  }
  if (kernel === 'sha256d-pow') {
    const r = parsed(headersRequestSchema, raw, what);
    const headers = await headersOf(r.headers, options);
    return idOf(r.id, r.kernel, options.hash, (id) => headersJob({ id, headers, unitsPerHeader: r.unitsPerHeader, options: optionsOf(r) }));
  }
  throw new TabgridError(ErrorCode.BadInput, `${what}: kernel must be matmul-f32, matmul-modp, sha256-batch or sha256d-pow for a job with its own inputs`);
}

/** Saves a request's datasets, then adds its job to the running host. Resolves to the job's spec. */
export async function submitIngested(core: HostCore, store: HostStore, ingested: Ingested, now = Date.now()): Promise<JobSpec> {
  // A job the host would refuse stores nothing: its datasets are not saved either.
  refuseChangedSpec(
    core.jobs().find((j) => j.id === ingested.spec.id),
    ingested.spec,
  );
  for (const [root, data] of ingested.datasets) await store.saveDataset({ root, data, createdAt: now });
  await core.addJob(ingested.spec);
  return ingested.spec;
}

/** Reads, checks and builds a request (ingestRequest), then saves its datasets and adds its job; nothing is stored when an input is bad. */
export async function submitRequest(core: HostCore, store: HostStore, raw: unknown, options: IngestOptions): Promise<JobSpec> {
  const ingested = await ingestRequest(raw, options);
  throwIfAborted(options.signal);
  return submitIngested(core, store, ingested);
}

/** Submits either kind of job: a request with its own inputs (submitRequest), or a seeded job spec (parseJob). Resolves to the spec the host serves. */
export async function submitJob(core: HostCore, store: HostStore, raw: unknown, options: IngestOptions): Promise<JobSpec> {
  throwIfAborted(options.signal);
  if (isJobRequest(raw)) return submitRequest(core, store, raw, options);
  const spec = parseJob(raw);
  await core.addJob(spec);
  return spec;
}
