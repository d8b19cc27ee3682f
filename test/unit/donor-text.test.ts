import { describe, expect, it } from 'vitest';
import { ago } from '../../src/dashboard/leaderboard';
import { describeStanding, describeTeamStanding } from '../../src/ui/donor-view';

describe('what the widget and the leaderboard say of standings', () => {
  it('gives the total, units, rank and recent average with separators, and the team’s', () => {
    const s = { credit: 1_234_567, accepted: 1, rac: 8_811, rank: 2, ranked: 1_200, team: 'Lab A', teamCredit: 9_000_000, teamRank: 1, teamsRanked: 3 };
    expect(describeStanding(s)).toBe('1,234,567 points from 1 unit, rank 2 of 1,200; recent average 8,811 points/day');
    expect(describeTeamStanding(s)).toBe('Lab A: 9,000,000 points, rank 1 of 3');
    expect(describeStanding({ credit: 0, accepted: 0, rac: 0, ranked: 5 })).toBe('no points yet');
    expect(describeTeamStanding({ credit: 0, accepted: 0, rac: 0, ranked: 5 })).toBeUndefined();
    expect(describeTeamStanding({ credit: 0, accepted: 0, rac: 0, ranked: 5, team: 'New', teamCredit: 0, teamsRanked: 2 })).toBe('New: 0 points');
  });

  it('says when a donor was last seen in the largest whole unit', () => {
    expect(ago(undefined, 0)).toBe('—');
    expect(ago(1_000, 31_000)).toBe('30 s ago');
    expect(ago(0, 5 * 60_000)).toBe('5 min ago');
    expect(ago(0, 3 * 3_600_000)).toBe('3 h ago');
    expect(ago(0, 9 * 86_400_000)).toBe('9 d ago');
  });
});
