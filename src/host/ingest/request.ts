/**
 * A job request: a job as a researcher writes it with their own inputs (a job file, the SDK's
 * submit, the dashboard's form), before its datasets exist. It names files (paths, relative to
 * the job file; Node only), carries the bytes, or carries Blobs (a page's File objects), plus every field of the kernel's job spec except the ones the inputs
 * decide (units, seed, sizes, data). One parse at the edge; the job spec built from it is
 * parsed again by parseJob, which judges the policy fields.
 */
import * as v from 'valibot';
import { isRecord } from '../../kernels/spec-fields';

const path = v.pipe(v.string('must be a file path'), v.minLength(1, 'must be a file path'));
const bytes = v.instance(Uint8Array, 'must be the file bytes (Uint8Array)');
/** A file a page was given (File) or any Blob: read, size checked first, when the request is ingested. */
const blob = v.instance(Blob, 'must be a File or Blob');
const source = v.union([path, bytes, blob], 'must be a file path, the file bytes or a File');
const positive = (name: string) =>
  v.optional(
    v.pipe(
      v.number(`${name} must be a positive integer`),
      v.integer(`${name} must be a positive integer`),
      v.minValue(1, `${name} must be a positive integer`),
    ),
  );
const id = v.optional(v.pipe(v.string('id must be 1..64 letters, digits, . _ or -'), v.regex(/^[\w.-]{1,64}$/, 'id must be 1..64 letters, digits, . _ or -')));

/** How a records file is laid out: length-prefixed records (the default), fixed-size records, or a directory with one file a record. */
export const RecordsFormat = v.union(
  [
    v.literal('length-prefixed'),
    v.literal('directory'),
    v.strictObject({ fixed: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)) }, 'format.fixed must be a record size in 1..4096 bytes'),
  ],
  "format must be 'length-prefixed', 'directory' or { fixed: BYTES }",
);

export const productRequestSchema = v.looseObject({
  id,
  kernel: v.picklist(['matmul-f32', 'matmul-modp']),
  a: source,
  b: source,
  p: v.optional(v.number('p must be a prime')),
  m: positive('m'),
  n: positive('n'),
  unitFlops: positive('unitFlops'),
});

export const recordsRequestSchema = v.looseObject({
  id,
  kernel: v.literal('sha256-batch'),
  /** A file (or directory), one File in `format`, or the records themselves (bytes, or Files one a record: a directory a page was given). */
  records: v.union(
    [path, blob, v.array(v.union([bytes, blob]), 'records must be a path, a File or an array of records (Uint8Array or File)')],
    'records must be a path, a File or an array of records',
  ),
  format: v.optional(RecordsFormat),
  messagesPerUnit: v.pipe(
    v.number('messagesPerUnit must be a positive integer'),
    v.integer('messagesPerUnit must be a positive integer'),
    v.minValue(1, 'messagesPerUnit must be a positive integer'),
  ),
});

export const headersRequestSchema = v.looseObject({
  id,
  kernel: v.literal('sha256d-pow'),
  /** A file of headers (160 hex digits a line; a path or a File), or the headers. */
  headers: v.union([path, blob, v.array(v.string())], 'headers must be a path, a File or an array of 160-hex-digit headers'),
  unitsPerHeader: v.pipe(
    v.number('unitsPerHeader must be a positive integer'),
    v.integer('unitsPerHeader must be a positive integer'),
    v.minValue(1, 'unitsPerHeader must be a positive integer'),
  ),
});

export type ProductRequestInput = v.InferOutput<typeof productRequestSchema>;
export type RecordsRequestInput = v.InferOutput<typeof recordsRequestSchema>;
export type HeadersRequestInput = v.InferOutput<typeof headersRequestSchema>;
export type JobRequest = ProductRequestInput | RecordsRequestInput | HeadersRequestInput;

/** Whether a job (from a file, or the SDK) brings its own inputs, rather than being a seeded job spec. */
export function isJobRequest(raw: unknown): boolean {
  if (!isRecord(raw)) return false;
  switch (raw.kernel) {
    case 'matmul-f32':
    case 'matmul-modp':
      return 'a' in raw || 'b' in raw;
    case 'sha256-batch':
      return 'records' in raw;
    case 'sha256d-pow':
      return 'unitsPerHeader' in raw;
    default:
      return false;
  }
}

/** The fields that are the request's inputs and sizes, not the job spec's: left out of the spec's options. */
export const REQUEST_ONLY = new Set([
  'a',
  'b',
  'm',
  'n',
  'unitFlops',
  'records',
  'format',
  'headers',
  'unitsPerHeader',
  'id',
  'kernel',
  'p',
  'messagesPerUnit',
]);
