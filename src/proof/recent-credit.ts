/**
 * Recent average credit (RAC) as BOINC computes it (sched/credit.cpp update_average): credit
 * per day, decaying exponentially with a half-life of one week. Kept as the pair (average, the
 * time it was last updated); reading it at a later time decays it to then (BOINC's
 * decay_average), so a donor who stops sees it halve every week.
 */

export const RAC_HALF_LIFE_MS = 7 * 86_400_000;
const DAY_MS = 86_400_000;

export interface RecentCredit {
  /** Credit per day, as of `at`. */
  readonly rac: number;
  /** Epoch ms of the last update; 0 before any credit. */
  readonly at: number;
}

/** The average decayed from `r.at` to `now`. */
export function racAt(r: RecentCredit, now: number): number {
  if (r.at === 0) return 0;
  return r.rac * Math.exp((-Math.max(0, now - r.at) * Math.LN2) / RAC_HALF_LIFE_MS);
}

/**
 * `credit` granted at `now`: the old average decays over the time since its update, and the new
 * credit enters as credit per day over that same time, weighted by what decayed (BOINC's
 * update_average). Grants close together (or the first one) use the limit of that weight,
 * ln 2 · credit · day / half-life, as BOINC does, so a burst never reads as an absurd rate.
 */
export function addRecentCredit(r: RecentCredit, credit: number, now: number): RecentCredit {
  const diff = r.at === 0 ? 0 : Math.max(0, now - r.at);
  const weight = Math.exp((-diff * Math.LN2) / RAC_HALF_LIFE_MS);
  const decayed = r.at === 0 ? 0 : r.rac * weight;
  const added = 1 - weight > 1e-6 ? (1 - weight) * (credit / (diff / DAY_MS)) : (Math.LN2 * credit * DAY_MS) / RAC_HALF_LIFE_MS;
  return { rac: decayed + added, at: now };
}
