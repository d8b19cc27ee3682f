/**
 * Results out of a host's store (`npm run host -- --export JOB --out DIR`): a job's output files
 * (export-output.ts) and manifest.json (export-manifest.ts) written to a directory, from one
 * snapshot of the store, so it works on a stopped host's SQLite file and beside a running host
 * (a WAL reader: the host's commits go on meanwhile; a unit accepted after the snapshot is
 * missing, as the manifest says). Each file is written under a temporary name and renamed, and
 * the manifest last, so a directory with a manifest holds a finished export. Node only.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TabgridError } from '../../errors';
import type { HostStore } from '../store/store';
import { StoredUnitState } from '../store/store';
import { EXPORT_FORMAT, ExportState, exportedUnits, RECEIPT_CHECK, type ExportedFile, type ExportManifest, type ExportOutput } from './export-manifest';
import { withDatasets } from './with-datasets';
import { assembleOutput, type OutputFile } from './export-output';

export const MANIFEST_FILE = 'manifest.json';

export interface ExportOptions {
  /** Write into a directory that already holds files (ours are replaced; others are left). */
  readonly force?: boolean;
  /** Epoch ms for `exportedAt` (tests). */
  readonly now?: number;
  readonly signal?: AbortSignal;
}

export interface ExportReport {
  readonly jobId: string;
  readonly outDir: string;
  readonly state: ExportState;
  readonly output: ExportOutput;
  /** Files written, manifest.json last. */
  readonly files: readonly string[];
  readonly total: number;
  readonly accepted: number;
  readonly missing: readonly string[];
}

/** One job of a store, as `--list-jobs` shows it. */
export interface JobListing {
  readonly id: string;
  readonly kernel: string;
  readonly units: number;
  readonly accepted: number;
  readonly collect: boolean;
  readonly createdAt: number;
}

/** The jobs a store holds, oldest first, with how many units each has accepted. */
export async function listJobs(store: HostStore): Promise<JobListing[]> {
  const snapshot = await store.load();
  const accepted = new Map<string, number>();
  for (const u of snapshot.units) if (u.state === StoredUnitState.Accepted) accepted.set(u.jobId, (accepted.get(u.jobId) ?? 0) + 1);
  return snapshot.jobs.map((j) => ({
    id: j.id,
    kernel: j.spec.kernel,
    units: j.spec.units,
    accepted: accepted.get(j.id) ?? 0,
    collect: 'collect' in j.spec && j.spec.collect === true,
    createdAt: j.createdAt,
  }));
}

/** A job's export in memory: its output files and manifest.json last, with what exportJob reports. */
export interface BuiltExport {
  readonly jobId: string;
  readonly state: ExportState;
  readonly output: ExportOutput;
  /** The output files, then manifest.json. */
  readonly files: readonly Pick<OutputFile, 'name' | 'data'>[];
  readonly total: number;
  readonly accepted: number;
  readonly missing: readonly string[];
}

export interface BuildExportOptions {
  readonly now?: number;
  readonly signal?: AbortSignal;
  /** Called once the job is found, before its output is assembled (exportJob readies its directory there). */
  readonly found?: () => Promise<void>;
}

/**
 * Job `jobId`'s export files, in memory, from one snapshot of the store: what exportJob writes,
 * and what a host sends an observer that asks (observer.ts `export`); it touches no file.
 * Throws TabgridError 'bad-input' for an unknown job, 'storage' for a store it cannot read.
 */
export async function buildExport(store: HostStore, jobId: string, opts: BuildExportOptions = {}): Promise<BuiltExport> {
  const snapshot = await store.load();
  const job = snapshot.jobs.find((j) => j.id === jobId);
  if (!job) {
    const known = snapshot.jobs.map((j) => j.id);
    throw new TabgridError(
      ErrorCode.BadInput,
      `the store holds no job ${JSON.stringify(jobId)}; ${known.length ? `its jobs: ${known.join(', ')}` : 'it holds no jobs'}`,
    );
  }
  await opts.found?.();
  const units = snapshot.units.filter((u) => u.jobId === jobId);
  const listed = exportedUnits(
    units,
    snapshot.receipts.filter((r) => r.jobId === jobId),
  );
  const assembled = await withDatasets(store, job.spec, () => assembleOutput(job.spec, units, (unitId, root) => store.output(unitId, root), opts.signal));
  const unaccepted = listed.filter((u) => u.state !== StoredUnitState.Accepted).map((u) => u.unitId);
  const missing = [...unaccepted, ...assembled.unkept].sort((a, b) => index(a) - index(b));
  const state = missing.length === 0 && listed.length === job.spec.units ? ExportState.Complete : ExportState.Partial;
  const files: ExportedFile[] = assembled.files.map((f) => ({ name: f.name, bytes: f.data.length, holds: f.holds }));
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    job: { id: job.id, kernel: job.spec.kernel, spec: job.spec },
    state,
    output: assembled.output,
    note: assembled.note,
    exportedAt: new Date(opts.now ?? Date.now()).toISOString(),
    host: { publicKey: (await store.hostIdentity()).publicKey },
    units: { total: job.spec.units, accepted: listed.length - unaccepted.length, list: listed },
    missing,
    files,
    receiptCheck: RECEIPT_CHECK,
  };
  const text = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n');
  return {
    jobId,
    state,
    output: assembled.output,
    files: [...assembled.files, { name: MANIFEST_FILE, data: text }],
    total: job.spec.units,
    accepted: manifest.units.accepted,
    missing,
  };
}

/**
 * Writes job `jobId`'s export to `outDir` (made if need be). Refuses a directory that holds
 * anything unless `force`. Throws TabgridError 'bad-input' for an unknown job or a non-empty
 * directory, 'storage' for a store it cannot read.
 */
export async function exportJob(store: HostStore, jobId: string, outDir: string, opts: ExportOptions = {}): Promise<ExportReport> {
  const built = await buildExport(store, jobId, { ...opts, found: () => prepareDir(outDir, opts.force ?? false) });
  // The output files first and the manifest last, so a directory with a manifest holds a finished export.
  for (const f of built.files) {
    opts.signal?.throwIfAborted();
    await writeAtomic(outDir, f);
  }
  const { state, output, total, accepted, missing } = built;
  return { jobId, outDir, state, output, files: built.files.map((f) => f.name), total, accepted, missing };
}

/** A unit id's index (`job/index`), for ordering the missing list. */
function index(unitId: string): number {
  return Number(unitId.slice(unitId.lastIndexOf('/') + 1));
}

async function prepareDir(dir: string, force: boolean): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new TabgridError(ErrorCode.BadInput, `cannot make the export directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const held = await readdir(dir);
  if (held.length > 0 && !force) {
    throw new TabgridError(
      ErrorCode.BadInput,
      `the export directory ${dir} is not empty (${held.length} entries): choose another, or give --force to overwrite`,
    );
  }
}

/** Writes `f` as `dir/f.name` under a temporary name first, so a reader never sees half a file. */
async function writeAtomic(dir: string, f: Pick<OutputFile, 'name' | 'data'>): Promise<void> {
  const final = join(dir, f.name);
  const temp = join(dir, `.${f.name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, f.data, { flush: true });
    await rename(temp, final);
  } catch (err) {
    await rm(temp, { force: true });
    throw new TabgridError(ErrorCode.Storage, `cannot write ${final}: ${(err as Error).message}`, { cause: err });
  }
}
