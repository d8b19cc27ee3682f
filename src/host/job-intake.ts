import { ErrorCode, TabgridError } from '../errors';
import { jobUnit, parseJob, type JobSpec } from './job';
import type { HostState, Tx } from './host-state';
import { StoredUnitState as UnitState } from './store/store';

/**
 * Stages `jobs` and all their units in `tx`, skipping jobs the state already holds with the
 * same spec. Shared by HostCore.open (jobs given at start) and HostCore.addJob (a job added
 * to a running host, e.g. from the dashboard), so both commit a job and its units together.
 * A known id with a different spec is an error, not a silent replacement. Returns the ids of
 * the jobs it staged.
 */
/** Throws when `spec` would replace `known`, the spec its id names already, with a different one. */
export function refuseChangedSpec(known: JobSpec | undefined, spec: JobSpec): void {
  if (known && JSON.stringify(known) !== JSON.stringify(spec)) {
    throw new TabgridError(ErrorCode.BadInput, `job ${spec.id} is stored with a different spec; give the new job another id`);
  }
}

export function stageJobs(state: HostState, tx: Tx, jobs: readonly JobSpec[], now: number): string[] {
  const staged: string[] = [];
  for (const [order, spec] of jobs.entries()) {
    parseJob(spec);
    const known = state.job(spec.id);
    if (known) {
      refuseChangedSpec(known.spec, spec);
      continue;
    }
    tx.putJob({ id: spec.id, spec, priority: spec.priority ?? 0, createdAt: now + order });
    // An empty lease history from the start: an authenticated result for a unit nobody ever leased is a claim on work never given.
    for (let i = 0; i < spec.units; i++) {
      const unit = jobUnit(spec, i);
      tx.putUnit({
        jobId: spec.id,
        unitId: unit.unitId,
        index: i,
        state: UnitState.Queued,
        holder: null,
        leaseDeadline: null,
        progress: 0,
        root: null,
        challenge: null,
        rejectedBy: [],
        acceptedAt: null,
        solutions: null,
        leasedTo: [],
      });
    }
    staged.push(spec.id);
  }
  return staged;
}
