import { JobStatus } from '../host/store/store';
import type { UnitView } from '../host/host-views';
import type { JobSpec } from '../host/job';

/**
 * One row of the jobs overview: a job's progress, its recent rate and the time left at that
 * rate, and what it is doing. Worked out from the job's units on each refresh (never in render).
 */

/** What the overview says a job is doing. */
export const JobState = {
  /** Units left, and the job leases them. */
  Running: 'running',
  Paused: 'paused',
  Cancelled: 'cancelled',
  /** Every unit accepted. */
  Done: 'done',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

/** The rate is of the units accepted over the last this long (or since the job's first acceptance, if later). */
export const RATE_WINDOW_MS = 5 * 60_000;

export interface JobRow {
  readonly id: string;
  readonly kernel: JobSpec['kernel'];
  readonly state: JobState;
  readonly total: number;
  readonly accepted: number;
  /** Units leased or being verified now. */
  readonly inFlight: number;
  /** Units accepted per minute lately; null before two acceptances to measure between. */
  readonly perMinute: number | null;
  /** Ms left at that rate, for a running job; else null. */
  readonly etaMs: number | null;
}

export function jobRow(spec: JobSpec, status: JobStatus, units: readonly UnitView[], now: number): JobRow {
  let accepted = 0;
  let inFlight = 0;
  const times: number[] = [];
  for (const u of units) {
    if (u.state === 'accepted') accepted++;
    else if (u.state === 'leased' || u.state === 'verifying') inFlight++;
    if (u.acceptedAt !== null && u.acceptedAt > now - RATE_WINDOW_MS && u.acceptedAt <= now) times.push(u.acceptedAt);
  }
  const total = units.length;
  const state = stateOf(status, accepted, total);
  // Measured from the first acceptance in the window to now, so a job that just started is not diluted by time it did not run.
  const first = Math.min(...times);
  const span = now - first;
  const perMinute = times.length >= 2 && span > 0 ? (times.length / span) * 60_000 : null;
  const etaMs = state === JobState.Running && perMinute !== null ? ((total - accepted) / perMinute) * 60_000 : null;
  return { id: spec.id, kernel: spec.kernel, state, total, accepted, inFlight, perMinute, etaMs };
}

function stateOf(status: JobStatus, accepted: number, total: number): JobState {
  if (accepted === total) return JobState.Done;
  switch (status) {
    case JobStatus.Active:
      return JobState.Running;
    case JobStatus.Paused:
      return JobState.Paused;
    case JobStatus.Cancelled:
      return JobState.Cancelled;
  }
}

/** "1,234.5 units/min", "—" before there is a rate. */
export function formatRate(perMinute: number | null): string {
  if (perMinute === null) return '—';
  return `${perMinute.toLocaleString('en', { maximumFractionDigits: perMinute < 10 ? 1 : 0 })} units/min`;
}

/** "about 3 min", "about 2 h 5 min", "under a minute"; "—" without an estimate. */
export function formatEta(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'under a minute';
  if (minutes < 60) return `about ${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `about ${h.toLocaleString('en')} h` : `about ${h.toLocaleString('en')} h ${m} min`;
}
