import { describe, expect, it } from 'vitest';
import { DispatchPacer } from '../../src/gpu/pacer';

/** Simulates a device that processes `rate` items per ms (plus fixed overhead). */
function simulate(pacer: DispatchPacer, rate: number, total: number, overheadMs = 0.5) {
  const sizes: number[] = [];
  const times: number[] = [];
  for (let done = 0; done < total;) {
    const n = pacer.next(total - done);
    const ms = overheadMs + n / rate;
    pacer.record(n, ms);
    sizes.push(n);
    times.push(ms);
    done += n;
  }
  return { sizes, times };
}

describe('DispatchPacer', () => {
  it('converges on dispatches of about the target length on a fast device', () => {
    const { times, sizes } = simulate(new DispatchPacer({ initial: 64, max: 1 << 22, targetMs: 25 }), 1000, 2_000_000);
    expect(sizes[0]).toBe(64);
    // Growth is bounded (4x a step), then every dispatch sits near the target.
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeLessThanOrEqual(sizes[i - 1]! * 4);
    const settled = times.slice(8, -1);
    expect(settled.length).toBeGreaterThan(10);
    for (const t of settled) {
      expect(t).toBeGreaterThan(15);
      expect(t).toBeLessThan(40);
    }
  });

  it('shrinks at once when the device turns out slow, so no dispatch runs long twice', () => {
    const pacer = new DispatchPacer({ initial: 100_000, max: 1 << 22, targetMs: 25 });
    const { times } = simulate(pacer, 10, 200_000); // 100k items take 10 s here
    expect(times[0]).toBeGreaterThan(1000);
    for (const t of times.slice(1, -1)) expect(t).toBeLessThan(60);
  });

  it('keeps to its bounds and never asks for more than remains', () => {
    const pacer = new DispatchPacer({ initial: 10, min: 4, max: 50 });
    expect(pacer.next(3)).toBe(3);
    pacer.record(10, 0.001);
    expect(pacer.next(1000)).toBe(40);
    pacer.record(40, 0.001);
    expect(pacer.next(1000)).toBe(50);
    pacer.record(50, 1e6);
    expect(pacer.next(1000)).toBe(4);
  });
});
