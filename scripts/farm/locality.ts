/**
 * The locality figure, measured from what the host served: in products whose units all
 * read one B (and, reported beside, products tiled over several panels of B), the dataset bytes the host sends a volunteer per unit after its first unit of the
 * job, against that unit's own A slice. Per volunteer key and job: the bytes served to the key
 * for the job's datasets (host-counted, DatasetLibrary.sent), less the chunks its first unit
 * needs (its A band and its panel, whole chunks: the cheapest of its units, so the figure leans
 * against us), over the A slices of its other accepted units. Units a key fetched for but did
 * not get accepted (killed, lease lost, a lie caught) add bytes and no units: that leans against
 * us too. Keys with fewer than two accepted units of a job have nothing after their first and
 * are left out, and so are keys that do not fetch through the volunteer session (`fetches`).
 */
import { chunkLength, chunksOf, type DatasetSlice } from '../../src/data/dataset';
import { datasetsOf, jobUnit, type JobSpec } from '../../src/host/job';
import type { HostSnapshot } from '../../src/host/store/store';
import { unitSlices } from '../../src/kernels/units';

/** The bound: bytes per unit after the first ≤ 1.1 × the unit's A slice. */
export const LOCALITY_BOUND = 1.1;

export interface LocalityFigure {
  /** The shared-B jobs measured. */
  jobs: string[];
  /** Volunteer keys × jobs counted (two or more accepted units). */
  volunteers: number;
  /** Dataset bytes served to them after each one's first unit of a job. */
  bytes_after_first: number;
  /** The A slices of those units (each key's units but its first). */
  a_slice_bytes_after_first: number;
  /** bytes_after_first / a_slice_bytes_after_first (the figure bounded by LOCALITY_BOUND). */
  ratio: number;
  /** The highest ratio of one key in one job. */
  worst_volunteer_ratio: number;
  /** Each key × job counted: its accepted units, the bytes served to it after its first unit, its A slices after the first. */
  by_volunteer: { job: string; key: string; units: number; bytes_after_first: number; a_slice_bytes_after_first: number }[];
}

/** The bytes of the whole chunks a slice lies in (what fetching it costs). */
function chunkBytes(s: DatasetSlice): number {
  const { first, count } = chunksOf(s);
  let bytes = 0;
  for (let i = first; i < first + count; i++) bytes += chunkLength(s.bytes, i);
  return bytes;
}

export function localityFigure(
  snapshot: HostSnapshot,
  jobs: readonly JobSpec[],
  servedByKey: Readonly<Record<string, Readonly<Record<string, number>>>>,
  fetches: (key: string) => boolean,
): LocalityFigure {
  const index = new Map(snapshot.units.map((u) => [u.unitId, u.index]));
  let after = 0;
  let aAfter = 0;
  let counted = 0;
  let worst = 0;
  const byVolunteer: LocalityFigure['by_volunteer'] = [];
  for (const spec of jobs) {
    const roots = datasetsOf(spec);
    // A product's datasets are A, then B's panels (kernels/matmul-*/host.ts).
    const aRoot = roots[0];
    const byKey = new Map<string, number[]>();
    for (const r of snapshot.receipts) {
      if (r.jobId !== spec.id || !fetches(r.volunteer)) continue;
      const list = byKey.get(r.volunteer) ?? [];
      list.push(index.get(r.unitId)!);
      byKey.set(r.volunteer, list);
    }
    for (const [key, units] of byKey) {
      if (units.length < 2) continue;
      const slices = units.map((i) => unitSlices(jobUnit(spec, i)));
      const aOf = (s: DatasetSlice[]) => s.filter((x) => x.root === aRoot).reduce((n, x) => n + x.length, 0);
      const costs = slices.map((s) => s.reduce((n, x) => n + chunkBytes(x), 0));
      const first = costs.indexOf(Math.min(...costs));
      const served = roots.reduce((n, root) => n + (servedByKey[key]?.[root] ?? 0), 0);
      const bytes = Math.max(0, served - costs[first]!);
      const a = slices.reduce((n, s, i) => n + (i === first ? 0 : aOf(s)), 0);
      after += bytes;
      aAfter += a;
      counted++;
      worst = Math.max(worst, bytes / a);
      byVolunteer.push({ job: spec.id, key: key.slice(0, 12), units: units.length, bytes_after_first: bytes, a_slice_bytes_after_first: a });
    }
  }
  return {
    jobs: jobs.map((j) => j.id),
    volunteers: counted,
    bytes_after_first: after,
    a_slice_bytes_after_first: aAfter,
    ratio: aAfter > 0 ? after / aAfter : 0,
    worst_volunteer_ratio: worst,
    by_volunteer: byVolunteer,
  };
}
