/**
 * Two HostCores on one PostgreSQL database, as two host processes would run (docs/MULTI-HOST.md),
 * driven by hand-made volunteers without a network: disjoint leases, a result judged by the
 * process that did not lease it once its own died, and a ban that holds everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { PgHostStore } from '../../src/host/store/pg-store';
import { PROCESS_TTL_MS } from '../../src/host/store/shared-store';
import { seededRandom } from '../../src/work/seeded';
import { PgCluster, postgresBin } from '../../scripts/pg-cluster';
import { HandVolunteer } from '../helpers/honest-volunteer';
import { newIdentity, sayTo } from '../helpers/signing';
import { until } from '../helpers/until';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';

const installed = postgresBin() !== undefined;
if (!installed) console.warn('\n*** SKIPPING the shared-host tests: PostgreSQL is not installed (apt-get install postgresql; .ci/run does). ***\n');

const job: JobSpec = { id: 'shared', kernel: 'sha256-batch', units: 6, messagesPerUnit: 8, messageLength: 32, seed: 2, samples: 4, trust: { banAfter: 1 } };

let cluster: PgCluster | undefined;
let hash: Hasher;
const open: { store: PgHostStore; core: HostCore }[] = [];
beforeAll(async () => {
  hash = await createCpuSha256();
  if (installed) cluster = await PgCluster.start({ fsync: false });
}, 60_000);
afterAll(async () => {
  for (const { store, core } of open) {
    core.close();
    await store.close();
  }
  await cluster?.stop();
});

/** A host process on `url`: its own store (connection pool, process id) and core. */
async function processOn(url: string, hostId: string, spec: JobSpec = job, clock?: () => number): Promise<{ store: PgHostStore; core: HostCore }> {
  const store = await PgHostStore.open(url);
  const core = await HostCore.open(store, [spec], {
    ...(clock ? { clock } : {}),
    hostId,
    hash,
    identity: await store.hostIdentity(),
    random: seededRandom(3),
    maxLeases: 1,
    leaseMs: 30_000,
  });
  open.push({ store, core });
  return { store, core };
}

/** The process stops beating (as after SIGKILL) and its silence is older than PROCESS_TTL_MS. */
async function dies(p: { store: PgHostStore; core: HostCore }): Promise<void> {
  p.core.close();
  const client = new pg.Client({ connectionString: p.store.url });
  await client.connect();
  try {
    await client.query(`UPDATE host_processes SET seen_at = now() - make_interval(secs => ${PROCESS_TTL_MS / 1000 + 1}) WHERE id = $1`, [p.store.processId]);
  } finally {
    await client.end();
  }
}

