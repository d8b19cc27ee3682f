/**
 * `npm run host -- --pause|--resume|--cancel|--delete JOB --db FILE.sqlite`: changes a job in a
 * stopped host's store (src/host/job-control.ts holds the rules the running host follows too).
 */
import { JobStatus, type HostStore } from '../src/host/store/store';
import { datasetsDeletedWith, withStatus } from '../src/host/job-control';
import { openHostStore } from '../src/host/store/open-host-store';

export const JobCommandAction = {
  Pause: 'pause',
  Resume: 'resume',
  Cancel: 'cancel',
  Delete: 'delete',
} as const;
export type JobCommandAction = (typeof JobCommandAction)[keyof typeof JobCommandAction];

export const JOB_COMMAND_USAGE = `usage:
  npm run host -- --pause JOB --db FILE.sqlite     a paused job leases nothing until resumed
  npm run host -- --resume JOB --db FILE.sqlite
  npm run host -- --cancel JOB --db FILE.sqlite    leases nothing ever again; what was accepted stays
  npm run host -- --delete JOB --db FILE.sqlite    a finished or cancelled job: its units, kept output
                                                   and the datasets no other job reads (receipts stay)
  On a stopped host's store: a host running on the file keeps what it loaded (use its dashboard).`;

export interface JobCommand {
  readonly action: JobCommandAction;
  readonly jobId: string;
  readonly db?: string;
}

/** Runs the command; resolves to the exit code, having printed what it did or why it could not. */
export async function runJobCommand(c: JobCommand, print: (line: string) => void, fail: (line: string) => void): Promise<number> {
  if (c.db === undefined) {
    fail(`error: give --db FILE.sqlite: the store of the host whose job to ${c.action}\n${JOB_COMMAND_USAGE}`);
    return 2;
  }
  let store: HostStore;
  try {
    store = await openHostStore(c.db, { existing: true });
  } catch (err) {
    fail(`error: ${(err as Error).message}`);
    return 1;
  }
  try {
    print(await apply(store, c));
    return 0;
  } catch (err) {
    fail(`error: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

async function apply(store: HostStore, c: JobCommand): Promise<string> {
  const snapshot = await store.load();
  const job = snapshot.jobs.find((j) => j.id === c.jobId);
  if (!job) throw new Error(`${c.db} has no job ${c.jobId} (npm run host -- --list-jobs --db ${c.db} lists them)`);
  const status = async (to: JobStatus) => {
    const changed = withStatus(job, to);
    if (changed) await store.commit({ jobs: [changed] });
    return `job ${c.jobId} is ${to}${changed ? '' : ' (it already was)'}`;
  };
  switch (c.action) {
    case JobCommandAction.Pause:
      return status(JobStatus.Paused);
    case JobCommandAction.Resume:
      return status(JobStatus.Active);
    case JobCommandAction.Cancel:
      return status(JobStatus.Cancelled);
    case JobCommandAction.Delete: {
      const units = snapshot.units.filter((u) => u.jobId === c.jobId);
      const datasets = datasetsDeletedWith(job, units, snapshot.jobs);
      await store.commit({ deletedJobs: [c.jobId], deletedDatasets: datasets });
      return `deleted job ${c.jobId}: ${units.length} units, their kept output, ${datasets.length} dataset(s); its receipts stay`;
    }
  }
}
