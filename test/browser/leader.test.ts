import { describe, expect, it, vi } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { acquireLeadership, LeaderState } from '../../src/volunteer/leader';

// Web Locks are per origin, shared by every context, so two acquisitions in one page contend
// as two tabs would. Unique names keep tests apart.
const freshLock = () => `tabgrid-test-lead-${crypto.randomUUID()}`;
const tick = (ms = 100) => new Promise((r) => setTimeout(r, ms));
/** Whether the lock is held, and how many requests wait for it, per the browser. */
async function lockState(name: string): Promise<{ held: number; pending: number }> {
  const q = await navigator.locks.query();
  return { held: (q.held ?? []).filter((l) => l.name === name).length, pending: (q.pending ?? []).filter((l) => l.name === name).length };
}

describe('acquireLeadership', () => {
  it('leads at once when the lock is free', async () => {
    const name = freshLock();
    const onWaiting = vi.fn();
    const lead = await acquireLeadership(name, { onWaiting });
    expect(lead.state).toBe(LeaderState.Leading);
    expect(onWaiting).not.toHaveBeenCalled();
    expect(await lockState(name)).toEqual({ held: 1, pending: 0 });
    lead.release();
    lead.release();
    await tick(10);
    expect(await lockState(name)).toEqual({ held: 0, pending: 0 });
  });

  it('makes a second acquirer wait until the first releases', async () => {
    const name = freshLock();
    const first = await acquireLeadership(name);
    const onWaiting = vi.fn();
    let second: { state: LeaderState; release(): void } | undefined;
    const pending = acquireLeadership(name, { onWaiting }).then((l) => (second = l));
    await tick();
    expect(onWaiting).toHaveBeenCalledTimes(1);
    expect(second).toBeUndefined();
    expect(await lockState(name)).toEqual({ held: 1, pending: 1 });
    first.release();
    await pending;
    expect(second!.state).toBe(LeaderState.Leading);
    expect(await lockState(name)).toEqual({ held: 1, pending: 0 });
    second!.release();
  });

  it('rejects with aborted when the signal fires while waiting, and never takes the lock later', async () => {
    const name = freshLock();
    const first = await acquireLeadership(name);
    const abort = new AbortController();
    const waiting = acquireLeadership(name, { signal: abort.signal, onWaiting: () => abort.abort() });
    const err = await waiting.then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTabgridError(err, 'aborted'), String(err)).toBe(true);
    first.release();
    await tick();
    expect(await lockState(name)).toEqual({ held: 0, pending: 0 });
    // A third acquirer finds it free.
    const onWaiting = vi.fn();
    const third = await acquireLeadership(name, { onWaiting });
    expect(onWaiting).not.toHaveBeenCalled();
    third.release();
  });

  it('rejects at once with aborted for a signal already fired', async () => {
    const name = freshLock();
    const err = await acquireLeadership(name, { signal: AbortSignal.abort() }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTabgridError(err, 'aborted'), String(err)).toBe(true);
    expect(await lockState(name)).toEqual({ held: 0, pending: 0 });
  });

  it('is uncoordinated without Web Locks', async () => {
    Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
    try {
      const lead = await acquireLeadership(freshLock());
      expect(lead.state).toBe(LeaderState.Uncoordinated);
      lead.release();
    } finally {
      delete (navigator as { locks?: unknown }).locks;
    }
    expect(navigator.locks).toBeDefined();
  });
});
