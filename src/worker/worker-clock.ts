import type { TimerHandle, Timers } from '../timers';

/**
 * Timers kept by a dedicated worker. A hidden page's main-thread timers wake once a minute
 * after five minutes (Chrome's intensive throttling) unless a data channel is open, which is
 * exactly when the volunteer must reconnect; a dedicated worker's timers keep their cadence,
 * and its messages wake the page's main thread at once. The compute worker serves them
 * (`serveClock`, over a MessagePort of its own so units and timers never queue behind each
 * other); the page holds a `WorkerClock` on the other end.
 */

/** What crosses the port: arm timer `set` for `ms`, or cancel timer `clear`; the worker answers a fired timer with its id. */
export type ClockRequest = { readonly set: number; readonly ms: number } | { readonly clear: number };

/** The one end of a MessageChannel each side needs (a page's, a worker's, or Node's MessagePort). */
export interface ClockPort {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start?(): void;
  close(): void;
}

/** Longest timer the worker arms: ids and delays are checked, since anything may post to a port. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/** Timers one port may have armed at once; a page arms a handful (heartbeat, backoff, a few timeouts). */
export const MAX_CLOCK_TIMERS = 1024;

/** The worker's side: arms and clears timers as the page asks, and names each one that fires. */
export function serveClock(port: ClockPort): void {
  const armed = new Map<number, ReturnType<typeof setTimeout>>();
  port.addEventListener('message', ({ data }) => {
    const request = data as Partial<{ set: unknown; ms: unknown; clear: unknown }>;
    if (typeof request.clear === 'number') {
      clearTimeout(armed.get(request.clear));
      armed.delete(request.clear);
      return;
    }
    const id = request.set;
    const ms = request.ms;
    if (typeof id !== 'number' || typeof ms !== 'number' || !(ms >= 0) || armed.has(id) || armed.size >= MAX_CLOCK_TIMERS) return;
    armed.set(
      id,
      setTimeout(
        () => {
          armed.delete(id);
          port.postMessage(id);
        },
        Math.min(ms, MAX_DELAY_MS),
      ),
    );
  });
  port.start?.();
}

/** The page's side: Timers whose ticks come from the worker. After `close` it arms nothing and fires nothing. */
export class WorkerClock implements Timers {
  private readonly waiting = new Map<number, () => void>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly port: ClockPort) {
    port.addEventListener('message', ({ data }) => {
      if (typeof data !== 'number') return;
      const fn = this.waiting.get(data);
      this.waiting.delete(data);
      fn?.();
    });
    port.start?.();
  }

  /** Timers armed and not yet fired or cleared. */
  get size(): number {
    return this.waiting.size;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    if (this.closed) return { timer: id };
    this.waiting.set(id, fn);
    this.port.postMessage({ set: id, ms } satisfies ClockRequest);
    return { timer: id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    const id = handle?.timer;
    if (typeof id !== 'number' || !this.waiting.delete(id)) return;
    this.port.postMessage({ clear: id } satisfies ClockRequest);
  }

  close(): void {
    this.closed = true;
    this.waiting.clear();
    this.port.close();
  }
}
