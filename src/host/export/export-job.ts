/**
 * Results out of a host's store (`npm run host -- --export JOB --out DIR`): a job's output files
 * (export-output.ts) and manifest.json (export-manifest.ts) written to a directory, from one
 * snapshot of the store, so it works on a stopped host's SQLite file and beside a running host
 * (a WAL reader: the host's commits go on meanwhile; a unit accepted after the snapshot is
 * missing, as the manifest says). Each file is written under a temporary name and renamed, and
 * the manifest last, so a directory with a manifest holds a finished export. Node only.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TabgridError } from '../../errors';
import type { HostStore } from '../store/store';
import { JobStatus, StoredUnitState } from '../store/store';
import { EXPORT_FORMAT, ExportState, exportedUnits, RECEIPT_CHECK, type ExportManifest, type ExportOutput } from './export-manifest';
import { planOutput, type FileSink, type OutputPlan, type OutputReader } from './export-output';
import { withDatasets } from './with-datasets';

export const MANIFEST_FILE = 'manifest.json';

export interface ExportOptions {
  /** Write into a directory that already holds files (ours are replaced; others are left). */
  readonly force?: boolean;
  /** Epoch ms for `exportedAt` (tests). */
  readonly now?: number;
  readonly signal?: AbortSignal;
}

export interface BuildExportOptions extends Omit<ExportOptions, 'force'> {
  /** Throws to refuse an export of `files` files (the manifest one of them) holding at least `bytes`, before it is built. */
  readonly refuse?: (files: number, bytes: number) => void;
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
  /** Active, paused or cancelled (store.ts JobStatus). */
  readonly status: JobStatus;
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
    status: j.status ?? JobStatus.Active,
  }));
}

/** A job's export in memory: its output files and manifest.json last, with what exportJob reports. */
export interface BuiltExport {
  readonly jobId: string;
  readonly state: ExportState;
  readonly output: ExportOutput;
  /** The output files, then manifest.json. */
  readonly files: readonly { readonly name: string; readonly data: Uint8Array }[];
  readonly total: number;
  readonly accepted: number;
  readonly missing: readonly string[];
}

/** Job `jobId` in one snapshot of the store: its spec, units and their listing. Throws 'bad-input' for an unknown job. */
async function snapshotOf(store: HostStore, jobId: string) {
  const snapshot = await store.load();
  const job = snapshot.jobs.find((j) => j.id === jobId);
  if (!job) {
    const known = snapshot.jobs.map((j) => j.id);
    throw new TabgridError(
      ErrorCode.BadInput,
      `the store holds no job ${JSON.stringify(jobId)}; ${known.length ? `its jobs: ${known.join(', ')}` : 'it holds no jobs'}`,
    );
  }
  const units = snapshot.units.filter((u) => u.jobId === jobId);
  const listed = exportedUnits(
    units,
    snapshot.receipts.filter((r) => r.jobId === jobId),
  );
  return { job, units, listed };
}

/** The manifest of a filled plan (`unkept`: accepted units whose output the store lacks), as UTF-8 JSON, with what it says. */
async function manifestOf(
  store: HostStore,
  { job, listed }: Awaited<ReturnType<typeof snapshotOf>>,
  plan: OutputPlan,
  unkept: readonly string[],
  now: number | undefined,
): Promise<{ text: Uint8Array; state: ExportState; accepted: number; missing: string[] }> {
  const unaccepted = listed.filter((u) => u.state !== StoredUnitState.Accepted).map((u) => u.unitId);
  const missing = [...unaccepted, ...unkept].sort((a, b) => index(a) - index(b));
  const state = missing.length === 0 && listed.length === job.spec.units ? ExportState.Complete : ExportState.Partial;
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    job: { id: job.id, kernel: job.spec.kernel, spec: job.spec },
    state,
    output: plan.output,
    note: plan.note,
    exportedAt: new Date(now ?? Date.now()).toISOString(),
    host: { publicKey: (await store.hostIdentity()).publicKey },
    units: { total: job.spec.units, accepted: listed.length - unaccepted.length, list: listed },
    missing,
    files: plan.files,
    receiptCheck: RECEIPT_CHECK,
  };
  return { text: new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'), state, accepted: manifest.units.accepted, missing };
}

/**
 * Writes job `jobId`'s export to `outDir` (made if need be). Refuses a directory that holds
 * anything unless `force`. Throws TabgridError 'bad-input' for an unknown job or a non-empty
 * directory, 'storage' for a store it cannot read.
 */
export async function exportJob(store: HostStore, jobId: string, outDir: string, opts: ExportOptions = {}): Promise<ExportReport> {
  const found = await snapshotOf(store, jobId);
  const { job, units } = found;
  await prepareDir(outDir, opts.force ?? false);
  // The job's datasets on the shelf while its units are laid out (a hashing job's records say where each unit's digests go).
  // Every file, the manifest last, is written in full before any replaces what the directory held (see writeFiles).
  const { plan, described } = await withDatasets(store, job.spec, async () => {
    const plan = planOutput(job.spec, units);
    const described = await writeFiles(
      outDir,
      plan,
      (unitId, root) => store.output(unitId, root),
      (unkept) => manifestOf(store, found, plan, unkept, opts.now),
      opts.signal,
    );
    return { plan, described };
  });
  const { state, accepted, missing } = described;
  return {
    jobId,
    outDir,
    state,
    output: plan.output,
    files: [...plan.files.map((f) => f.name), MANIFEST_FILE],
    total: job.spec.units,
    accepted,
    missing,
  };
}

