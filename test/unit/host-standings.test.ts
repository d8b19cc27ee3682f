import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { unitWork, type JobSpec } from '../../src/host/job';
import { PROFILE_CHANGE_MS } from '../../src/host/profiles';
import { ownStanding, teamStandings, volunteerStandings } from '../../src/host/standings';
import { buildMerkleTreeOfChunks, merklePath } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { referenceLeaves } from '../../src/host/recompute';
import { displayNameProblem, normalizeDisplayName, teamKeyOf, MAX_DISPLAY_NAME_CHARS } from '../../src/protocol/display-name';
import { addRecentCredit, racAt, RAC_HALF_LIFE_MS } from '../../src/proof/recent-credit';
import { encodeMessage, unitLeaves, type ChallengedUnit, type HostMessage, type VolunteerMessage, type WorkUnit } from '../../src/protocol';
import { parseVolunteerMessage } from '../../src/validate';
import { seededRandom } from '../../src/work/seeded';
import type { Identity } from '../../src/proof/identity';
import { greetAs, newIdentity, overTheWire, resultOf } from '../helpers/signing';

const job: JobSpec = { id: 'lb', kernel: 'sha256-batch', units: 6, messagesPerUnit: 8, messageLength: 64, seed: 3, samples: 4 };
const DAY = 86_400_000;
let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

let now = 5_000_000;
const newHost = (store = new MemoryHostStore()) =>
  HostCore.open(store, [job], { hostId: 'h', hash, identity: hostKey, random: seededRandom(2), clock: () => now, leaseMs: 60_000, maxLeases: 1 });

