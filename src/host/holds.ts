import type { Hold, StoredUnit } from './store/store';

/**
 * How long one key may keep a unit. Heartbeats renew a lease by leaseMs, but never past
 * maxHoldMs from when the key's hold began, and the hold goes on across the key's own lapses
 * and regains (and a check of its result that lapsed), so letting a lease lapse and taking the
 * unit back does not restart the clock. Past it the lease is lost, the unit goes back to the
 * queue, and its last holder may not take it for one more lease period, in which anyone else
 * asking gets it. Keys that squat on units with heartbeats so free each within maxHoldMs; an
 * honest volunteer loses only a unit it takes longer than maxHoldMs to finish.
 */
export class Holds {
  constructor(
    readonly leaseMs: number,
    readonly maxHoldMs: number,
  ) {}

  /** Why a lease was lost to the maximum hold, for `lease-lost` and errors. */
  get reason(): string {
    return `held for ${Math.round(this.maxHoldMs / 1000)} s, the longest one key may hold a unit (from its first lease, lapses included); it went back to the queue for others`;
  }

  /** Whether `key`'s hold of `u` has run out (it holds the unit, or held it last). */
  over(u: StoredUnit, key: string, now: number): boolean {
    return u.hold?.key === key && now >= u.hold.since + this.maxHoldMs;
  }

  /** Whether `key` may not lease `u` now: its hold ran out less than a lease period ago. */
  barred(u: StoredUnit, key: string, now: number): boolean {
    return this.over(u, key, now) && now < u.hold!.since + this.maxHoldMs + this.leaseMs;
  }

  /** The hold `key` has if it leases or renews `u` now: its own while that runs, else a new one. Check `over` or `barred` first. */
  of(u: StoredUnit, key: string, now: number): Hold {
    return u.hold?.key === key && !this.over(u, key, now) ? u.hold : { key, since: now };
  }

  /** A lease granted or renewed now lasts leaseMs, but not past the end of its hold. */
  deadline(hold: Hold, now: number): number {
    return Math.min(now + this.leaseMs, hold.since + this.maxHoldMs);
  }
}
