import { describe, expect, it } from 'vitest';
import { middleFigures, middleWindow } from '../../scripts/store-bench';
import { newAnnounced } from '../../scripts/store-bench/driver';
import type { HostProcessStats } from '../../scripts/store-bench/wire';
import type { Receipt } from '../../src/protocol';

const stats = (accepted: number, cpuSeconds: number): HostProcessStats => ({
  cpuSeconds,
  systemSeconds: 0,
  busySeconds: cpuSeconds,
  accepted,
  total: 100,
  batches: 0,
  transactions: 0,
});

describe('npm run bench -- --store: the middle half', () => {
  it('asks the host for its stats as the receipt a quarter and three quarters of the way in is recorded, once each', async () => {
    const announced = newAnnounced();
    const asked: number[] = [];
    const host = { stats: () => (asked.push(announced.receipts.size), Promise.resolve(stats(announced.receipts.size, announced.receipts.size / 100))) };
    const window = middleWindow(10, announced, host);
    for (let i = 0; i < 10; i++) {
      announced.receipts.set(`r${i}`, {} as Receipt);
      announced.onAnnounce?.();
      announced.onAnnounce?.(); // a lease announced with no new receipt
    }
    const [a, b] = await window;
    expect(asked).toEqual([3, 8]);
    expect([a.accepted, b.accepted]).toEqual([3, 8]);
    expect(announced.onAnnounce).toBeUndefined();
  });

  it('takes both marks at once when one receipt passes both (a one-unit job), and then reports no figure', async () => {
    const announced = newAnnounced();
    const host = { stats: () => Promise.resolve(stats(announced.receipts.size, 1)) };
    const window = middleWindow(1, announced, host);
    announced.receipts.set('r0', {} as Receipt);
    announced.onAnnounce?.();
    const [a, b] = await window;
    expect(middleFigures(a, b)).toEqual({ middleCpuMsPerUnit: null, middleUnitsPerHostCpuSecond: null });
  });

  it("divides the window's CPU by the units accepted in it", () => {
    expect(middleFigures(stats(250, 1.5), stats(750, 1.625))).toEqual({ middleCpuMsPerUnit: 0.25, middleUnitsPerHostCpuSecond: 4000 });
  });
});
