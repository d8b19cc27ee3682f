import { ErrorCode, TabgridError } from './errors';
import { mainTimers, type Timers } from './timers';

/** Small promise helpers for long calls that take an AbortSignal or a deadline. */

export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new TabgridError(ErrorCode.Aborted, 'aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new TabgridError(ErrorCode.Aborted, 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error, timers: Timers = mainTimers): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = timers.setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (v) => (timers.clearTimeout(timer), resolve(v)),
      (e: unknown) => (timers.clearTimeout(timer), reject(e)),
    );
  });
}

/** Waits `ms` on `timers` (default the context's own); rejects with aborted on `signal`, cancelling the timer. */
export function sleep(ms: number, signal: AbortSignal, timers: Timers = mainTimers): Promise<void> {
  if (signal.aborted) return Promise.reject(new TabgridError(ErrorCode.Aborted, 'aborted'));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      timers.clearTimeout(timer);
      reject(new TabgridError(ErrorCode.Aborted, 'aborted'));
    };
    const timer = timers.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sleeps; resolves false (never rejects) if `signal` aborted it. */
export function waited(ms: number, signal: AbortSignal, timers: Timers = mainTimers): Promise<boolean> {
  return sleep(ms, signal, timers).then(
    () => true,
    () => false,
  );
}
