import { ErrorCode, TabgridError, throwIfAborted } from './errors';

/**
 * The throttle: a volunteer gives a share s of compute time (0.1..1). After a piece of work
 * (a GPU dispatch, a CPU slice or band) that took t ms, the worker idles t·(1 − s)/s ms, so
 * over any stretch it computes about s of the time. Pieces are tens of milliseconds, so the
 * GPU and fans see a smooth lower load rather than long on/off bursts.
 */

/**
 * Something that idles after work; kernels take one to be throttled (default: never idle).
 * Paced work calls after every piece of work, the last included (GPU dispatches, CPU
 * hashing slices, proof-of-work chunks, CPU-pool bands), so the share holds however a unit is cut.
 */
export interface Pace {
  rest(workMs: number, signal?: AbortSignal): Promise<void>;
  /** The idle time owed for `workMs` of work (0: unthrottled; GPU runs then keep the next dispatch queued). */
  restMs?(workMs: number): number;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const MIN_SHARE = 0.1;

/** Rests are taken in steps this long, re-reading the share, so a changed throttle acts within one. */
const STEP_MS = 250;

export function checkShare(share: number): number {
  if (!Number.isFinite(share) || share < MIN_SHARE || share > 1) {
    throw new TabgridError(ErrorCode.BadInput, `throttle ${share} is outside ${MIN_SHARE}..1`);
  }
  return share;
}

export class DutyCycle implements Pace {
  private current = 1;

  constructor(private readonly clock: Clock = realClock) {}

  get share(): number {
    return this.current;
  }

  set share(share: number) {
    this.current = checkShare(share);
  }

  /** The idle time owed, at the current share, for work that took `workMs`. */
  restMs(workMs: number): number {
    return (Math.max(0, workMs) * (1 - this.current)) / this.current;
  }

  /**
   * Idles as long as `workMs` of work is owed. The share is read again every step, so raising
   * the throttle cuts a long rest short and lowering it lengthens the rest under way.
   */
  async rest(workMs: number, signal?: AbortSignal): Promise<void> {
    const started = this.clock.now();
    for (;;) {
      throwIfAborted(signal);
      const left = this.restMs(workMs) - (this.clock.now() - started);
      if (left <= 0) return;
      await this.clock.sleep(Math.min(left, STEP_MS));
    }
  }

  /** Runs one piece of work, then rests for it. */
  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const started = this.clock.now();
    const value = await work();
    await this.rest(this.clock.now() - started, signal);
    return value;
  }
}
