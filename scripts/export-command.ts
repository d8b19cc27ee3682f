/**
 * `npm run host -- --export JOB --out DIR` and `npm run host -- --list-jobs`: results out of a
 * host's SQLite store, stopped or running (src/host/export/export-job.ts).
 */
import { exportJob, listJobs } from '../src/host/export/export-job';
import { openHostStore } from '../src/host/store/open-host-store';

export const EXPORT_USAGE = `usage:
  npm run host -- --export JOB --out DIR --db FILE.sqlite [--force]
      writes job JOB's results to DIR: manifest.json (every unit's root, volunteer key, host-signed
      receipt, backend and adapter, and the units missing), and the output the job kept:
      C.npy (matrix jobs with collect), digests.bin and digests.npy (hashing jobs with collect),
      solutions.json (proof of work). Works on a stopped host's file and beside a running host.
      DIR must be empty or new unless --force.
  npm run host -- --list-jobs --db FILE.sqlite
      lists the jobs in the store: id, kernel, units accepted of all, whether output is collected,
      active, paused or cancelled.
  --store is another name for --db.`;

export interface ExportCommand {
  readonly export?: string;
  readonly out?: string;
  readonly db?: string;
  readonly force?: boolean;
  readonly listJobs?: boolean;
}

/** Runs the command; resolves to the exit code, having printed what it did or why it could not. */
export async function runExportCommand(c: ExportCommand, print: (line: string) => void, fail: (line: string) => void): Promise<number> {
  if (c.export !== undefined && c.listJobs) return usage(fail, '--export and --list-jobs are separate commands');
  if (c.export !== undefined && c.out === undefined) return usage(fail, '--export needs --out DIR');
  if (c.db === undefined) return usage(fail, "give --db FILE.sqlite: the store of the host whose jobs to read (a memory host's results end with it)");
  let store;
  try {
    store = await openHostStore(c.db, { existing: true });
  } catch (err) {
    fail(`error: ${(err as Error).message}`);
    return 1;
  }
  try {
    if (c.listJobs) {
      const jobs = await listJobs(store);
      if (jobs.length === 0) print(`no jobs in ${c.db}`);
      for (const j of jobs)
        print(`${j.id}\t${j.kernel}\t${j.accepted}/${j.units} units accepted\t${j.collect ? 'output collected' : 'roots only'}\t${j.status}`);
      return 0;
    }
    const report = await exportJob(store, c.export!, c.out!, { force: c.force ?? false });
    print(`exported job ${report.jobId} (${report.state}: ${report.accepted}/${report.total} units accepted) to ${report.outDir}: ${report.files.join(', ')}`);
    if (report.missing.length > 0) {
      const shown = report.missing.slice(0, 10).join(', ');
      print(`missing ${report.missing.length} unit(s): ${shown}${report.missing.length > 10 ? ', …' : ''} (listed in manifest.json)`);
    }
    return 0;
  } catch (err) {
    fail(`error: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

function usage(fail: (line: string) => void, why: string): number {
  fail(`error: ${why}\n${EXPORT_USAGE}`);
  return 2;
}
