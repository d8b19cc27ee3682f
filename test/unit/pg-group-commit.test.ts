/**
 * Group commit on the PostgreSQL store's shared mode (pg-group-commit.ts, docs/MULTI-HOST.md
 * "Group commit"), on a real cluster: batches handed over together go as one group in which a
 * fenced batch is rolled back alone (notices only for the others); groups of two processes that
 * deadlock run again; a read of a key waits for this process's commits to it still in flight;
 * a pipelined HostCore whose unit another process adopted while its commit waited answers that
 * message busy and the others as usual; and what several processes must agree on: a ban at one
 * gives back the key's units at the others, a duplicate's receipt is fenced with the acceptance
 * it quotes, units memory lost are taken back, a relay's children are forgotten with it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { buildMerkleTreeOfChunks, merklePath } from '../../src/hash/merkle';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import { HostState } from '../../src/host/host-state';
import { Sharing } from '../../src/host/sharing';
import { unitWork, type JobSpec } from '../../src/host/job';
import { PgHostStore } from '../../src/host/store/pg-store';
import type { CommitChain, StoreBatch, StoredTeam, StoredUnit } from '../../src/host/store/store';
import { isTabgridError } from '../../src/errors';
import { FencedCommit, PROCESS_TTL_MS, type BatchBase, type SharedNotice } from '../../src/host/store/shared-store';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { unitLeaves, type WorkUnit } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';
import { PgCluster, postgresBin } from '../../scripts/pg-cluster';
import { HandVolunteer } from '../helpers/honest-volunteer';
import { newIdentity, resultOf, sayTo } from '../helpers/signing';
import { job, unit, volunteer } from '../helpers/store-conformance';
import { until } from '../helpers/until';

const installed = postgresBin() !== undefined;
if (!installed) console.warn('\n*** SKIPPING the PostgreSQL group-commit tests: PostgreSQL is not installed (apt-get install postgresql; .ci/run does). ***\n');

let cluster: PgCluster | undefined;
let hash: Hasher;
const closing: (() => Promise<void>)[] = [];
beforeAll(async () => {
  hash = await createCpuSha256();
  if (installed) cluster = await PgCluster.start({ fsync: false });
}, 60_000);
afterAll(async () => {
  for (const close of closing.reverse()) await close();
  await cluster?.stop();
});

const empty: BatchBase = { volunteers: new Map(), teams: new Map(), trust: new Map() };

/** A psql-like session of its own (an operator, or a slow transaction holding a row lock). */
async function session(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  closing.push(() => client.end());
  return client;
}

/** Makes `store`'s process look dead (silent past PROCESS_TTL_MS), as a stalled process does to the others. */
async function silence(url: string, store: PgHostStore): Promise<void> {
  const c = await session(url);
  await c.query(`UPDATE host_processes SET seen_at = now() - make_interval(secs => ${PROCESS_TTL_MS / 1000 + 1}) WHERE id = $1`, [store.processId]);
}

/** Holds a row lock on unit `unitId` until the returned function is called: a commit writing it waits meanwhile. */
async function lockUnit(url: string, unitId: string): Promise<() => Promise<void>> {
  const c = await session(url);
  await c.query('BEGIN');
  await c.query('SELECT 1 FROM units WHERE unit_id = $1 FOR UPDATE', [unitId]);
  return async () => void (await c.query('COMMIT'));
}

/** Resolves once some session waits for a lock (the commit the test holds back is in flight). */
async function someoneWaits(url: string): Promise<void> {
  const c = await session(url);
  await until(async () => (await c.query<{ n: number }>('SELECT count(*)::integer AS n FROM pg_locks WHERE NOT granted')).rows[0]!.n > 0, 5000, 10);
}

/** Whether `p` has settled (checked after the pending callbacks ran). */
function tracked<T>(p: Promise<T>): { readonly settled: () => boolean; readonly promise: Promise<T> } {
  let done = false;
  const promise = p.finally(() => (done = true));
  promise.catch(() => undefined);
  return { settled: () => done, promise };
}

