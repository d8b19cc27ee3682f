/**
 * Timers a caller can swap: a page's main-thread timers slow to one wake-up a minute after five
 * minutes hidden (Chrome's intensive throttling, lifted only while a data channel is open), so
 * the volunteer's recovery paths (reconnect backoff, liveness, connect timeouts) take them from
 * a dedicated worker instead (src/worker/worker-clock.ts), whose timers are not throttled.
 */
export interface Timers {
  /** Calls `fn` once after `ms`; the handle cancels it. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** An opaque handle from `Timers.setTimeout`. */
export type TimerHandle = { readonly timer: unknown };

/** The context's own timers (Node's, or a page's main thread). */
export const mainTimers: Timers = {
  setTimeout: (fn, ms) => ({ timer: setTimeout(fn, ms) }),
  clearTimeout: (handle) => {
    if (handle) clearTimeout(handle.timer as ReturnType<typeof setTimeout>);
  },
};

/** Calls `fn` every `ms` on `timers` (re-armed after each call, so a late tick never bunches up); returns the stop. */
export function every(timers: Timers, ms: number, fn: () => void): () => void {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const arm = () => {
    handle = timers.setTimeout(() => {
      if (stopped) return;
      arm();
      fn();
    }, ms);
  };
  arm();
  return () => {
    stopped = true;
    timers.clearTimeout(handle);
  };
}
