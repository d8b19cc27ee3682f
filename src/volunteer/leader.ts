/**
 * One leader per origin. Every tab of a volunteer shares one IndexedDB store and one
 * key, so two tabs computing at once would compute (and report) the same held units.
 * The Web Locks API gives the lock to one context at a time, across tabs and workers, and
 * frees it when its holder's context dies (a closed or crashed tab), so a waiting tab takes
 * over without a timeout.
 */
import { ErrorCode, TabgridError } from '../errors';

export const LeaderState = { Leading: 'leading', Waiting: 'waiting', Uncoordinated: 'uncoordinated' } as const;
export type LeaderState = (typeof LeaderState)[keyof typeof LeaderState];

export interface Leadership {
  /** Leading, or Uncoordinated where there are no Web Locks (the caller is alone, as far as it can tell). */
  readonly state: LeaderState;
  /** Frees the lock; a waiting tab then gets it. Calling it again does nothing. */
  release(): void;
}

export interface LeadershipOptions {
  readonly signal?: AbortSignal;
  /** Called once, when the lock is held elsewhere and this context starts to wait for it. */
  readonly onWaiting?: () => void;
}

const aborted = (reason?: unknown) => new TabgridError(ErrorCode.Aborted, 'aborted while waiting to lead', { cause: reason });

/**
 * Resolves once this context holds the lock `name` (first trying ifAvailable; if another tab
 * holds it, calls onWaiting() and waits). Without navigator.locks it resolves at once with
 * state Uncoordinated. Rejects with TabgridError Aborted if `signal` fires while waiting.
 */
export async function acquireLeadership(name: string, opts: LeadershipOptions = {}): Promise<Leadership> {
  const locks = typeof navigator === 'undefined' ? undefined : (navigator.locks as LockManager | undefined);
  if (!locks) return { state: LeaderState.Uncoordinated, release() {} };
  const { signal, onWaiting } = opts;
  if (signal?.aborted) throw aborted(signal.reason);
  const now = await hold(locks, name, { ifAvailable: true }, signal);
  if (now) return now;
  onWaiting?.();
  try {
    const later = await hold(locks, name, signal ? { signal } : {}, signal);
    // Only an ifAvailable request is granted nothing; this one waits until it is granted.
    if (!later) throw new TabgridError(ErrorCode.Aborted, 'the lock request ended without the lock');
    return later;
  } catch (err) {
    // The request's own abort error is a DOMException (or the signal's reason).
    throw err instanceof TabgridError ? err : aborted(err);
  }
}

/**
 * Requests the lock and resolves when the request is decided: with a Leadership once granted,
 * or null when `ifAvailable` found it taken. The lock is held until release() resolves the
 * promise its callback returned.
 */
function hold(locks: LockManager, name: string, options: LockOptions, signal: AbortSignal | undefined): Promise<Leadership | null> {
  return new Promise<Leadership | null>((resolve, reject) => {
    locks
      .request(name, options, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        // Granted as the signal fired: a lock the caller was told it did not get must not stay held.
        if (signal?.aborted) {
          reject(aborted(signal.reason));
          return undefined;
        }
        return new Promise<void>((free) => {
          let released = false;
          resolve({
            state: LeaderState.Leading,
            release() {
              if (!released) {
                released = true;
                free();
              }
            },
          });
        });
      })
      .catch(reject);
  });
}
