import { describe, expect, it } from 'vitest';
import { runSegments } from '../../src/worker/segments';

/** A unit of `total` items whose item i outputs byte i % 256; each item costs `msPerItem` on a fake clock. */
function fakeUnit(msPerItem: number) {
  let t = 0;
  const calls: [number, number][] = [];
  const segment = async (start: number, end: number, onProgress?: (done: number, total: number) => void) => {
    calls.push([start, end]);
    t += (end - start) * msPerItem;
    onProgress?.(end - start, end - start);
    return Uint8Array.from({ length: end - start }, (_, i) => (start + i) % 256);
  };
  return { segment, calls, now: () => t };
}

describe('runSegments', () => {
  it('runs in one piece without a checkpoint sink, from the resume point', async () => {
    const u = fakeUnit(1);
    const progress: number[] = [];
    const out = await runSegments(1000, { from: 400, onProgress: (d) => progress.push(d) }, u.segment, u.now);
    expect(u.calls).toEqual([[400, 1000]]);
    expect(out).toEqual(Uint8Array.from({ length: 600 }, (_, i) => (400 + i) % 256));
    expect(progress).toEqual([1000]);
  });

  it('checkpoints about every checkpointMs of compute, never after the last segment, and adapts the size', async () => {
    const u = fakeUnit(10); // 10 ms per item: 3000 ms is 300 items
    const checkpoints: [number, number][] = [];
    const out = await runSegments(10_000, { checkpointMs: 3000, onCheckpoint: (done, append) => checkpoints.push([done, append.length]) }, u.segment, u.now);
    expect(out).toEqual(Uint8Array.from({ length: 10_000 }, (_, i) => i % 256));
    // First a sixteenth (625 items = 6.25 s), then sized to the measured speed: 300 items.
    expect(u.calls[0]).toEqual([0, 625]);
    expect(u.calls[1]).toEqual([625, 925]);
    expect(u.calls.slice(2, -1).every(([s, e]) => e - s === 300)).toBe(true);
    expect(checkpoints).toHaveLength(u.calls.length - 1);
    expect(checkpoints.at(-1)![0]).toBe(u.calls.at(-1)![0]);
    // The appended pieces add up to everything before the last segment.
    expect(checkpoints.reduce((n, [, len]) => n + len, 0)).toBe(u.calls.at(-1)![0]);
  });

  it('grows slowly on a fast device: at most 4× per segment', async () => {
    const u = fakeUnit(0.001);
    await runSegments(1_000_000, { checkpointMs: 3000, onCheckpoint: () => undefined }, u.segment, u.now);
    const sizes = u.calls.map(([s, e]) => e - s);
    for (let i = 1; i < sizes.length - 1; i++) expect(sizes[i]!).toBeLessThanOrEqual(4 * sizes[i - 1]!);
  });

  it('never checkpoints more than 64 times a unit, however small checkpointMs is', async () => {
    const u = fakeUnit(1);
    let checkpoints = 0;
    await runSegments(10_000, { checkpointMs: 0.001, onCheckpoint: () => checkpoints++ }, u.segment, u.now);
    expect(checkpoints).toBeLessThanOrEqual(64);
    expect(u.calls.every(([s, e]) => e - s >= 157 || e === 10_000)).toBe(true);
  });

  it('reports progress in unit terms and refuses a resume point outside the unit', async () => {
    const u = fakeUnit(1);
    const progress: number[] = [];
    await runSegments(100, { from: 50, checkpointMs: 10, onCheckpoint: () => undefined, onProgress: (d, t) => progress.push(d / t) }, u.segment, u.now);
    expect(progress[0]).toBeGreaterThan(0.5);
    expect(progress.at(-1)).toBe(1);
    await expect(runSegments(100, { from: 101 }, u.segment, u.now)).rejects.toMatchObject({ code: 'bad-input' });
    expect(await runSegments(100, { from: 100 }, u.segment, u.now)).toEqual(new Uint8Array(0));
  });
});
