import type { Hold, StoredUnit } from './store/store';
import { StoredUnitState } from './store/store';

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
    /** How long a lapsed unit stays reserved for its last holder (`reserved`). */
    readonly graceMs: number = leaseMs,
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

  /**
   * The hold `key` has if it leases or renews `u` now: its own while that runs (no longer lapsed,
   * nor pausing unless `pausing` says so again), else a new one. Check `over` or `barred` first.
   */
  of(u: StoredUnit, key: string, now: number, pausing = false): Hold {
    const since = u.hold?.key === key && !this.over(u, key, now) ? u.hold.since : now;
    return pausing ? { key, since, pausing: true } : { key, since };
  }

  /**
   * Whether `u`, queued after its holder's lease lapsed, is still reserved for that holder and
   * so not for `key`: for graceMs from the lapse, a tab back from the background or a freeze
   * takes its unit (and checkpoint) back rather than finding it given away. With `atJobEnd`
   * (the asker holds nothing and no other unit is left for it) only a holder that said it was
   * pausing keeps its reservation: finishing the job wins over waiting for a silent holder.
   */
  reserved(u: StoredUnit, key: string, now: number, atJobEnd = false): boolean {
    const h = u.hold;
    if (u.state !== StoredUnitState.Queued || u.holder === null || u.holder === key || h?.key !== u.holder || h.lapsedAt === undefined) return false;
    if (now >= h.lapsedAt + this.graceMs) return false;
    return !atJobEnd || h.pausing === true;
  }

  /**
   * A unit as a restarted host restores it: a lease runs one more lease period from the later
   * of its deadline and now, and a lapsed unit's reservation starts again now, since no holder
   * could renew while the host was down. Undefined for a unit that needs neither.
   */
  restored(u: StoredUnit, now: number): StoredUnit | undefined {
    if ((u.state === StoredUnitState.Leased || u.state === StoredUnitState.Verifying) && u.leaseDeadline !== null) {
      return { ...u, leaseDeadline: Math.max(u.leaseDeadline, now) + this.leaseMs };
    }
    if (u.state === StoredUnitState.Queued && u.hold?.lapsedAt !== undefined && u.holder !== null)
      return { ...u, hold: { ...u.hold, lapsedAt: Math.max(u.hold.lapsedAt, now) } };
    return undefined;
  }

  /** A lease granted or renewed now lasts leaseMs, but not past the end of its hold. */
  deadline(hold: Hold, now: number): number {
    return Math.min(now + this.leaseMs, hold.since + this.maxHoldMs);
  }
}
