/**
 * Locality scheduling, as BOINC schedules sticky files: which of a job's queued units to hand a
 * volunteer so that it fetches as few dataset bytes as it can. A tiled product's units share B's
 * panels (kernels/matmul/tiles.ts); a volunteer that stays on the panel it holds fetches one band
 * of A per unit, one that hops fetches a whole panel again. So: first a unit all of whose
 * datasets the volunteer holds (or will, for the units it is leased), else one that opens a
 * dataset nobody else is reading right now (volunteers spread over panels instead of crowding
 * one and each fetching every panel after it), else the first in line.
 */
import { BEST_RANK } from './host-state';
import { datasetsOf, jobUnit, unitDatasets, type JobSpec } from './job';
import type { StoredUnit } from './store/store';

/** Ranks for HostState.nextQueued: higher is handed out first. */
export const LocalityRank = { Any: 0, Fresh: 1, Held: BEST_RANK } as const;
export type LocalityRank = (typeof LocalityRank)[keyof typeof LocalityRank];

/**
 * The ranking for one request from `who`: `hinted` are the roots it says it caches (or fetched
 * lately), `leased` the units leased now (its own count as held, others' as busy).
 */
export function localityRanker(
  who: string,
  hinted: Iterable<string>,
  leased: readonly StoredUnit[],
  specOf: (jobId: string) => JobSpec | undefined,
): (u: StoredUnit, spec: JobSpec) => LocalityRank {
  const held = new Set(hinted);
  const busy = new Set<string>();
  for (const u of leased) {
    const spec = specOf(u.jobId);
    if (!spec || datasetsOf(spec).length === 0) continue;
    const into = u.holder === who ? held : busy;
    for (const root of unitDatasets(jobUnit(spec, u.index))) into.add(root);
  }
  const reads = new Map<string, boolean>();
  return (u, spec) => {
    let hasData = reads.get(spec.id);
    if (hasData === undefined) reads.set(spec.id, (hasData = datasetsOf(spec).length > 0));
    if (!hasData) return LocalityRank.Held;
    const roots = unitDatasets(jobUnit(spec, u.index));
    if (roots.every((r) => held.has(r))) return LocalityRank.Held;
    return roots.some((r) => !held.has(r) && !busy.has(r)) ? LocalityRank.Fresh : LocalityRank.Any;
  };
}