const keys = new Map<string, Identity>();
async function key(name: string): Promise<Identity> {
  if (!keys.has(name)) keys.set(name, await newIdentity());
  return keys.get(name)!;
}
async function say(core: HostCore, name: string, m: VolunteerMessage): Promise<HostMessage[]> {
  return (await core.handle(name, encodeMessage(m))).map(overTheWire);
}
async function earn(core: HostCore, name: string): Promise<number> {
  const [reply] = await say(core, name, { type: 'request-unit', id: 1, holding: [] });
  if (reply?.type !== 'unit') throw new Error(`expected a unit, got ${JSON.stringify(reply)}`);
  const unit: WorkUnit = reply.unit;
  const leaves = referenceLeaves(unit as ChallengedUnit, hash);
  const { bytes } = unitLeaves(unit as ChallengedUnit);
  const tree = buildMerkleTreeOfChunks(leaves, bytes, hash);
  const [challenge] = await say(core, name, await resultOf(await key(name), unit, toHex(tree.root)));
  if (challenge?.type !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(challenge)}`);
  const openings = challenge.indices.map((index) => ({
    index,
    leaf: toHex(leaves.subarray(index * bytes, (index + 1) * bytes)),
    path: merklePath(tree, index).map(toHex),
  }));
  const [verdict] = await say(core, name, { type: 'openings', unitId: unit.unitId, openings });
  expect(verdict).toMatchObject({ type: 'verdict', verdict: 'accepted' });
  return unitWork(unit);
}

describe('display names', () => {
  it('takes plain names of 1..32 characters in any script and refuses control, invisible and over-long ones', () => {
    expect(displayNameProblem('Ada Lovelace')).toBeUndefined();
    expect(displayNameProblem('Équipe 北京 🚀')).toBeUndefined();
    expect(displayNameProblem('x'.repeat(MAX_DISPLAY_NAME_CHARS))).toBeUndefined();
    expect(displayNameProblem('x'.repeat(MAX_DISPLAY_NAME_CHARS + 1))).toMatch(/at most 32/);
    expect(displayNameProblem('')).toMatch(/empty/);
    expect(displayNameProblem('evil\u202Eexe.txt')).toMatch(/invisible/);
    expect(displayNameProblem('a\u200Bb')).toMatch(/invisible/);
    expect(displayNameProblem('two\nlines')).toMatch(/invisible/);
    expect(displayNameProblem(' padded')).toMatch(/trimmed/);
    expect(displayNameProblem('e\u0301')).toMatch(/NFC/);
    expect(normalizeDisplayName('  Ada \t Lovelace ')).toBe('Ada Lovelace');
    expect(teamKeyOf('Lab A')).toBe(teamKeyOf('lab a'));
    expect(teamKeyOf('Ｌａｂ Ａ')).toBe(teamKeyOf('LAB A'));
    // The longest key a team name can have fits the observer snapshot's bound.
    const longest = '\uFDFA'.repeat(MAX_DISPLAY_NAME_CHARS);
    expect(displayNameProblem(longest)).toBeUndefined();
    expect(teamKeyOf(longest).length).toBeLessThanOrEqual(2048);
  });

  it('are checked on the wire: a profile with a bad name is refused, naming the field', () => {
    expect(() => parseVolunteerMessage(JSON.stringify({ type: 'profile', id: 1, name: 'a\u202Eb' }))).toThrow(/profile\.name/);
    expect(() => parseVolunteerMessage(JSON.stringify({ type: 'profile', id: 1, team: 'y'.repeat(300) }))).toThrow(/profile\.team/);
    expect(() => parseVolunteerMessage(JSON.stringify({ type: 'profile', id: 1, name: 'ok', extra: 1 }))).toThrow(/extra/);
    expect(parseVolunteerMessage(JSON.stringify({ type: 'profile', id: 1 }))).toEqual({ type: 'profile', id: 1 });
  });
});

describe('recent average credit', () => {
  it('is BOINC’s: a first grant enters at ln2·credit·day/half-life, and the average halves each week without credit', () => {
    const first = addRecentCredit({ rac: 0, at: 0 }, 700, 10 * DAY);
    expect(first.rac).toBeCloseTo((Math.LN2 * 700 * DAY) / RAC_HALF_LIFE_MS, 9);
    expect(racAt(first, 10 * DAY + RAC_HALF_LIFE_MS)).toBeCloseTo(first.rac / 2, 9);
    expect(racAt(first, 10 * DAY + 2 * RAC_HALF_LIFE_MS)).toBeCloseTo(first.rac / 4, 9);
  });

  it('converges to the credit per day of a steady donor', () => {
    let r = { rac: 0, at: 0 };
    for (let day = 1; day <= 200; day++) r = addRecentCredit(r, 1000, day * DAY);
    expect(r.rac).toBeCloseTo(1000, 0);
  });
});

describe('standings', () => {
  it('ranks by credit with ties sharing a rank, leaves no-credit donors unranked, and counts team members', () => {
    const vs = [
      { id: 'a', credit: 10, accepted: 1, rejected: 0, team: 'T' },
      { id: 'b', credit: 30, accepted: 3, rejected: 0, team: 't' },
      { id: 'c', credit: 10, accepted: 1, rejected: 0 },
      { id: 'd', credit: 0, accepted: 0, rejected: 2 },
    ];
    expect(volunteerStandings(vs, 0).map((v) => [v.id, v.rank])).toEqual([
      ['b', 1],
      ['a', 2],
      ['c', 2],
      ['d', undefined],
    ]);
    const teams = [{ key: 't', name: 'T', credit: 40, accepted: 4, rac: 0, racAt: 0, lastSeen: 0 }];
    expect(teamStandings(teams, vs, 0)).toEqual([{ key: 't', name: 'T', credit: 40, accepted: 4, rac: 0, lastSeen: 0, members: 2, rank: 1 }]);
    expect(ownStanding('c', { volunteers: volunteerStandings(vs, 0), teams: teamStandings(teams, vs, 0) })).toEqual({
      credit: 10,
      accepted: 1,
      rac: 0,
      rank: 2,
      ranked: 3,
    });
  });
});

describe('HostCore profiles and standings', () => {
  it('keeps names and teams per key, totals per key and team match the receipts, and each key hears its own rank', async () => {
    const store = new MemoryHostStore();
    const core = await newHost(store);
    for (const n of ['ada', 'bob', 'cy']) expect(await greetAs(core, n, await key(n))).toMatchObject({ type: 'welcome' });
    expect((await say(core, 'ada', { type: 'profile', id: 2, name: 'Ada', team: 'Lab A' }))[0]).toMatchObject({
      type: 'standing',
      id: 2,
      credit: 0,
      ranked: 0,
      name: 'Ada',
      team: 'Lab A',
      teamCredit: 0,
    });
    expect((await say(core, 'bob', { type: 'profile', id: 2, name: 'Bob', team: 'lab a' }))[0]).toMatchObject({ type: 'standing', team: 'lab a' });
    const ada = (await earn(core, 'ada')) + (await earn(core, 'ada'));
    now += DAY;
    const bob = await earn(core, 'bob');
    const cy = await earn(core, 'cy');

    const receipts = (await store.load()).receipts;
    const sum = (who: string) => receipts.filter((r) => r.volunteer === who).reduce((s, r) => s + r.credit, 0);
    const board = core.leaderboard();
    // Bob and the nameless key tie for second: equal credit, equal rank (in id order).
    expect(board.volunteers[0]).toMatchObject({ name: 'Ada', credit: ada, accepted: 2, rank: 1 });
    expect(
      board.volunteers
        .slice(1)
        .map((v) => [v.name ?? '', v.credit, v.accepted, v.rank])
        .sort(),
    ).toEqual([
      ['', cy, 1, 2],
      ['Bob', bob, 1, 2],
    ]);
    for (const v of board.volunteers) expect(v.credit).toBe(sum(v.id));
    // One team, whatever the case its members spelt it in, with the credit both earned in it.
    expect(board.teams).toEqual([expect.objectContaining({ key: 'lab a', name: 'Lab A', credit: ada + bob, accepted: 3, members: 2, rank: 1, lastSeen: now })]);
    expect(board.volunteers[0]!.rac).toBeGreaterThan(0);
    expect(board.volunteers[0]!.lastSeen).toBe(now - DAY);

    const [own] = await say(core, 'bob', { type: 'standing', id: 9 });
    expect(own).toEqual({
      type: 'standing',
      id: 9,
      credit: bob,
      accepted: 1,
      rac: Math.round(board.volunteers.find((v) => v.name === 'Bob')!.rac),
      rank: 2,
      ranked: 3,
      name: 'Bob',
      team: 'lab a',
      teamCredit: ada + bob,
      teamRank: 1,
      teamsRanked: 1,
    });

    // Survives a restart, teams included.
    const again = await newHost(store);
    expect(again.leaderboard()).toEqual(core.leaderboard());
  });

  it('rate-limits changes per key (a resend of the same profile is no change), and a moved donor’s past credit stays with its old team', async () => {
    const core = await newHost();
    await greetAs(core, 'eve', await key('eve'));
    await say(core, 'eve', { type: 'profile', id: 1, name: 'Eve', team: 'Red' });
    const earned = await earn(core, 'eve');
    expect((await say(core, 'eve', { type: 'profile', id: 2, name: 'Eve', team: 'Red' }))[0]).toMatchObject({ type: 'standing', id: 2 });
    now += PROFILE_CHANGE_MS - 1;
    expect((await say(core, 'eve', { type: 'profile', id: 3, name: 'Mallory' }))[0]).toMatchObject({ type: 'error', code: 'busy', id: 3 });
    now += 1;
    expect((await say(core, 'eve', { type: 'profile', id: 4, team: 'Blue' }))[0]).toMatchObject({ type: 'standing', id: 4, team: 'Blue', teamCredit: 0 });
    expect(core.volunteer(keys.get('eve')!.id)).not.toHaveProperty('name');
    const board = core.leaderboard();
    expect(board.teams).toEqual([expect.objectContaining({ name: 'Red', credit: earned, members: 0 })]);
    now += PROFILE_CHANGE_MS;
    // An empty profile clears both.
    expect((await say(core, 'eve', { type: 'profile', id: 5 }))[0]).toEqual({
      type: 'standing',
      id: 5,
      credit: earned,
      accepted: 1,
      rac: expect.any(Number),
      rank: 1,
      ranked: 1,
    });
  });

  it('answers profile and standing only for a proved key', async () => {
    const core = await newHost();
    expect((await say(core, 'anon', { type: 'standing', id: 1 }))[0]).toMatchObject({ type: 'error', id: 1 });
  });
});
