import { describe, expect, it } from 'vitest';
import type { UnitView } from '../../src/host/host-views';
import type { JobSpec } from '../../src/host/job';
import { formatEta, formatRate, jobRow, JobState, RATE_WINDOW_MS } from '../../src/dashboard/job-overview';

const spec: JobSpec = { id: 'j', kernel: 'sha256-batch', units: 10, messagesPerUnit: 8, messageLength: 32, seed: 1, samples: 4 };
const now = 1_000_000_000;

function units(acceptedAt: readonly (number | null)[], inFlight = 0): UnitView[] {
  return acceptedAt.map((t, index) => ({
    unitId: `j/${index}`,
    index,
    state: t !== null ? 'accepted' : index < acceptedAt.filter((x) => x !== null).length + inFlight ? 'leased' : 'queued',
    holder: null,
    progress: 0,
    root: null,
    rejections: 0,
    acceptedAt: t,
  }));
}

describe('jobs overview rows', () => {
  it('counts progress and units in flight, and measures the rate over the window from its first acceptance', () => {
    // 4 accepted over the last 2 min (and one long before the window), 2 leased, 3 queued.
    const times = [now - 3 * RATE_WINDOW_MS, now - 120_000, now - 90_000, now - 30_000, now];
    const row = jobRow(spec, 'active', units([...times, null, null, null, null, null], 2), now);
    expect(row).toMatchObject({ id: 'j', kernel: 'sha256-batch', state: JobState.Running, total: 10, accepted: 5, inFlight: 2 });
    expect(row.perMinute).toBeCloseTo(2, 9);
    // 5 left at 2 a minute.
    expect(row.etaMs).toBeCloseTo(150_000, 6);
  });

  it('has no rate before two acceptances in the window, and no time left unless running', () => {
    expect(jobRow(spec, 'active', units([now - 1000, null]), now)).toMatchObject({ perMinute: null, etaMs: null });
    const paused = jobRow(spec, 'paused', units([now - 60_000, now, null]), now);
    expect(paused).toMatchObject({ state: JobState.Paused, etaMs: null });
    expect(paused.perMinute).toBeCloseTo(2, 9);
    expect(jobRow(spec, 'cancelled', units([now, null]), now).state).toBe(JobState.Cancelled);
    // Done wins over a status: a job whose every unit was accepted is done, cancelled or not.
    expect(jobRow(spec, 'cancelled', units([now - 1, now]), now)).toMatchObject({ state: JobState.Done, etaMs: null });
  });

  it('writes rates and times with units and separators', () => {
    expect(formatRate(null)).toBe('—');
    expect(formatRate(2.345)).toBe('2.3 units/min');
    expect(formatRate(12_345.6)).toBe('12,346 units/min');
    expect(formatEta(null)).toBe('—');
    expect(formatEta(20_000)).toBe('under a minute');
    expect(formatEta(150_000)).toBe('about 3 min');
    expect(formatEta(2 * 3_600_000 + 5 * 60_000)).toBe('about 2 h 5 min');
    expect(formatEta(1_000 * 3_600_000)).toBe('about 1,000 h');
  });
});