describe.runIf(installed)('PostgreSQL group commit (shared mode)', () => {
  it('commits the batches handed over together as one group, rolling back a fenced one alone and noticing only the others', async () => {
    const url = await cluster!.createDatabase();
    const a = await PgHostStore.open(url);
    const b = await PgHostStore.open(url);
    closing.push(
      () => a.close(),
      () => b.close(),
    );
    await a.commit({ jobs: [job('j', 1)], units: [0, 1, 2].map((i) => unit('j', i)) });
    await a.beat();
    await b.beat();
    const notices: SharedNotice[] = [];
    b.listen({ notice: (n) => notices.push(n), reset: () => undefined });
    await until(() => b.listening);
    const claimed = (await a.claim('j', 3)).units;
    expect(claimed.map((u) => u.unitId)).toEqual(['j/0', 'j/1', 'j/2']);
    // a stalls past the liveness timeout: b adopts j/1; a beats again, not knowing.
    await silence(url, a);
    expect((await b.adopt(['j/1'])).units.map((u) => u.unitId)).toEqual(['j/1']);
    await a.beat();
    const before = a.groupStats;
    const outcomes = await Promise.allSettled(
      claimed.map((u, i) =>
        a.commitShared({ units: [{ ...u, state: 'leased', holder: `k${i}`, leaseDeadline: 9 }], volunteers: [volunteer(`k${i}`, 10 + i)] }, empty, [
          { to: `k${i}`, message: { type: 'lease-lost', unitId: u.unitId, reason: 'test' } },
        ]),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const fenced = (outcomes[1] as PromiseRejectedResult).reason as unknown;
    expect(fenced).toBeInstanceOf(FencedCommit);
    expect((fenced as FencedCommit).unitIds).toEqual(['j/1']);
    // One round trip for the three.
    expect(a.groupStats).toEqual({ groups: before.groups + 1, batches: before.batches + 3 });
    const snap = await b.load();
    expect(snap.units.map((u) => [u.unitId, u.state, u.holder])).toEqual([
      ['j/0', 'leased', 'k0'],
      ['j/1', 'queued', null],
      ['j/2', 'leased', 'k2'],
    ]);
    expect(snap.volunteers.map((v) => [v.id, v.credit])).toEqual([
      ['k0', 10],
      ['k2', 12],
    ]);
    // The notices of one transaction arrive together, in order: the committed batches', and none of the fenced one's.
    await until(() => notices.filter((n) => n.kind === 'owed').length === 2);
    const named = notices.flatMap((n) => (n.kind === 'keys' ? n.keys : [`owed:${n.to}`]));
    expect(named.sort()).toEqual(['k0', 'k2', 'owed:k0', 'owed:k2']);
  });

  it('fails the whole group on an error that is not a fence, marks the chain, and refuses its later batches unapplied', async () => {
    const url = await cluster!.createDatabase();
    const a = await PgHostStore.open(url);
    closing.push(() => a.close());
    await a.commit({ jobs: [job('j', 1)], units: [0, 1, 2].map((i) => unit('j', i)) });
    await a.beat();
    const claimed = (await a.claim('j', 3)).units;
    const chain: CommitChain = {};
    // The middle batch breaks a constraint (a state no unit has): not a fence, so nothing of the group is kept.
    const outcomes = await Promise.allSettled(
      claimed.map((u, i) =>
        a.commitShared({ units: [{ ...u, state: (i === 1 ? 'lost' : 'leased') as 'leased', holder: 'k' }], volunteers: [volunteer('k', 1)] }, empty, [], chain),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const o of outcomes) expect(isTabgridError((o as PromiseRejectedResult).reason, 'storage')).toBe(true);
    expect(chain.failure).toBeDefined();
    await expect(a.commitShared({ volunteers: [volunteer('k', 1)] }, empty, [], chain)).rejects.toThrow(/not applied: an earlier commit it builds on failed/);
    const snap = await a.load();
    expect(snap.units.map((u) => u.state)).toEqual(['queued', 'queued', 'queued']);
    expect(snap.volunteers).toEqual([]);
  });

  it('runs a group again when it deadlocks with another process’s group, so neither chain fails (teams credited in crossing orders)', async () => {
    const url = await cluster!.createDatabase();
    const [a, b] = [await PgHostStore.open(url), await PgHostStore.open(url)];
    closing.push(
      () => a.close(),
      () => b.close(),
    );
    await Promise.all([a.beat(), b.beat()]);
    const team = (key: string): StoredTeam => ({ key, name: key, credit: 1, accepted: 1, rac: 0, racAt: 1, lastSeen: 1 });
    await a.commitShared({ teams: [team('t1'), team('t2')], volunteers: [volunteer('x', 1)] }, empty);
    // A slow transaction holds x: A's group locks t1, waits on x, then wants t2; B's group meanwhile locks t2, then wants t1.
    const slow = await session(url);
    await slow.query('BEGIN');
    await slow.query(`UPDATE volunteers SET credit = credit WHERE id = 'x'`);
    const [chainA, chainB]: CommitChain[] = [{}, {}];
    const batchesA: StoreBatch[] = [{ teams: [team('t1')] }, { volunteers: [volunteer('x', 1)] }, { teams: [team('t2')] }];
    const groupA = batchesA.map((batch) => a.commitShared(batch, empty, [], chainA));
    await someoneWaits(url);
    const groupB = [team('t2'), team('t1')].map((row) => b.commitShared({ teams: [row] }, empty, [], chainB));
    await until(async () => (await slow.query<{ n: number }>('SELECT count(*)::integer AS n FROM pg_locks WHERE NOT granted')).rows[0]!.n >= 2, 5000, 10);
    await slow.query('COMMIT');
    expect((await Promise.allSettled([...groupA, ...groupB])).map((o) => o.status)).toEqual(Array(5).fill('fulfilled'));
    expect([chainA.failure, chainB.failure]).toEqual([undefined, undefined]);
    // PostgreSQL chose a victim (after deadlock_timeout, 1 s) and it ran again.
    expect(a.retried + b.retried).toBeGreaterThanOrEqual(1);
    const teams = new Map((await a.load()).teams.map((t) => [t.key, t.credit]));
    expect([teams.get('t1'), teams.get('t2')]).toEqual([3, 3]);
  }, 20_000);

  it('forgets a relay’s children with the relay, and a child that left, among the connections it looked up units at dead processes for', async () => {
    const url = await cluster!.createDatabase();
    const a = await PgHostStore.open(url);
    closing.push(() => a.close());
    await a.beat();
    const noop = () => undefined;
    const sharing = new Sharing(a, new HostState(await a.loadShared()), 60_000, noop, noop, noop, noop);
    const ask = (name: string) => sharing.prepare(`key-of-${name}`, { type: 'request-unit', id: 1, holding: [] }, name);
    for (const name of ['r', 'r>c1', 'r>c2', 'r>c3', 'rr>c1', 's']) await ask(name);
    expect(sharing.arrivals).toBe(6);
    sharing.disconnected('r>c2'); // child-left
    expect(sharing.arrivals).toBe(5);
    sharing.disconnected('r'); // the relay closed: its children too, not rr's
    expect(sharing.arrivals).toBe(2);
    sharing.disconnected('rr');
    sharing.disconnected('s');
    expect(sharing.arrivals).toBe(0);
  });

  it('takes back the fenced batch’s units still its own, but not over a newer copy a message brought back meanwhile', async () => {
    const url = await cluster!.createDatabase();
    const [a, b] = [await PgHostStore.open(url), await PgHostStore.open(url)];
    closing.push(
      () => a.close(),
      () => b.close(),
    );
    await a.commit({ jobs: [job('j', 1)], units: [0, 1].map((i) => unit('j', i)) });
    await Promise.all([a.beat(), b.beat()]);
    const [u0, u1] = (await a.claim('j', 2)).units as [StoredUnit, StoredUnit];
    const state = new HostState(await a.loadShared());
    for (const u of [u0, u1]) state.putUnit(u);
    const noop = () => undefined;
    const sharing = new Sharing(a, state, 60_000, noop, noop, noop, noop);
    // b takes j/0 over while a stalls; a's batch writing both units is fenced.
    await silence(url, a);
    await b.adopt([u0.unitId]);
    await a.beat();
    // a's read of the units still its own is slow; meanwhile a message brings j/1 back and leases it (memory only here).
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    const adopt = a.adopt.bind(a);
    a.adopt = async (ids) => {
      const read = await adopt(ids);
      await gate;
      return read;
    };
    const fenced = sharing.commit({ units: [0, 1].map((i) => ({ ...[u0, u1][i]!, state: 'leased' as const, holder: 'k', leaseDeadline: 5 })) }, [], {});
    await until(() => state.unit(u1.unitId) === undefined);
    const newer: StoredUnit = { ...u1, state: 'leased', holder: 'k', leaseDeadline: 9 };
    state.putUnit(newer);
    letGo();
    await expect(fenced).rejects.toMatchObject({ code: 'busy' });
    expect(state.unit(u1.unitId)).toEqual(newer);
    expect(state.unit(u0.unitId)).toBeUndefined();
  });

  it('takes back at its next tick the units it owns in the database but lost from memory (a claim whose answer never came)', async () => {
    const url = await cluster!.createDatabase();
    const [a, b] = [await PgHostStore.open(url), await PgHostStore.open(url)];
    closing.push(
      () => a.close(),
      () => b.close(),
    );
    await a.commit({ jobs: [job('j', 1)], units: [0, 1, 2].map((i) => unit('j', i)) });
    await Promise.all([a.beat(), b.beat()]);
    const state = new HostState(await a.loadShared());
    const noop = () => undefined;
    const sharing = new Sharing(a, state, 60_000, noop, noop, noop, noop);
    // The claim's UPDATE committed, its answer was lost: the database says a owns j/0 and j/1, a's memory holds neither.
    const c = await session(url);
    await c.query(`UPDATE units SET owner = $1 WHERE unit_id IN ('j/0', 'j/1')`, [a.processId]);
    expect((await b.claim('j', 3)).units.map((u) => u.unitId)).toEqual(['j/2']); // nobody else may take them while a lives
    await sharing.tick(Date.now());
    expect([state.unit('j/0')?.state, state.unit('j/1')?.state]).toEqual(['queued', 'queued']);
    expect(await a.ownedUnitIds()).toEqual(expect.arrayContaining(['j/0', 'j/1']));
  });

  it('sets synchronous_commit on for its connections, whatever the database says (a reply waits for a durable COMMIT)', async () => {
    const url = await cluster!.createDatabase();
    const admin = await session(url);
    const db = (await admin.query<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d;
    await admin.query(`ALTER DATABASE "${db}" SET synchronous_commit = off`);
    expect((await (await session(url)).query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit).toBe('off');
    const a = await PgHostStore.open(url);
    closing.push(() => a.close());
    const pool = (a as unknown as { pool: pg.Pool }).pool;
    const shown = await Promise.all([0, 1, 2].map(() => pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')));
    expect(shown.map((r) => r.rows[0]!.synchronous_commit)).toEqual(['on', 'on', 'on']);
  });

  it('makes a read of a key wait for this process’s commits to it still in flight (else it reads the key as it was)', async () => {
    const url = await cluster!.createDatabase();
    const a = await PgHostStore.open(url);
    closing.push(() => a.close());
    await a.commit({ jobs: [job('j', 1)], units: [unit('j', 0)] });
    await a.beat();
    const [u0] = (await a.claim('j', 1)).units;
    await a.commitShared({ volunteers: [volunteer('k', 5)] }, empty);
    // A slow transaction holds j/0: the next group, which leases it and credits k 7 more, waits in the database.
    const release = await lockUnit(url, 'j/0');
    const commit = tracked(a.commitShared({ units: [{ ...u0!, state: 'leased', holder: 'k', leaseDeadline: 9 }], volunteers: [volunteer('k', 7)] }, empty));
    await someoneWaits(url);
    const read = tracked(a.refreshKey('k'));
    const claim = tracked(a.adopt(['j/0']));
    // A key no commit in flight changes is read at once.
    expect((await a.refreshKey('other')).volunteer).toBeUndefined();
    await new Promise((r) => setTimeout(r, 200));
    expect([commit.settled(), read.settled(), claim.settled()]).toEqual([false, false, false]);
    await release();
    await commit.promise;
    expect((await read.promise).volunteer?.credit).toBe(12);
    expect((await claim.promise).units[0]).toMatchObject({ unitId: 'j/0', state: 'leased', holder: 'k' });
  });

  it("shows a team's credit earned at every process, at each: the others' notices name the team, and a tick reads it again", async () => {
    const url = await cluster!.createDatabase();
    const spec: JobSpec = { id: 'tm', kernel: 'sha256-batch', units: 12, messagesPerUnit: 8, messageLength: 32, seed: 9, samples: 2 };
    const processOn = async (hostId: string) => {
      const store = await PgHostStore.open(url);
      const core = await HostCore.open(store, [spec], { hostId, hash, identity: await store.hostIdentity(), random: seededRandom(3) });
      closing.push(async () => {
        core.close();
        await store.close();
      });
      await until(() => store.listening);
      return core;
    };
    const a = await processOn('a');
    const b = await processOn('b');
    const blue = async (core: HostCore, name: string) => {
      const v = await HandVolunteer.greet(core, name, await newIdentity(), hash);
      expect((await sayTo(core, name, { type: 'profile', id: 2, team: 'Blue' }))[0]).toMatchObject({ type: 'standing' });
      const unit = await v.lease();
      expect(await v.submit(unit)).toMatchObject({ type: 'verdict', verdict: 'accepted' });
      return unitWork(unit);
    };
    const credit = (await blue(a, 'v')) + (await blue(b, 'w')) + (await blue(b, 'x'));
    const blueAt = (core: HostCore) => core.leaderboard().teams.find((t) => t.name === 'Blue');
    // Each process's memory held only its own keys' part; the next tick reads the team as the database has it.
    await a.expireLeases();
    await b.expireLeases();
    await until(async () => {
      await a.expireLeases();
      return blueAt(a)?.credit === credit;
    });
    expect(blueAt(a)).toMatchObject({ credit, accepted: 3 });
    expect(blueAt(b)).toMatchObject({ credit, accepted: 3 });
  });

  it('gives back the units a key holds here once another process banned it: its result for one is refused, the unit requeued', async () => {
    const spec: JobSpec = { id: 'bn', kernel: 'sha256-batch', units: 4, messagesPerUnit: 8, messageLength: 32, seed: 6, samples: 2 };
    const { a, b, core } = await coreBesideAnother(spec, { maxLeases: 2 });
    const id = await newIdentity();
    const v = await HandVolunteer.greet(core, 'v', id, hash);
    const u0 = await v.lease();
    const [second] = await sayTo(core, 'v', { type: 'request-unit', id: 2, holding: [u0.unitId] });
    if (second?.type !== 'unit') throw new Error(`expected a second unit, got ${JSON.stringify(second)}`);
    const u1 = second.unit;
    // Another process bans the key from the job (its invalid results there); its notice names the key.
    await banElsewhere(a, b, spec.id, id.id);
    const [reply] = await sayTo(core, 'v', await resultFor(id, u0));
    expect(reply).toMatchObject({ type: 'error', code: 'banned', unitId: u0.unitId });
    // Both units it held here went back to the queue, in memory and in the database; nothing was accepted.
    const states = (units: readonly { unitId: string; state: string }[]) =>
      units.filter((u) => u.unitId === u0.unitId || u.unitId === u1.unitId).map((u) => u.state);
    expect(states(core.units(spec.id))).toEqual(['queued', 'queued']);
    const snap = await a.load();
    expect(states(snap.units)).toEqual(['queued', 'queued']);
    expect(snap.receipts).toEqual([]);
    expect((await sayTo(core, 'v', { type: 'heartbeat', unitId: u1.unitId, done: 1, total: 8 }))[0]).toMatchObject({ type: 'lease-lost' });

    // A second key, banned the same way, whose next word is a request (answered banned: the job is the host's only one).
    const id2 = await newIdentity();
    const w = await HandVolunteer.greet(core, 'w', id2, hash);
    const w0 = await w.lease();
    await banElsewhere(a, b, spec.id, id2.id);
    expect((await sayTo(core, 'w', { type: 'request-unit', id: 5, holding: [w0.unitId] }))[0]).toMatchObject({ type: 'error', code: 'banned' });
    await until(async () => (await a.load()).units.find((u) => u.unitId === w0.unitId)?.state === 'queued');
    expect(core.units(spec.id).find((u) => u.unitId === w0.unitId)?.state).toBe('queued');
  });

  it('refuses the openings of a key another process banned while it was challenged, and requeues the unit', async () => {
    const spec: JobSpec = { id: 'bo', kernel: 'sha256-batch', units: 2, messagesPerUnit: 8, messageLength: 32, seed: 8, samples: 2 };
    const { a, b, core } = await coreBesideAnother(spec, {});
    const id = await newIdentity();
    const v = await HandVolunteer.greet(core, 'v', id, hash);
    const u = await v.lease();
    const verdict = await v.submit(u, false, async () => {
      await banElsewhere(a, b, spec.id, id.id);
    });
    expect(verdict).toMatchObject({ type: 'error', code: 'banned', unitId: u.unitId });
    expect(core.units(spec.id).find((x) => x.unitId === u.unitId)?.state).toBe('queued');
    expect((await a.load()).receipts).toEqual([]);
  });

  it('sends no receipt for a result sent again while its acceptance is in flight and then fenced (another process took the unit)', async () => {
    const spec: JobSpec = { id: 'du', kernel: 'sha256-batch', units: 2, messagesPerUnit: 8, messageLength: 32, seed: 10, samples: 2 };
    const { url, a, b, core } = await coreBesideAnother(spec, {});
    const id = await newIdentity();
    const v = await HandVolunteer.greet(core, 'v', id, hash);
    const u = await v.lease();
    const result = await resultFor(id, u);
    const [challenge] = await sayTo(core, 'v', result);
    if (challenge?.type !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(challenge)}`);
    const openings = await openingsFor(u, challenge.indices);
    // a stalls; b takes the unit over; a beats again, not knowing.
    await silence(url, a);
    expect((await b.adopt([u.unitId])).units).toHaveLength(1);
    await a.beat();
    // The openings' acceptance waits in the database (a slow transaction holds the unit); the result sent again meanwhile is answered from memory.
    const release = await lockUnit(url, u.unitId);
    const accepted = tracked(sayTo(core, 'v', openings));
    await someoneWaits(url);
    const again = tracked(sayTo(core, 'v', result));
    await new Promise((r) => setTimeout(r, 100));
    await release();
    const [[first], [second]] = await Promise.all([accepted.promise, again.promise]);
    expect(first).toMatchObject({ type: 'error', code: 'busy', unitId: u.unitId });
    expect(second).toMatchObject({ type: 'error', code: 'busy' });
    expect((await a.load()).receipts).toEqual([]);
  });

  it('pipelines a HostCore: a message whose unit another process adopted while it waited is answered busy, the others as usual', async () => {
    const url = await cluster!.createDatabase();
    const spec: JobSpec = { id: 'gc', kernel: 'sha256-batch', units: 4, messagesPerUnit: 8, messageLength: 32, seed: 5, samples: 4 };
    const processOn = async (hostId: string) => {
      const store = await PgHostStore.open(url);
      const core = await HostCore.open(store, [spec], {
        hostId,
        hash,
        identity: await store.hostIdentity(),
        random: seededRandom(7),
        maxLeases: 1,
        leaseMs: 30_000,
      });
      closing.push(async () => {
        core.close();
        await store.close();
      });
      return { store, core };
    };
    const a = await processOn('a');
    const b = await processOn('b');
    expect(a.store.groupsCommits).toBe(true);
    const ids = await Promise.all([0, 1, 2].map(() => newIdentity()));
    const vs = await Promise.all(ids.map((id, i) => HandVolunteer.greet(a.core, `v${i}`, id, hash)));
    const units: WorkUnit[] = [];
    for (const v of vs) units.push(await v.lease());
    const [u0, u1, u2] = units as [WorkUnit, WorkUnit, WorkUnit];
    // a stalls: b adopts v0's unit (its volunteer would bring it there); a beats again, not knowing.
    await silence(url, a.store);
    expect((await b.store.adopt([u0.unitId])).units).toHaveLength(1);
    await a.store.beat();
    const before = a.store.groupStats;
    // v1's result is held in the database by a slow transaction on its unit; v0's and v2's are decided meanwhile and wait as one group.
    const release = await lockUnit(url, u1.unitId);
    const r1 = tracked(sayTo(a.core, 'v1', await resultFor(ids[1]!, u1)));
    await someoneWaits(url);
    const r0 = tracked(sayTo(a.core, 'v0', await resultFor(ids[0]!, u0)));
    const r2 = tracked(sayTo(a.core, 'v2', await resultFor(ids[2]!, u2)));
    await until(() => a.store.pendingCommits === 3);
    // Nothing is answered before its commit.
    await new Promise((r) => setTimeout(r, 100));
    expect([r0.settled(), r1.settled(), r2.settled()]).toEqual([false, false, false]);
    await release();
    const [[c0], [c1], [c2]] = await Promise.all([r0.promise, r1.promise, r2.promise]);
    expect(c0).toMatchObject({ type: 'error', code: 'busy', unitId: u0.unitId });
    expect(c1).toMatchObject({ type: 'challenge', unitId: u1.unitId });
    expect(c2).toMatchObject({ type: 'challenge', unitId: u2.unitId });
    expect(a.store.groupStats).toEqual({ groups: before.groups + 2, batches: before.batches + 3 });
    // a let go of the unit b holds; the others finish at a, and v0's result is judged by b.
    expect(a.core.units(spec.id).map((u) => u.unitId)).not.toContain(u0.unitId);
    await a.store.beat();
    for (const [i, u] of [
      [1, u1],
      [2, u2],
    ] as const)
      expect(await vs[i]!.submit(u)).toMatchObject({ type: 'verdict', verdict: 'accepted' });
    expect(await (await HandVolunteer.greet(b.core, 'v0', ids[0]!, hash)).submit(u0)).toMatchObject({ type: 'verdict', verdict: 'accepted' });
    // Nothing lost, nothing twice: one receipt a unit, each key's credit its receipts'.
    const snap = await a.store.load();
    const accepted = snap.units.filter((u) => u.state === 'accepted').map((u) => u.unitId);
    expect(accepted.sort()).toEqual(units.map((u) => u.unitId).sort());
    expect(snap.receipts.map((r) => r.unitId).sort()).toEqual(accepted.sort());
    for (const v of snap.volunteers) {
      expect(v.credit).toBe(snap.receipts.filter((r) => r.volunteer === v.id).reduce((n, r) => n + r.credit, 0));
      expect(v.accepted).toBe(1);
    }
  });
});

/**
 * A HostCore (`core`) on process a's store for `spec`, beside process b's store on the same database
 * (b's commits are another process's, noticed by a); a listens before this resolves.
 */
async function coreBesideAnother(spec: JobSpec, options: { maxLeases?: number } = {}) {
  const url = await cluster!.createDatabase();
  const a = await PgHostStore.open(url);
  const core = await HostCore.open(a, [spec], { hostId: 'a', hash, identity: await a.hostIdentity(), random: seededRandom(4), ...options });
  const b = await PgHostStore.open(url);
  closing.push(async () => {
    core.close();
    await a.close();
    await b.close();
  });
  await until(() => a.listening);
  return { url, a, b, core };
}

/** Process b bans `key` from job `jobId` (its invalid results there), and a hears b's notice of it. */
async function banElsewhere(a: PgHostStore, b: PgHostStore, jobId: string, key: string): Promise<void> {
  const heard = a.noticesHeard;
  await b.commitShared({ trust: [{ jobId, key, streak: 0, valid: 0, invalid: 3, banned: true }] }, empty);
  await until(() => a.noticesHeard > heard);
}

/** The honest openings of `unit` at `indices` (HandVolunteer.submit's second step, sent here on its own). */
async function openingsFor(unit: WorkUnit, indices: readonly number[]): Promise<Parameters<typeof sayTo>[2]> {
  if (unit.kernel !== 'sha256-batch') throw new Error('sha256-batch units only');
  const leaves = sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash);
  const { bytes } = unitLeaves(unit);
  const tree = buildMerkleTreeOfChunks(leaves, bytes, hash);
  const openings = indices.map((index) => ({
    index,
    leaf: toHex(leaves.subarray(index * bytes, (index + 1) * bytes)),
    path: merklePath(tree, index).map(toHex),
  }));
  return { type: 'openings', unitId: unit.unitId, openings };
}

/** The honest `result` message for `unit` (HandVolunteer.submit's first step, sent here on its own). */
async function resultFor(identity: Awaited<ReturnType<typeof newIdentity>>, unit: WorkUnit): Promise<Parameters<typeof sayTo>[2]> {
  if (unit.kernel !== 'sha256-batch') throw new Error('sha256-batch units only');
  const leaves = sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash);
  const tree = buildMerkleTreeOfChunks(leaves, unitLeaves(unit).bytes, hash);
  return resultOf(identity, unit, toHex(tree.root));
}