describe.runIf(installed)('host processes sharing one PostgreSQL database', () => {
  it('lease disjoint units, judge them and finish the job together, with one host key', async () => {
    const url = await cluster!.createDatabase();
    const a = await processOn(url, 'a');
    const b = await processOn(url, 'b');
    expect(b.core.publicKey).toBe(a.core.publicKey);
    const va = await HandVolunteer.greet(a.core, 'va', await newIdentity(), hash);
    const vb = await HandVolunteer.greet(b.core, 'vb', await newIdentity(), hash);
    // Each process claims a block of queued units when its volunteer asks; a unit is leased once, by one of them.
    const leased: string[] = [];
    for (let accepted = 0; accepted < job.units;) {
      let progressed = false;
      for (const v of [va, vb]) {
        const [reply] = await sayTo(v === va ? a.core : b.core, v.name, { type: 'request-unit', id: 1, holding: [] });
        if (reply?.type !== 'unit') continue;
        leased.push(reply.unit.unitId);
        expect(await v.submit(reply.unit)).toMatchObject({ type: 'verdict', verdict: 'accepted' });
        accepted++;
        progressed = true;
      }
      expect(progressed).toBe(true);
    }
    expect(new Set(leased).size).toBe(job.units);
    await a.core.expireLeases();
    expect(a.core.done).toBe(true);
    expect(a.core.progress()).toEqual({ total: 6, queued: 0, leased: 0, verifying: 0, accepted: 6 });
    const [noWork] = await sayTo(b.core, 'vb', { type: 'request-unit', id: 9, holding: [] });
    expect(noWork).toMatchObject({ type: 'no-work' });
    const snap = await a.store.load();
    expect(snap.units.every((u) => u.state === 'accepted')).toBe(true);
    expect(snap.receipts).toHaveLength(6);
    // Both did some: b's volunteer ran out of b's claims while a's block was being worked through.
    expect(snap.volunteers.map((v) => v.accepted).sort()).toEqual([2, 4]);
    expect(snap.volunteers.reduce((n, v) => n + v.credit, 0)).toBe(snap.receipts.reduce((n, r) => n + r.credit, 0));
  });

  it('judges a result for a unit another process leased, once that process died; busy while it lives', async () => {
    const url = await cluster!.createDatabase();
    const a = await processOn(url, 'a');
    const b = await processOn(url, 'b');
    const identity = await newIdentity();
    const atA = await HandVolunteer.greet(a.core, 'v', identity, hash);
    const unit = await atA.lease();
    // The volunteer moves to b while a still lives: b may not judge a's unit yet.
    const atB = await HandVolunteer.greet(b.core, 'v', identity, hash);
    expect(await atB.submit(unit)).toMatchObject({ type: 'error', code: 'busy', unitId: unit.unitId });
    const [heartbeat] = await sayTo(b.core, 'v', { type: 'heartbeat', unitId: unit.unitId, done: 1, total: job.messagesPerUnit });
    expect(heartbeat).toBeUndefined();
    await dies(a);
    expect(await atB.submit(unit)).toMatchObject({ type: 'verdict', verdict: 'accepted' });
    const snap = await b.store.load();
    expect(snap.units.find((u) => u.unitId === unit.unitId)).toMatchObject({ state: 'accepted', holder: identity.id });
    expect(snap.receipts.map((r) => [r.unitId, r.volunteer])).toEqual([[unit.unitId, identity.id]]);
  });

  it('bans everywhere a key one process banned', async () => {
    const url = await cluster!.createDatabase();
    const a = await processOn(url, 'a');
    const b = await processOn(url, 'b');
    const identity = await newIdentity();
    const atA = await HandVolunteer.greet(a.core, 'c', identity, hash);
    expect(await atA.submit(await atA.lease(), true)).toMatchObject({ type: 'verdict', verdict: 'rejected' });
    await HandVolunteer.greet(b.core, 'c', identity, hash);
    const [reply] = await sayTo(b.core, 'c', { type: 'request-unit', id: 1, holding: [] });
    expect(reply).toMatchObject({ type: 'error', code: 'banned' });
  });

  it('bans at once a key another process banned after this one had read its records (the ban’s notice)', async () => {
    const url = await cluster!.createDatabase();
    const a = await processOn(url, 'a');
    const b = await processOn(url, 'b');
    await until(() => a.store.listening && b.store.listening);
    const identity = await newIdentity();
    const atA = await HandVolunteer.greet(a.core, 'c', identity, hash);
    const atB = await HandVolunteer.greet(b.core, 'c', identity, hash);
    // b reads the key's records once, and would not read them again without a notice that they changed.
    await atB.lease();
    expect(await atA.submit(await atA.lease(), true)).toMatchObject({ type: 'verdict', verdict: 'rejected' });
    let reply: Awaited<ReturnType<typeof sayTo>>[number] | undefined;
    await until(
      async () => {
        [reply] = await sayTo(b.core, 'c', { type: 'request-unit', id: 2, holding: [] });
        return reply?.type === 'error';
      },
      5000,
      20,
    );
    expect(reply).toMatchObject({ type: 'error', code: 'banned' });
  });

  it('hands a replica’s verdict to its voter connected to another process, with a receipt under the shared key', async () => {
    const url = await cluster!.createDatabase();
    const replicated: JobSpec = { id: 'rep', kernel: 'sha256-batch', units: 1, messagesPerUnit: 8, messageLength: 32, seed: 4, replicate: true };
    const a = await processOn(url, 'a', replicated);
    const b = await processOn(url, 'b', replicated);
    await until(() => a.store.listening && b.store.listening);
    const first = await newIdentity();
    const atA = await HandVolunteer.greet(a.core, 'v1', first, hash);
    const unit = await atA.lease();
    expect(await atA.submit(unit)).toMatchObject({ type: 'verdict', verdict: 'pending' });
    // The first voter moves to b while a lives on; a second key's replica at a settles the unit.
    const movedOn = await HandVolunteer.greet(b.core, 'v1', first, hash);
    const second = await HandVolunteer.greet(a.core, 'v2', await newIdentity(), hash);
    expect((await second.lease()).unitId).toBe(unit.unitId);
    expect(await second.submit(unit)).toMatchObject({ type: 'verdict', verdict: 'accepted' });
    // At b, the first voter's next heartbeat carries the verdict a settled.
    let heard: Awaited<ReturnType<typeof sayTo>> = [];
    await until(
      async () => {
        heard = await sayTo(b.core, 'v1', { type: 'heartbeat', unitId: unit.unitId, done: 8, total: 8 });
        return heard.length > 0;
      },
      5000,
      20,
    );
    expect(movedOn.name).toBe('v1');
    const [verdict] = heard;
    expect(verdict).toMatchObject({ type: 'verdict', unitId: unit.unitId, verdict: 'accepted' });
    const receipt = verdict?.type === 'verdict' ? verdict.receipt : undefined;
    expect(receipt?.volunteer).toBe(first.id);
    expect(await verifyReceiptSignature(a.core.publicKey, receipt!, receipt!.signature!)).toBe(true);
  });

  it('leaves a dead process’s lapsed lease to its holder for one more lease period, then takes it back to the queue', async () => {
    const url = await cluster!.createDatabase();
    let now = Date.now();
    const clock = () => now;
    const a = await processOn(url, 'a', job, clock);
    const b = await processOn(url, 'b', job, clock);
    const mover = await newIdentity();
    const gone = await HandVolunteer.greet(a.core, 'gone', await newIdentity(), hash);
    const unit = await (await HandVolunteer.greet(a.core, 'mover', mover, hash)).lease();
    const abandoned = await gone.lease();
    await dies(a);
    // Both leases lapsed a moment ago: b leaves them (a holder notices a dead process only by its silence, then reconnects).
    now += 30_001;
    await b.core.expireLeases();
    const owners = async () => new Map((await b.store.load()).units.map((u) => [u.unitId, u.state]));
    expect((await owners()).get(abandoned.unitId)).toBe('leased');
    // The holder that comes back to b within that period has its result judged there.
    const atB = await HandVolunteer.greet(b.core, 'mover', mover, hash);
    expect(await atB.submit(unit)).toMatchObject({ type: 'verdict', verdict: 'accepted' });
    // A lease period later the other's holder has not come back: b takes its unit and its expiry requeues it.
    now += 30_000;
    await b.core.expireLeases();
    expect((await owners()).get(abandoned.unitId)).toBe('queued');
  });
});
