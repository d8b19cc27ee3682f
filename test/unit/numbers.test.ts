import { describe, expect, it } from 'vitest';
import { Kernel } from '../../src/kernels/units';
import { describeCredit, estimateLeft, formatCount, formatItemsPerSecond, formatUnitsPerMinute } from '../../src/ui/numbers';
import { Pace } from '../../src/ui/pace';

describe('the widget numbers in words (issue 20)', () => {
  it('explains credit in the work it paid for, with thousands separators', () => {
    expect(formatCount(262_144)).toBe('262,144');
    expect(describeCredit(0, new Map())).toBe('0 points');
    expect(describeCredit(262_144, new Map([[Kernel.Sha256Batch, 262_144]]))).toBe('262,144 points = 262,144 SHA-256 blocks');
    // Hashing and proof of work both pay per SHA-256 block; products per multiply-add.
    expect(
      describeCredit(
        1_310_720,
        new Map([
          [Kernel.Sha256Batch, 131_072],
          [Kernel.Sha256dPow, 131_072],
          [Kernel.MatmulModp, 1_048_576],
        ]),
      ),
    ).toBe('1,310,720 points = 262,144 SHA-256 blocks + 1,048,576 multiply-adds');
    // Credit from before a reload has no kernel on this page.
    expect(describeCredit(20_000, new Map([[Kernel.MatmulF32, 4_096]]))).toBe('20,000 points = 4,096 multiply-adds + 15,904 from earlier work');
  });

  it('gives rates per minute and per second, and the time left on a unit', () => {
    expect(formatUnitsPerMinute(2.44)).toBe('2.4 units/min');
    expect(formatItemsPerSecond(1_234_567.4, Kernel.Sha256dPow)).toBe('1,234,567 hashes/s');
    expect(formatItemsPerSecond(3.14, Kernel.MatmulI8)).toBe('3.1 matrix rows/s');
    expect(estimateLeft(1_000, 4_096, 100)).toBe('about 31 s left');
    expect(estimateLeft(0, 1 << 20, 1_000)).toBe('about 17 min left');
    expect(estimateLeft(10, 10, 100)).toBeUndefined();
    expect(estimateLeft(0, 10, 0)).toBeUndefined();
  });
});

describe('Pace', () => {
  it('measures units per minute and points per day over its window, once a unit is accepted', () => {
    const pace = new Pace(60_000, 10_000);
    pace.record(0, 0, 0);
    pace.record(5_000, 1, 8_192);
    expect(pace.unitsPerMinute).toBeUndefined(); // too short to say
    for (let t = 6_000; t <= 30_000; t += 1_000) pace.record(t, 1 + Math.floor((t - 5_000) / 5_000), 8_192 * (1 + Math.floor((t - 5_000) / 5_000)));
    // 6 units (48k points) in 30 s: 12 units/min, 8,192 × 6 × 2 × 1,440 points a day.
    expect(pace.unitsPerMinute).toBeCloseTo(12, 5);
    expect(pace.pointsPerDay).toBeCloseTo(8_192 * 6 * 2 * 1_440, 0);
    // The window slides: an hour later at no work, the old samples are gone and nothing is claimed.
    for (let t = 31_000; t <= 200_000; t += 1_000) pace.record(t, 6, 6 * 8_192);
    expect(pace.unitsPerMinute).toBeUndefined();
  });

  it('starts again when the counters go back (a new session)', () => {
    const pace = new Pace(60_000, 1_000);
    pace.record(0, 5, 500);
    pace.record(2_000, 6, 600);
    expect(pace.unitsPerMinute).toBeCloseTo(30, 5);
    pace.record(3_000, 0, 0);
    expect(pace.unitsPerMinute).toBeUndefined();
  });
});
