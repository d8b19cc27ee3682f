/**
 * Job requests in Node: reads the files a request names (relative to `base`), checks them
 * (data/), builds the datasets and the job spec (build.ts). `submit` then saves the datasets
 * and adds the job, in that order, so a job never names a dataset its store lacks, and a bad
 * file stops everything before anything is stored.
 */
import { isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { encodeRecords } from '../../data/records';
import { matrixDataset } from '../../data/matrix-dataset';
import { parseNpy } from '../../data/npy';
import { readHeadersFile, readMatrixFile, readRecordsFile } from '../../data/load-node';
import { ErrorCode, TabgridError } from '../../errors';
import type { Hasher } from '../../hash/sha256-cpu';
import { MAX_UNIT_MESSAGE_BYTES } from '../../kernels/sha256-batch/unit';
import type { HostCore } from '../host-core';
import type { JobSpec } from '../job';
import type { HostStore } from '../store/store';
import { headersJob, productJob, recordsJob, type Ingested, type JobOptions, type MatrixInput } from './build';
import { headersRequestSchema, productRequestSchema, recordsRequestSchema, REQUEST_ONLY } from './request';

export interface IngestOptions {
  /** Where relative paths start (the job file's folder; default the working directory). */
  readonly base?: string;
  readonly hash: Hasher;
  readonly signal?: AbortSignal;
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

/** A request's id, or one made from its kernel and inputs' first root, so submitting the same inputs twice names the same job. */
function idOf(given: string | undefined, kernel: string, ingest: (id: string) => Ingested): Ingested {
  if (given !== undefined) return ingest(given);
  const draft = ingest(`${kernel}-draft`);
  const first = [...draft.datasets.keys()][0] ?? '';
  return ingest(`${kernel}-${first.slice(0, 12) || 'headers'}`);
}

/** Reads and checks a job request's inputs and builds its datasets and spec; stores nothing. */
export async function ingestRequest(raw: unknown, options: IngestOptions): Promise<Ingested> {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(options.base ?? process.cwd(), p));
  const kernel = typeof raw === 'object' && raw !== null ? (raw as { kernel?: unknown }).kernel : undefined;
  const what = `job ${JSON.stringify((raw as { id?: unknown } | null)?.id)}`;
  if (kernel === 'matmul-f32' || kernel === 'matmul-modp') {
    const r = parsed(productRequestSchema, raw, what);
    const as = r.kernel === 'matmul-modp' ? { kind: 'modp' as const, p: r.p ?? 0 } : { kind: 'f32' as const };
    if (r.kernel === 'matmul-modp' && r.p === undefined) throw new TabgridError(ErrorCode.BadInput, `${what}: p (the prime modulus) is missing`);
    const matrix = async (src: string | Uint8Array, name: string): Promise<MatrixInput> => {
      if (typeof src === 'string') return { ...(await readMatrixFile(at(src), as, { signal: options.signal })), name: src };
      return { ...matrixDataset(parseNpy(src, name), as, name), name };
    };
    const a = await matrix(r.a, 'a');
    const b = await matrix(r.b, 'b');
    return idOf(r.id, r.kernel, (id) =>
      productJob(
        { id, kernel: r.kernel, a, b, ...(r.p === undefined ? {} : { p: r.p }), m: r.m, n: r.n, unitFlops: r.unitFlops, options: optionsOf(r) },
        options.hash,
      ),
    );
  }
  if (kernel === 'sha256-batch') {
    const r = parsed(recordsRequestSchema, raw, what);
    let records: { data: Uint8Array; count: number; name: string };
    if (typeof r.records === 'string') {
      const format = r.format ?? 'length-prefixed';
      const read = await readRecordsFile(at(r.records), typeof format === 'string' ? { as: format } : { as: 'fixed', recordBytes: format.fixed }, {
        maxRecordBytes: MAX_UNIT_MESSAGE_BYTES,
        signal: options.signal,
      });
      records = { ...read, name: r.records };
    } else {
      const long = r.records.findIndex((m) => m.length > MAX_UNIT_MESSAGE_BYTES);
      if (long >= 0)
        throw new TabgridError(ErrorCode.BadInput, `${what}: record ${long} has ${r.records[long]!.length} bytes; at most ${MAX_UNIT_MESSAGE_BYTES}`);
      if (r.records.length === 0) throw new TabgridError(ErrorCode.BadInput, `${what}: records is empty`);
      records = { data: encodeRecords(r.records), count: r.records.length, name: 'records' };
    }
    return idOf(r.id, r.kernel, (id) => recordsJob({ id, records, messagesPerUnit: r.messagesPerUnit, options: optionsOf(r) }, options.hash));
  }
  if (kernel === 'sha256d-pow') {
    const r = parsed(headersRequestSchema, raw, what);
    const headers = typeof r.headers === 'string' ? await readHeadersFile(at(r.headers), { signal: options.signal }) : r.headers;
    const options_ = optionsOf(r);
    return idOf(r.id, r.kernel, (id) => headersJob({ id, headers, unitsPerHeader: r.unitsPerHeader, options: options_ }));
  }
  throw new TabgridError(ErrorCode.BadInput, `${what}: kernel must be matmul-f32, matmul-modp, sha256-batch or sha256d-pow for a job with its own inputs`);
}

/** Saves a request's datasets, then adds its job to the running host. Resolves to the job's spec. */
export async function submitIngested(core: HostCore, store: HostStore, ingested: Ingested, now = Date.now()): Promise<JobSpec> {
  for (const [root, data] of ingested.datasets) await store.saveDataset({ root, data, createdAt: now });
  await core.addJob(ingested.spec);
  return ingested.spec;
}