/**
 * Job `jobId`'s export in memory, the same files exportJob writes, from one snapshot of the
 * store: what a host sends an observer that asks (observer.ts `export`). The caller bounds its
 * size (an observer takes MAX_OBSERVED_EXPORT_BYTES at most). Throws as exportJob does.
 */
export async function buildExport(store: HostStore, jobId: string, opts: BuildExportOptions = {}): Promise<BuiltExport> {
  const found = await snapshotOf(store, jobId);
  const { job, units } = found;
  const { plan, files, unkept } = await withDatasets(store, job.spec, async () => {
    const plan = planOutput(job.spec, units);
    // Refused from the plan's sizes, before any of it is allocated (a large C is gigabytes).
    opts.refuse?.(
      plan.files.length + 1,
      plan.files.reduce((n, f) => n + f.bytes, 0),
    );
    const files = plan.files.map((f) => ({ name: f.name, data: new Uint8Array(f.bytes) }));
    const sinks = files.map((f): FileSink => async (position, data) => {
      if (position + data.length > f.data.length)
        throw new TabgridError(ErrorCode.Storage, `${f.name}: bytes ${position}..${position + data.length} lie past its end`);
      f.data.set(data, position);
    });
    return { plan, files, unkept: await plan.fill(sinks, (unitId, root) => store.output(unitId, root), opts.signal) };
  });
  const { text, state, accepted, missing } = await manifestOf(store, found, plan, unkept, opts.now);
  return { jobId, state, output: plan.output, files: [...files, { name: MANIFEST_FILE, data: text }], total: job.spec.units, accepted, missing };
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
  // With --force, what a killed export left behind (tempName's files) goes too.
  if (force) await Promise.all(held.filter((name) => STALE_TEMP.test(name)).map((name) => rm(join(dir, name), { force: true })));
  if (held.length > 0 && !force) {
    throw new TabgridError(
      ErrorCode.BadInput,
      `the export directory ${dir} is not empty (${held.length} entries): choose another, or give --force to overwrite`,
    );
  }
}

/** tempName's names. */
const STALE_TEMP = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

/** A temporary name in `dir` for `name`, renamed to it once written, so a reader never sees half a file. */
function tempName(dir: string, name: string): string {
  return join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * The plan's files, each made at its full length (zeros), filled unit by unit at positions and
 * flushed; then the manifest `describe` makes of them (given the accepted units whose output the
 * store lacks), flushed; only then is anything renamed into place, the old manifest first taken
 * away, the new one last. A failure before the renames leaves the directory as it was (a
 * re-export with --force that fails keeps the old export whole); a crash during them leaves no
 * manifest, never one describing other files.
 */
async function writeFiles<M extends { readonly text: Uint8Array }>(
  dir: string,
  plan: OutputPlan,
  read: OutputReader,
  describe: (unkept: string[]) => Promise<M>,
  signal?: AbortSignal,
): Promise<M> {
  const temps = plan.files.map((f) => tempName(dir, f.name));
  const manifestTemp = tempName(dir, MANIFEST_FILE);
  temps.push(manifestTemp);
  const handles: FileHandle[] = [];
  try {
    for (const [i, f] of plan.files.entries()) {
      const handle = await open(temps[i]!, 'w');
      handles.push(handle);
      await handle.truncate(f.bytes);
    }
    const sinks = handles.map((h, i): FileSink => async (position, data) => {
      if (position + data.length > plan.files[i]!.bytes)
        throw new Error(`${plan.files[i]!.name}: bytes ${position}..${position + data.length} lie past its end`);
      let done = 0;
      while (done < data.length) done += (await h.write(data, done, data.length - done, position + done)).bytesWritten;
    });
    const unkept = await plan.fill(sinks, read, signal);
    for (const h of handles) await h.sync();
    for (const h of handles.splice(0)) await h.close();
    const described = await describe(unkept);
    await writeFile(manifestTemp, described.text, { flush: true });
    await rm(join(dir, MANIFEST_FILE), { force: true });
    for (const [i, f] of plan.files.entries()) await rename(temps[i]!, join(dir, f.name));
    await rename(manifestTemp, join(dir, MANIFEST_FILE));
    return described;
  } catch (err) {
    await Promise.allSettled(handles.map((h) => h.close()));
    await Promise.allSettled(temps.map((t) => rm(t, { force: true })));
    if (err instanceof TabgridError) throw err;
    throw new TabgridError(signal?.aborted ? ErrorCode.Aborted : ErrorCode.Storage, `cannot write the export to ${dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
