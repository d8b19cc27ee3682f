import { describe, expect, it } from 'vitest';
import { Consent } from '../../src/ui/choices';
import { describeStatus } from '../../src/ui/describe';
import type { VolunteerSession } from '../../src/volunteer/session';

const session = (hostId: string, status: string, pending: string[] = []) =>
  ({ options: { hostId }, status, pendingReplicas: new Set(pending) }) as unknown as VolunteerSession;

describe('describeStatus', () => {
  it('says what each host session is doing, and how many results wait for a second replica', () => {
    const base = { waitingForTab: false, starting: false, consent: Consent.Started };
    expect(describeStatus({ ...base, sessions: [session('h', 'computing u/1')] })).toBe('computing u/1');
    expect(describeStatus({ ...base, sessions: [session('h', 'computing u/3', ['u/1', 'u/2'])] })).toBe(
      'computing u/3 (2 results waiting for a second volunteer to agree)',
    );
    expect(describeStatus({ ...base, sessions: [session('a', 'waiting for work', ['u/1']), session('b', 'computing v/0')] })).toBe(
      'a: waiting for work (1 result waiting for a second volunteer to agree) · b: computing v/0',
    );
    expect(describeStatus({ ...base, waitingForTab: true, sessions: [] })).toMatch(/^Another tab/);
    expect(describeStatus({ ...base, consent: Consent.Paused, sessions: [] })).toMatch(/^Paused, as you chose/);
  });
});
