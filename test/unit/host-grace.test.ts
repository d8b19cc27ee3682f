import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/hex';
import { HostCore, UnitState } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import type { HostStore } from '../../src/host/store/store';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { referenceLeaves } from '../../src/host/recompute';
import { encodeMessage, type ChallengedUnit, type HostMessage, type VolunteerMessage, type WorkUnit } from '../../src/protocol';
import type { Identity } from '../../src/proof/identity';
import { seededRandom } from '../../src/work/seeded';
import { greetAs, newIdentity, overTheWire, resultOf } from '../helpers/signing';

/**
 * The host's lease policy for volunteers that go quiet for a while (issue 21): a lapsed unit is
 * reserved for its last holder for a grace period, a holder that said it was pausing keeps that
 * reservation even at a job's end, and a restarted host gives every restored lease one more
 * lease period.
 */
const LEASE = 60_000;
const job: JobSpec = { id: 'grace', kernel: 'sha256-batch', units: 3, messagesPerUnit: 37, messageLength: 64, seed: 21, samples: 8 };
let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

let now = 5_000_000;
function open(store: HostStore = new MemoryHostStore(), extra: { graceMs?: number; maxLeases?: number; log?: (l: string) => void } = {}) {
  return HostCore.open(store, [job], {
    hostId: 'h',
    hash,
    identity: hostKey,
    random: seededRandom(2),
    clock: () => now,
    leaseMs: LEASE,
    maxLeases: 1,
    ...extra,
  });
}

/** a, b and c lease the job's three units; after half a lease b and c renew theirs, a does as `aSays` says (nothing: undefined). */
async function threeHolders(core: HostCore, aSays?: VolunteerMessage['type']) {
  for (const n of ['a', 'b', 'c', 'idle']) await greet(core, n);
  const [a, b, c] = [await lease(core, 'a'), await lease(core, 'b'), await lease(core, 'c')];
  if (aSays === 'heartbeat') expect((await say(core, 'a', beat(a, 12, true)))[0]).toMatchObject({ type: 'lease' });
  now += LEASE / 2;
  await say(core, 'b', beat(b, 1));
  await say(core, 'c', beat(c, 1));
  return { a, b, c };
}

const keys = new Map<string, Identity>();
async function greet(core: HostCore, name: string): Promise<void> {
  if (!keys.has(name)) keys.set(name, await newIdentity());
  expect((await greetAs(core, name, keys.get(name)!)).type).toBe('welcome');
}
async function say(core: HostCore, name: string, m: VolunteerMessage): Promise<HostMessage[]> {
  return (await core.handle(name, encodeMessage(m))).map(overTheWire);
}
async function ask(core: HostCore, name: string, holding: string[] = []): Promise<HostMessage> {
  return (await say(core, name, { type: 'request-unit', id: 1, holding }))[0]!;
}
async function lease(core: HostCore, name: string): Promise<WorkUnit> {
  const reply = await ask(core, name);
  if (reply.type !== 'unit') throw new Error(`expected a unit, got ${JSON.stringify(reply)}`);
  return reply.unit;
}
const beat = (unit: WorkUnit, done: number, pausing?: true): VolunteerMessage => ({
  type: 'heartbeat',
  unitId: unit.unitId,
  done,
  total: 37,
  ...(pausing ? { pausing } : {}),
});

