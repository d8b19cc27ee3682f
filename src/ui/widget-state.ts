import { NoWork, VolunteerState, type VolunteerSession } from '../volunteer/session';

/**
 * The element's states: a session's, waiting for another tab of this site, resting for
 * courtesy, or running with nothing to compute (no-work: the hosts have no unit now, or their
 * jobs are finished), so the widget never reads "running" while nothing runs.
 */
export const WidgetState = { ...VolunteerState, Waiting: 'waiting', Resting: 'resting', NoWork: 'no-work' } as const;
export type WidgetState = (typeof WidgetState)[keyof typeof WidgetState];

export interface WidgetStateInputs {
  readonly problem: boolean;
  readonly waitingForTab: boolean;
  readonly resting: boolean;
  readonly sessions: readonly Pick<VolunteerSession, 'state' | 'noWork'>[];
}

/** error for a bad page setting; waiting for another tab; resting; running if a session has work; no-work if the running ones have none; else error, paused or idle. */
export function widgetState(s: WidgetStateInputs): WidgetState {
  if (s.problem) return WidgetState.Error;
  if (s.waitingForTab) return WidgetState.Waiting;
  if (s.resting) return WidgetState.Resting;
  const running = s.sessions.filter((x) => x.state === VolunteerState.Running);
  if (running.some((x) => x.noWork === undefined)) return WidgetState.Running;
  if (running.length > 0) return WidgetState.NoWork;
  const states = s.sessions.map((x) => x.state);
  for (const st of [VolunteerState.Error, VolunteerState.Paused]) if (states.includes(st)) return st;
  return VolunteerState.Idle;
}

/** The State line in words. */
export function describeWidgetState(state: WidgetState, sessions: readonly Pick<VolunteerSession, 'noWork'>[]): string {
  if (state !== WidgetState.NoWork) return state;
  return sessions.every((x) => x.noWork === NoWork.JobDone)
    ? 'no work: the job is finished (checking for new work now and then)'
    : 'no work: the host has no unit to give right now (checking again)';
}
