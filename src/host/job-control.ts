import { ErrorCode, TabgridError } from '../errors';
import { datasetsOf } from './job';
import { JobStatus, StoredUnitState, type StoredJob, type StoredUnit } from './store/store';

/**
 * The rules for pausing, resuming, cancelling and deleting a job, in one place for the running
 * host (HostCore.setJobStatus, deleteJob) and the CLI on a stopped host's store
 * (scripts/job-command.ts).
 */

/** The job with `status`, or undefined when it already has it; a cancelled job stays cancelled. */
export function withStatus(job: StoredJob, status: JobStatus): StoredJob | undefined {
  const now = job.status ?? JobStatus.Active;
  if (now === status) return undefined;
  if (now === JobStatus.Cancelled)
    throw new TabgridError(ErrorCode.BadInput, `job ${job.id} is cancelled; it cannot be ${status === JobStatus.Paused ? 'paused' : 'resumed'}`);
  return { ...job, status };
}

/**
 * What deleting `job` deletes besides its records: the datasets it reads that none of `others`
 * reads. Refused for a job neither finished (every unit accepted) nor cancelled.
 */
export function datasetsDeletedWith(job: StoredJob, units: readonly StoredUnit[], others: readonly StoredJob[]): string[] {
  const finished = units.every((u) => u.state === StoredUnitState.Accepted);
  if (job.status !== JobStatus.Cancelled && !finished)
    throw new TabgridError(ErrorCode.BadInput, `job ${job.id} is not finished; cancel it before deleting it`);
  const read = new Set(others.filter((j) => j.id !== job.id).flatMap((j) => datasetsOf(j.spec)));
  return [...new Set(datasetsOf(job.spec))].filter((root) => !read.has(root));
}
