import { describe, expect, it } from 'vitest';
import { DutyCycle, type Clock } from '../../src/duty-cycle';

/** A clock that only moves when told: sleeps advance it instantly and are recorded. */
function fakeClock(): Clock & { t: number; sleeps: number[]; onSleep?: (t: number) => void } {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    onSleep: undefined as ((t: number) => void) | undefined,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
      clock.onSleep?.(clock.t);
    },
  };
  return clock;
}

describe('DutyCycle', () => {
  it('never idles at full share', async () => {
    const clock = fakeClock();
    const duty = new DutyCycle(clock);
    await duty.rest(1000);
    expect(clock.sleeps).toEqual([]);
  });

  it('idles t·(1 − s)/s after work of t ms', async () => {
    const clock = fakeClock();
    const duty = new DutyCycle(clock);
    duty.share = 0.25;
    expect(duty.restMs(100)).toBeCloseTo(300);
    await duty.rest(100);
    expect(clock.t).toBeCloseTo(300);
    duty.share = 0.5;
    await duty.rest(40);
    expect(clock.t).toBeCloseTo(340);
  });

  it('keeps the share over many pieces of work', async () => {
    const clock = fakeClock();
    const duty = new DutyCycle(clock);
    duty.share = 0.4;
    let busy = 0;
    for (let i = 0; i < 50; i++) {
      await duty.run(async () => {
        const ms = 5 + (i % 7) * 11;
        clock.t += ms;
        busy += ms;
      });
    }
    expect(busy / clock.t).toBeCloseTo(0.4, 5);
  });

  it('rests in steps, so raising the throttle mid-rest ends the rest within a step', async () => {
    const clock = fakeClock();
    const duty = new DutyCycle(clock);
    duty.share = 0.1;
    // 1 s of work owes 9 s of rest; after 0.5 s the volunteer sets the throttle back to 100 %.
    clock.onSleep = (t) => {
      if (t >= 500) duty.share = 1;
    };
    await duty.rest(1000);
    expect(clock.t).toBeLessThanOrEqual(500);
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(250);
  });

  it('stops resting when aborted', async () => {
    const clock = fakeClock();
    const duty = new DutyCycle(clock);
    duty.share = 0.1;
    const controller = new AbortController();
    clock.onSleep = (t) => {
      if (t >= 750) controller.abort();
    };
    await expect(duty.rest(1000, controller.signal)).rejects.toMatchObject({ code: 'aborted' });
    expect(clock.t).toBe(750);
  });

  it('refuses shares outside 10–100 %', () => {
    const duty = new DutyCycle(fakeClock());
    for (const bad of [0, 0.05, 1.5, Number.NaN]) expect(() => (duty.share = bad)).toThrow(/outside/);
    expect(duty.share).toBe(1);
  });
});
