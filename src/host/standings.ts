/**
 * Donors' totals and ranks: what a key earned (credit, accepted units, recent average credit),
 * under the name and team it chose, and the same per team. Credit is the host's, earned only by
 * accepted results, each with a signed receipt (proof/credit.ts), so every total here is the sum
 * of receipts its donor can show. Ranks are by total credit, most first; equal credit shares a
 * rank (1 + how many earned strictly more); a donor or team with no credit has no rank.
 */
import { addRecentCredit, racAt } from '../proof/recent-credit';
import { teamKeyOf } from '../protocol/display-name';
import type { StoredTeam, StoredVolunteer } from './store/store';

/** One row of the volunteers' leaderboard. */
export interface VolunteerStanding {
  readonly id: string;
  readonly name?: string;
  readonly team?: string;
  readonly credit: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Recent average credit decayed to now (credit/day). */
  readonly rac: number;
  readonly lastSeen?: number;
  /** Absent while the donor has no credit. */
  readonly rank?: number;
}

/** One row of the teams' leaderboard. */
export interface TeamStanding {
  readonly key: string;
  readonly name: string;
  readonly credit: number;
  readonly accepted: number;
  readonly rac: number;
  readonly lastSeen: number;
  /** Donors whose profile names the team now. */
  readonly members: number;
  readonly rank?: number;
}

/** `who` after `credit` more for one accepted unit at `now`. */
export function creditedVolunteer(who: StoredVolunteer, credit: number, now: number): StoredVolunteer {
  const recent = addRecentCredit({ rac: who.rac ?? 0, at: who.racAt ?? 0 }, credit, now);
  return { ...who, credit: who.credit + credit, accepted: who.accepted + 1, rac: recent.rac, racAt: recent.at, lastSeen: now };
}

/** The team `who` is in now after it earned `credit` at `now` (undefined for a donor in no team). */
export function creditedTeam(who: StoredVolunteer, team: StoredTeam | undefined, credit: number, now: number): StoredTeam | undefined {
  if (who.team === undefined) return undefined;
  const t = team ?? { key: teamKeyOf(who.team), name: who.team, credit: 0, accepted: 0, rac: 0, racAt: 0, lastSeen: now };
  const recent = addRecentCredit({ rac: t.rac, at: t.racAt }, credit, now);
  return { ...t, credit: t.credit + credit, accepted: t.accepted + 1, rac: recent.rac, racAt: recent.at, lastSeen: now };
}

/** Ranks by credit, most first, ties sharing a rank; rows with no credit get none. Sorted by credit, then id. */
function ranked<T extends { readonly credit: number }>(rows: T[], id: (t: T) => string): (T & { rank?: number })[] {
  rows.sort((a, b) => b.credit - a.credit || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
  let rank = 0;
  return rows.map((r, i) => {
    if (i === 0 || r.credit !== rows[i - 1]!.credit) rank = i + 1;
    return r.credit > 0 ? { ...r, rank } : r;
  });
}

export function volunteerStandings(volunteers: readonly StoredVolunteer[], now: number): VolunteerStanding[] {
  return ranked(
    volunteers.map((v): VolunteerStanding => ({
      id: v.id,
      ...(v.name === undefined ? {} : { name: v.name }),
      ...(v.team === undefined ? {} : { team: v.team }),
      credit: v.credit,
      accepted: v.accepted,
      rejected: v.rejected,
      rac: racAt({ rac: v.rac ?? 0, at: v.racAt ?? 0 }, now),
      ...(v.lastSeen === undefined ? {} : { lastSeen: v.lastSeen }),
    })),
    (v) => v.id,
  );
}

export function teamStandings(teams: readonly StoredTeam[], volunteers: readonly StoredVolunteer[], now: number): TeamStanding[] {
  const members = new Map<string, number>();
  for (const v of volunteers) if (v.team !== undefined) members.set(teamKeyOf(v.team), (members.get(teamKeyOf(v.team)) ?? 0) + 1);
  return ranked(
    teams.map((t): TeamStanding => ({
      key: t.key,
      name: t.name,
      credit: t.credit,
      accepted: t.accepted,
      rac: racAt({ rac: t.rac, at: t.racAt }, now),
      lastSeen: t.lastSeen,
      members: members.get(t.key) ?? 0,
    })),
    (t) => t.key,
  );
}

/** What the host tells one donor of itself (the `standing` message). */
export interface OwnStanding {
  readonly credit: number;
  readonly accepted: number;
  readonly rac: number;
  readonly rank?: number;
  /** Donors with credit. */
  readonly ranked: number;
  readonly name?: string;
  readonly team?: string;
  readonly teamCredit?: number;
  readonly teamRank?: number;
  /** Teams with credit. */
  readonly teamsRanked?: number;
}

/**
 * `who`'s standing, read off boards already ranked (volunteerStandings, teamStandings), with
 * `profile` (its record as just changed, when it was) for its name and team: a profile change
 * moves no credit, so the ranks stand.
 */
export function ownStanding(
  who: string,
  boards: { readonly volunteers: readonly VolunteerStanding[]; readonly teams: readonly TeamStanding[] },
  profile?: Pick<StoredVolunteer, 'name' | 'team'>,
): OwnStanding {
  const me = boards.volunteers.find((v) => v.id === who);
  const name = profile ? profile.name : me?.name;
  const team = profile ? profile.team : me?.team;
  const base: OwnStanding = {
    credit: me?.credit ?? 0,
    accepted: me?.accepted ?? 0,
    rac: me?.rac ?? 0,
    ranked: boards.volunteers.filter((v) => v.rank !== undefined).length,
    ...(me?.rank === undefined ? {} : { rank: me.rank }),
    ...(name === undefined ? {} : { name }),
  };
  if (team === undefined) return base;
  const key = teamKeyOf(team);
  const t = boards.teams.find((x) => x.key === key);
  return {
    ...base,
    team,
    teamCredit: t?.credit ?? 0,
    teamsRanked: boards.teams.filter((x) => x.rank !== undefined).length,
    ...(t?.rank === undefined ? {} : { teamRank: t.rank }),
  };
}
