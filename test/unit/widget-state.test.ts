import { describe, expect, it } from 'vitest';
import { describeWidgetState, widgetState, WidgetState } from '../../src/ui/widget-state';
import { NoWork, VolunteerState } from '../../src/volunteer/session';

const base = { problem: false, waitingForTab: false, resting: false };

describe('widgetState', () => {
  it('reads running only while a session has work; no-work once the hosts have none (issue 20, bug 4)', () => {
    const computing = { state: VolunteerState.Running, noWork: undefined };
    const done = { state: VolunteerState.Running, noWork: NoWork.JobDone };
    const waiting = { state: VolunteerState.Running, noWork: NoWork.Waiting };
    expect(widgetState({ ...base, sessions: [computing] })).toBe(WidgetState.Running);
    expect(widgetState({ ...base, sessions: [done, computing] })).toBe(WidgetState.Running);
    expect(widgetState({ ...base, sessions: [done] })).toBe(WidgetState.NoWork);
    expect(describeWidgetState(WidgetState.NoWork, [done])).toMatch(/^no work: the job is finished/);
    expect(describeWidgetState(WidgetState.NoWork, [done, waiting])).toMatch(/^no work: the host has no unit/);
    expect(describeWidgetState(WidgetState.Running, [computing])).toBe('running');
  });

  it('keeps the other states as before', () => {
    expect(widgetState({ ...base, sessions: [] })).toBe(WidgetState.Idle);
    expect(widgetState({ ...base, problem: true, sessions: [] })).toBe(WidgetState.Error);
    expect(widgetState({ ...base, waitingForTab: true, sessions: [] })).toBe(WidgetState.Waiting);
    expect(widgetState({ ...base, resting: true, sessions: [{ state: VolunteerState.Running, noWork: undefined }] })).toBe(WidgetState.Resting);
    expect(
      widgetState({
        ...base,
        sessions: [
          { state: VolunteerState.Paused, noWork: undefined },
          { state: VolunteerState.Error, noWork: undefined },
        ],
      }),
    ).toBe(WidgetState.Error);
  });
});
