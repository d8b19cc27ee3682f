import { describe, expect, it } from 'vitest';
import { ThroughputHistory, formatRate, sparklinePoints } from '../../src/ui/sparkline';

describe('ThroughputHistory', () => {
  it('turns a cumulative count sampled each second into rates', () => {
    const h = new ThroughputHistory(10);
    h.record(0, 0);
    h.record(500, 1000);
    h.record(1500, 2000);
    h.record(1500, 3000);
    h.record(1750, 3500); // half a second: 250 items → 500/s
    expect(h.values()).toEqual([500, 1000, 0, 500]);
    expect(h.latest).toBe(500);
    expect(h.peak).toBe(1000);
  });

  it('keeps only the last `capacity` samples, oldest first', () => {
    const h = new ThroughputHistory(3);
    for (const v of [1, 2, 3, 4, 5]) h.push(v);
    expect(h.values()).toEqual([3, 4, 5]);
    expect(h.latest).toBe(5);
  });

  it('counts a counter that restarted from zero, never a negative rate', () => {
    const h = new ThroughputHistory(4);
    h.record(900, 0);
    h.record(100, 1000);
    expect(h.values()).toEqual([100]);
  });

  it('ignores a sample at the same instant', () => {
    const h = new ThroughputHistory(4);
    h.record(0, 5);
    h.record(10, 5);
    expect(h.values()).toEqual([]);
    expect(h.latest).toBeUndefined();
  });
});

describe('sparklinePoints', () => {
  it('puts the newest sample at the right edge and the peak at the top', () => {
    expect(sparklinePoints([0, 5, 10], 100, 20, 5)).toBe('50,20 75,10 100,0');
  });

  it('fills the width when the ring is full', () => {
    expect(sparklinePoints([2, 2, 1], 10, 4, 3)).toBe('0,0 5,0 10,2');
  });

  it('draws a flat line at the bottom when nothing ran', () => {
    expect(sparklinePoints([0, 0], 10, 4, 2)).toBe('0,4 10,4');
    expect(sparklinePoints([], 10, 4, 2)).toBe('');
  });
});

describe('formatRate', () => {
  it('abbreviates', () => {
    expect(formatRate(3.14)).toBe('3.1 /s');
    expect(formatRate(42)).toBe('42 /s');
    expect(formatRate(12_345)).toBe('12.3 k/s');
    expect(formatRate(2_500_000)).toBe('2.5 M/s');
  });
});
