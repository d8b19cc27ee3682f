import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { sleep, waited, withTimeout } from '../../src/async';
import { every, mainTimers } from '../../src/timers';
import { MAX_CLOCK_TIMERS, serveClock, WorkerClock, type ClockPort } from '../../src/worker/worker-clock';
import { until } from '../helpers/until';

/** Node's MessagePort speaks EventTarget with `{ data }` events, as a page's does. */
const asPort = (p: MessagePort | import('node:worker_threads').MessagePort) => p as unknown as ClockPort;

function pair(): { clock: WorkerClock; close(): void } {
  const channel = new MessageChannel();
  serveClock(asPort(channel.port2));
  const clock = new WorkerClock(asPort(channel.port1));
  return { clock, close: () => (clock.close(), channel.port2.close()) };
}

describe('WorkerClock', () => {
  it('fires each timer once, after its delay, in delay order', async () => {
    const { clock, close } = pair();
    try {
      const fired: string[] = [];
      const t0 = performance.now();
      const at: Record<string, number> = {};
      for (const [name, ms] of [
        ['c', 90],
        ['a', 20],
        ['b', 50],
      ] as const)
        clock.setTimeout(() => {
          fired.push(name);
          at[name] = performance.now() - t0;
        }, ms);
      expect(clock.size).toBe(3);
      await until(() => fired.length === 3);
      expect(fired).toEqual(['a', 'b', 'c']);
      expect(at.a).toBeGreaterThanOrEqual(18);
      expect(at.c).toBeGreaterThanOrEqual(88);
      expect(clock.size).toBe(0);
    } finally {
      close();
    }
  });

  it('a cleared timer never fires, and its slot is released', async () => {
    const { clock, close } = pair();
    try {
      let fired = 0;
      const h = clock.setTimeout(() => fired++, 30);
      clock.setTimeout(() => fired++, 30);
      clock.clearTimeout(h);
      clock.clearTimeout(h); // twice is harmless
      clock.clearTimeout(undefined);
      expect(clock.size).toBe(1);
      await until(() => clock.size === 0);
      await new Promise((r) => setTimeout(r, 50));
      expect(fired).toBe(1);
    } finally {
      close();
    }
  });

  it('drives sleep, waited, withTimeout and every as the main timers do', async () => {
    const { clock, close } = pair();
    try {
      const controller = new AbortController();
      const t0 = performance.now();
      await sleep(40, controller.signal, clock);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(38);
      const aborting = waited(10_000, controller.signal, clock);
      controller.abort();
      expect(await aborting).toBe(false);
      // The aborted sleep took its timer back.
      expect(clock.size).toBe(0);
      await expect(withTimeout(new Promise(() => undefined), 30, () => new Error('late'), clock)).rejects.toThrow('late');
      expect(await withTimeout(Promise.resolve(7), 1000, () => new Error('late'), clock)).toBe(7);
      expect(clock.size).toBe(0);
      let ticks = 0;
      const t1 = performance.now();
      const stop = every(clock, 20, () => ticks++);
      await until(() => ticks >= 4);
      stop();
      const seen = ticks;
      // Re-armed after each tick: four ticks take at least four periods.
      expect(performance.now() - t1).toBeGreaterThanOrEqual(4 * 20 - 2);
      await new Promise((r) => setTimeout(r, 60));
      expect(ticks).toBe(seen);
      expect(clock.size).toBe(0);
    } finally {
      close();
    }
  });

  it('after close it arms and fires nothing', async () => {
    const { clock, close } = pair();
    let fired = 0;
    clock.setTimeout(() => fired++, 20);
    close();
    clock.setTimeout(() => fired++, 1);
    expect(clock.size).toBe(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(fired).toBe(0);
  });

  it('the worker refuses bad requests and bounds its timers', async () => {
    const channel = new MessageChannel();
    serveClock(asPort(channel.port2));
    const fired: unknown[] = [];
    channel.port1.on('message', (id) => fired.push(id));
    channel.port1.postMessage({ set: 'x', ms: 1 });
    channel.port1.postMessage({ set: 1, ms: -5 });
    channel.port1.postMessage({ set: 2, ms: Number.NaN });
    channel.port1.postMessage('nonsense');
    for (let i = 0; i < MAX_CLOCK_TIMERS + 5; i++) channel.port1.postMessage({ set: 100 + i, ms: 5 });
    await until(() => fired.length >= MAX_CLOCK_TIMERS);
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toHaveLength(MAX_CLOCK_TIMERS);
    expect(fired).not.toContain(1);
    channel.port1.close();
    channel.port2.close();
  });

  it('keeps its cadence while the main thread is busy: the ticks come from another thread', async () => {
    // The worker side in a real thread, as in a page: a main thread blocked for 150 ms then
    // sees every timer that fell due meanwhile at once, none lost.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.once('message', (port) => {
         const armed = new Map();
         port.on('message', (m) => {
           if (typeof m.clear === 'number') { clearTimeout(armed.get(m.clear)); armed.delete(m.clear); return; }
           armed.set(m.set, setTimeout(() => { armed.delete(m.set); port.postMessage(m.set); }, m.ms));
         });
       });`,
      { eval: true },
    );
    try {
      const channel = new MessageChannel();
      worker.postMessage(channel.port2, [channel.port2]);
      const clock = new WorkerClock(asPort(channel.port1));
      let fired = 0;
      for (let i = 1; i <= 5; i++) clock.setTimeout(() => fired++, i * 20);
      const busyUntil = performance.now() + 150;
      while (performance.now() < busyUntil); // busy
      await until(() => fired === 5);
      clock.close();
    } finally {
      await worker.terminate();
    }
  });
});

describe('mainTimers', () => {
  it('is the fallback: the context own timers', async () => {
    let fired = 0;
    const h = mainTimers.setTimeout(() => fired++, 10);
    mainTimers.clearTimeout(h);
    mainTimers.setTimeout(() => fired++, 10);
    await new Promise((r) => setTimeout(r, 40));
    expect(fired).toBe(1);
  });
});