describe('grace for a lapsed lease', () => {
  it('keeps a lapsed unit for its last holder for a lease period while others get other units, then lets anyone have it', async () => {
    const core = await open();
    expect(core.graceMs).toBe(LEASE);
    for (const n of ['a', 'b', 'c', 'd']) await greet(core, n);
    const a = await lease(core, 'a');
    now += LEASE + 1;
    expect(await core.expireLeases()).toBe(1);
    // b gets a fresh unit, not a's (a's stays reserved while there is other work).
    const b = await lease(core, 'b');
    expect(b.unitId).not.toBe(a.unitId);
    // c too; then nothing is left but a's, and d, idle at the job's end, is given it: a said nothing.
    expect((await lease(core, 'c')).unitId).not.toBe(a.unitId);
    expect((await lease(core, 'd')).unitId).toBe(a.unitId);
  });

  it('gives the unit back to its holder within the grace period, checkpoint progress and all', async () => {
    const core = await open();
    for (const n of ['a', 'b']) await greet(core, n);
    const a = await lease(core, 'a');
    now += LEASE + 1;
    await core.expireLeases();
    const b = await lease(core, 'b');
    expect(b.unitId).not.toBe(a.unitId);
    now += LEASE / 2; // within the grace period
    expect((await say(core, 'a', beat(a, 30)))[0]).toEqual({ type: 'lease', unitId: a.unitId, leaseMs: LEASE });
    expect(core.units(job.id).find((u) => u.unitId === a.unitId)).toMatchObject({ state: UnitState.Leased, progress: 30 });
  });

  it('lets a busy volunteer wait: only an idle one takes a silent holder’s unit at the job’s end', async () => {
    const core = await open(new MemoryHostStore(), { maxLeases: 2 });
    const { a, b } = await threeHolders(core);
    now += LEASE / 2 + 1;
    expect(await core.expireLeases()).toBe(1); // a's only
    // b holds a unit and could hold another: it is not idle, so a's stays reserved.
    expect(await ask(core, 'b', [b.unitId])).toMatchObject({ type: 'no-work' });
    expect((await lease(core, 'idle')).unitId).toBe(a.unitId);
  });

  it('keeps a pausing holder’s unit reserved through the grace period even at the job’s end, and gives it back on thaw', async () => {
    const core = await open();
    // a's page is being frozen: a pausing heartbeat renews the lease and marks the hold.
    const { a } = await threeHolders(core, 'heartbeat');
    // Frozen for 90 s with a 60 s lease: the lease lapses at 60 s.
    now += LEASE / 2 + 1;
    expect(await core.expireLeases()).toBe(1);
    // The job's end: an idle volunteer asks, but a's reservation holds.
    expect(await ask(core, 'idle')).toMatchObject({ type: 'no-work' });
    now += 29_000; // 90 s after the freeze
    // Thawed: the first heartbeat takes the unit back, with its progress.
    expect((await say(core, 'a', beat(a, 12)))[0]).toEqual({ type: 'lease', unitId: a.unitId, leaseMs: LEASE });
    const record = core.units(job.id).find((u) => u.unitId === a.unitId)!;
    expect(record).toMatchObject({ state: UnitState.Leased, holder: keys.get('a')!.id, progress: 12 });
    // And its result is judged without anyone recomputing it.
    const leaves = referenceLeaves(a as ChallengedUnit, hash);
    const root = toHex(buildMerkleTreeOfChunks(leaves, 32, hash).root);
    expect((await say(core, 'a', await resultOf(keys.get('a')!, a, root)))[0]).toMatchObject({ type: 'challenge', unitId: a.unitId });
  });

  it('lets anyone have a pausing holder’s unit once the grace period is over', async () => {
    const core = await open();
    const { a } = await threeHolders(core, 'heartbeat');
    now += LEASE / 2 + 1;
    expect(await core.expireLeases()).toBe(1);
    expect(await ask(core, 'idle')).toMatchObject({ type: 'no-work' });
    now += LEASE; // the grace period is over
    expect((await lease(core, 'idle')).unitId).toBe(a.unitId);
    expect((await say(core, 'a', beat(a, 12)))[0]).toMatchObject({ type: 'lease-lost', unitId: a.unitId });
  });

  it('a heartbeat without pausing ends the pausing mark', async () => {
    const core = await open();
    const { a, b, c } = await threeHolders(core, 'heartbeat');
    await say(core, 'a', beat(a, 13)); // at half a lease: the page runs again, then goes quiet
    now += LEASE / 2;
    await say(core, 'b', beat(b, 2));
    await say(core, 'c', beat(c, 2));
    now += LEASE / 2 + 1;
    expect(await core.expireLeases()).toBe(1);
    // A silent lapse again: at the job's end the idle volunteer gets it.
    expect((await lease(core, 'idle')).unitId).toBe(a.unitId);
  });

  it('with graceMs 0 reserves nothing', async () => {
    const core = await open(new MemoryHostStore(), { graceMs: 0 });
    const one: string[] = [];
    for (const n of ['a', 'b']) await greet(core, n);
    const a = await lease(core, 'a');
    await say(core, 'a', beat(a, 5, true));
    now += LEASE + 1;
    await core.expireLeases();
    // b is idle and asks: the lapsed unit is second in line behind a fresh one, either may come; what matters is nothing is held back.
    for (let i = 0; i < 2; i++) {
      const u = await lease(core, i === 0 ? 'b' : 'a');
      one.push(u.unitId);
    }
    expect(one).toHaveLength(2);
  });

  it('refuses a graceMs that is not a whole number of milliseconds', async () => {
    await expect(open(new MemoryHostStore(), { graceMs: -1 })).rejects.toThrow(/graceMs/);
  });
});

describe('a restarted host', () => {
  it('gives each restored lease one more lease period, so a volunteer back within it keeps its unit (SQLite)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tabgrid-grace-')), 'host.sqlite');
    const first = await open(new SqliteHostStore(file));
    await greet(first, 'a');
    const a = await lease(first, 'a');
    const deadline = now + LEASE;
    first.close();
    // Down for 100 s: past the lease's deadline.
    now += 100_000;
    const lines: string[] = [];
    const store = new SqliteHostStore(file);
    const second = await open(store, { log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/restored 1 lease/);
    const loaded = (await store.load()).units.find((u) => u.unitId === a.unitId)!;
    expect(loaded.leaseDeadline).toBe(Math.max(deadline, now) + LEASE);
    now += LEASE - 1_000;
    expect(await second.expireLeases()).toBe(0);
    await greet(second, 'a');
    expect((await say(second, 'a', beat(a, 20)))[0]).toEqual({ type: 'lease', unitId: a.unitId, leaseMs: LEASE });
    second.close();
    await store.close();
  });

  it('starts a lapsed unit’s reservation again from the restart', async () => {
    const store = new MemoryHostStore();
    const first = await open(store);
    for (const n of ['a', 'b', 'c']) await greet(first, n);
    const a = await lease(first, 'a');
    now += LEASE + 1;
    await first.expireLeases();
    first.close();
    now += 3 * LEASE; // long past the grace period, but the host was down
    const second = await open(store);
    for (const n of ['b', 'c']) await greet(second, n);
    // Others get the other units first; a's is still kept for it.
    expect((await lease(second, 'b')).unitId).not.toBe(a.unitId);
    expect((await lease(second, 'c')).unitId).not.toBe(a.unitId);
    await greet(second, 'a');
    expect((await say(second, 'a', beat(a, 3)))[0]).toEqual({ type: 'lease', unitId: a.unitId, leaseMs: LEASE });
  });
});
