import type { HostCore } from '../host/host-core';
import type { UnitView } from '../host/host-views';
import { jobTrustPolicy, type JobSpec } from '../host/job';
import type { StoredTrust } from '../host/store/store';
import { TrustLedger, TrustLevel } from '../proof/trust';

/** Trust as the volunteers table shows it, for one job. */
export const TrustShown = { ...TrustLevel, AlwaysChecked: 'always checked' } as const;
export type TrustShown = (typeof TrustShown)[keyof typeof TrustShown];

export interface TrustSummary {
  readonly level: TrustShown;
  /** Valid results since the last invalid one. */
  readonly streak: number;
  /** Probability that the next result is verified, 0..1. */
  readonly checkRate: number;
  readonly banned: boolean;
}

export interface VolunteerRow {
  readonly id: string;
  readonly credit: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Units it holds a lease on right now. */
  readonly holding: number;
  readonly trust: TrustSummary;
}

/**
 * A key's trust in a job, by the job's policy (proof/trust.ts). A job without a trust policy
 * verifies every result and bans nobody, which the table says instead of a level.
 */
export function trustSummary(spec: JobSpec, record: StoredTrust | undefined): TrustSummary {
  const policy = jobTrustPolicy(spec);
  if (!policy) return { level: TrustShown.AlwaysChecked, streak: record?.streak ?? 0, checkRate: 1, banned: false };
  const key = record?.key ?? '';
  const entries = record ? [[key, { streak: record.streak, valid: record.valid, invalid: record.invalid, banned: record.banned }]] : [];
  const ledger = TrustLedger.restore(policy, { version: 1, entries });
  return { level: ledger.level(key), streak: record?.streak ?? 0, checkRate: ledger.checkProbability(key), banned: record?.banned ?? false };
}

export type VolunteerSource = Pick<HostCore, 'volunteers' | 'trustRecords' | 'units'>;

/**
 * One row per volunteer the host has judged, or that holds a lease in `spec`'s job, with its
 * trust in that job; most credit first. `units`: the job's units, when the caller has them.
 */
export function volunteerRows(core: VolunteerSource, spec: JobSpec, units: readonly UnitView[] = core.units(spec.id)): VolunteerRow[] {
  const trust = new Map(core.trustRecords(spec.id).map((t) => [t.key, t]));
  const holding = new Map<string, number>();
  for (const u of units) {
    if (u.holder && (u.state === 'leased' || u.state === 'verifying')) holding.set(u.holder, (holding.get(u.holder) ?? 0) + 1);
  }
  const known = new Map(core.volunteers().map((v) => [v.id, v]));
  for (const id of holding.keys()) if (!known.has(id)) known.set(id, { id, credit: 0, accepted: 0, rejected: 0 });
  return [...known.values()]
    .map((v) => ({
      id: v.id,
      credit: v.credit,
      accepted: v.accepted,
      rejected: v.rejected,
      holding: holding.get(v.id) ?? 0,
      trust: trustSummary(spec, trust.get(v.id)),
    }))
    .sort((a, b) => b.credit - a.credit || a.id.localeCompare(b.id));
}
