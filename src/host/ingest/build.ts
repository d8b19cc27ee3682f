/**
 * A researcher's inputs, already read and checked (data/), made into datasets and a job spec:
 * the one place a dataset job's units are laid out. A product's A is one dataset, B is cut
 * into column panels (kernels/matmul/tiles.ts); a hashing job's records are one dataset; a
 * proof-of-work job's headers go into its spec. Nothing here stores anything: the caller saves
 * the datasets, then adds the job, so a bad input leaves no trace.
 */
import { columnPanel } from '../../data/matrix-dataset';
import { buildDataset } from '../../data/dataset';
import { ErrorCode, TabgridError } from '../../errors';
import type { Hasher } from '../../hash/sha256-cpu';
import { MAX_PANELS, tileSides } from '../../kernels/matmul/tiles';
import { MAX_JOB_UNITS } from '../../kernels/job-spec';
import { MAX_UNIT_INNER_DIM } from '../../kernels/matmul/unit';
import { parseJob, type JobSpec } from '../job';

/** What a unit should cost, by default: about a second of a laptop's CPU, a few ms of a GPU. */
export const DEFAULT_UNIT_FLOPS = 2 ** 30;

/** A matrix as a dataset holds it: row-major little-endian words. */
export interface MatrixInput {
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
  /** Where it came from, for messages ("A.npy"). */
  readonly name: string;
}

/** The fields of a job that are not its inputs: policies, priority, trust, as the job's kernel takes them. */
export type JobOptions = Readonly<Record<string, unknown>>;

export interface Ingested {
  readonly spec: JobSpec;
  /** Each dataset the spec names, by root. */
  readonly datasets: ReadonlyMap<string, Uint8Array>;
}

export interface ProductRequest {
  readonly id: string;
  readonly kernel: 'matmul-f32' | 'matmul-modp';
  readonly a: MatrixInput;
  readonly b: MatrixInput;
  /** The modulus (matmul-modp). */
  readonly p?: number;
  /** A unit's block of C: m rows × n columns (default: sized to unitFlops). */
  readonly m?: number;
  readonly n?: number;
  readonly unitFlops?: number;
  readonly options: JobOptions;
}

function bad(id: string, what: string): TabgridError {
  return new TabgridError(ErrorCode.BadInput, `job ${JSON.stringify(id)}: ${what}`);
}

/** `units`, refused in the request's own terms (`made` says what made them) when a job may not have that many. */
function unitsOf(id: string, units: number, made: () => string, advice: string): number {
  if (units > MAX_JOB_UNITS) throw bad(id, `${made()} make ${units} units, over the ${MAX_JOB_UNITS} a job may have: ${advice}`);
  return units;
}

/** A tiled product job: A, B's panels, and the spec whose units read them. Checks the shapes agree. */
export function productJob(r: ProductRequest, hash: Hasher): Ingested {
  const { a, b } = r;
  if (a.cols !== b.rows)
    throw new TabgridError(ErrorCode.BadInput, `${a.name} is ${a.rows}×${a.cols} and ${b.name} is ${b.rows}×${b.cols}: A's columns must equal B's rows`);
  if (a.cols > MAX_UNIT_INNER_DIM)
    throw new TabgridError(ErrorCode.BadInput, `${a.name} has ${a.cols} columns; the inner dimension may be at most ${MAX_UNIT_INNER_DIM}`);
  const sides = tileSides(a.rows, b.cols, a.cols, r.unitFlops ?? DEFAULT_UNIT_FLOPS);
  const m = r.m ?? sides.m;
  const n = r.n ?? sides.n;
  // Said in the request's own terms (n, m), before any panel is built; parseJob would name only the fields it makes.
  const panelCount = Math.ceil(b.cols / n);
  if (panelCount > MAX_PANELS)
    throw bad(r.id, `n ${n} cuts ${b.name}'s ${b.cols} columns into ${panelCount} panels, over the ${MAX_PANELS} a job may have: give a larger n`);
  const units = unitsOf(r.id, Math.ceil(a.rows / m) * panelCount, () => `tiles of ${m}×${n} over the ${a.rows}×${b.cols} product`, 'give a larger m or n');
  const datasets = new Map<string, Uint8Array>();
  const keep = (data: Uint8Array) => {
    const d = buildDataset(data, hash);
    datasets.set(d.root, data);
    return d.root;
  };
  const aRoot = keep(a.data);
  const panels: string[] = [];
  for (let col = 0; col < b.cols; col += n) panels.push(keep(columnPanel(b.data, b.rows, b.cols, col, Math.min(n, b.cols - col))));
  const spec = parseJob({
    ...r.options,
    id: r.id,
    kernel: r.kernel,
    units,
    seed: 0,
    m,
    n,
    k: a.cols,
    ...(r.p === undefined ? {} : { p: r.p }),
    data: { a: aRoot, rows: a.rows, cols: b.cols, inner: a.cols, panels },
  });
  return { spec, datasets };
}

export interface RecordsRequest {
  readonly id: string;
  /** Length-prefixed records (data/records.ts) and how many. */
  readonly records: { readonly data: Uint8Array; readonly count: number; readonly name: string };
  readonly messagesPerUnit: number;
  readonly options: JobOptions;
}

/** A hashing job over the researcher's records. */
export function recordsJob(r: RecordsRequest, hash: Hasher): Ingested {
  const d = buildDataset(r.records.data, hash);
  const spec = parseJob({
    ...r.options,
    id: r.id,
    kernel: 'sha256-batch',
    units: unitsOf(
      r.id,
      Math.ceil(r.records.count / r.messagesPerUnit),
      () => `${r.records.count} records at messagesPerUnit ${r.messagesPerUnit}`,
      'raise messagesPerUnit',
    ),
    seed: 0,
    messagesPerUnit: r.messagesPerUnit,
    messageLength: 0,
    data: { root: d.root, bytes: r.records.data.length, records: r.records.count },
  });
  return { spec, datasets: new Map([[d.root, r.records.data]]) };
}

export interface HeadersRequest {
  readonly id: string;
  readonly headers: readonly string[];
  /** Units searching each header. */
  readonly unitsPerHeader: number;
  readonly options: JobOptions;
}

/** A proof-of-work job over the researcher's block headers, each its own run of units. */
export function headersJob(r: HeadersRequest): Ingested {
  const spec = parseJob({
    ...r.options,
    id: r.id,
    kernel: 'sha256d-pow',
    units: unitsOf(
      r.id,
      r.headers.length * r.unitsPerHeader,
      () => `${r.headers.length} headers at unitsPerHeader ${r.unitsPerHeader}`,
      'lower unitsPerHeader',
    ),
    seed: 0,
    headers: [...r.headers],
  });
  return { spec, datasets: new Map() };
}
