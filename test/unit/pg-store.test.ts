/**
 * PgHostStore on a real PostgreSQL (a throwaway cluster, scripts/pg-cluster.ts): the store
 * conformance suite, then the shared port several host processes rely on (docs/MULTI-HOST.md).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { openHostStore } from '../../src/host/store/open-host-store';
import { PgHostStore } from '../../src/host/store/pg-store';
import { PG_SCHEMA_VERSION } from '../../src/host/store/pg-schema';
import { FencedCommit, PROCESS_TTL_MS, teamNoticeKey, type BatchBase } from '../../src/host/store/shared-store';
import type { HostStore } from '../../src/host/store/store';
import { PgCluster, postgresBin } from '../../scripts/pg-cluster';
import { describeHostStore, job, unit, volunteer } from '../helpers/store-conformance';
import { until } from '../helpers/until';

const installed = postgresBin() !== undefined;
if (!installed) {
  console.warn('\n*** SKIPPING the PostgreSQL store tests: PostgreSQL is not installed (apt-get install postgresql; .ci/run does). ***\n');
}

let cluster: PgCluster | undefined;
beforeAll(async () => {
  if (installed) cluster = await PgCluster.start({ fsync: false });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

/** Runs one statement on the database at `url`, as an operator's psql would. */
async function sql(url: string, text: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, params);
  } finally {
    await client.end();
  }
}

const fresh = async () => PgHostStore.open(await cluster!.createDatabase());
const empty: BatchBase = { volunteers: new Map(), teams: new Map(), trust: new Map() };

describe.runIf(installed)('PgHostStore', () => {
  describeHostStore('PgHostStore', fresh, async (store) => {
    await store.close();
    return PgHostStore.open((store as PgHostStore).url);
  });

  it('writes the current schema version, and refuses a database from a newer one', async () => {
    const url = await cluster!.createDatabase();
    await (await PgHostStore.open(url)).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      expect((await client.query('SELECT version FROM tabgrid_schema')).rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
      await client.query('UPDATE tabgrid_schema SET version = $1', [PG_SCHEMA_VERSION + 1]);
    } finally {
      await client.end();
    }
    const err = await PgHostStore.open(url).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTabgridError(err, 'storage'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`schema version ${PG_SCHEMA_VERSION + 1}, newer`));
  });

  it('names an unreachable server as a storage error, without the password', async () => {
    const err = await PgHostStore.open(`postgres://tabgrid:secret@127.0.0.1:${cluster!.port + 0}/no_such_db`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTabgridError(err, 'storage'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/no_such_db/);
    expect((err as Error).message).not.toMatch(/secret/);
  });

  it('opens through openHostStore; with `existing`, only a database a host has used', async () => {
    const url = await cluster!.createDatabase();
    const err = await openHostStore(url, { existing: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTabgridError(err, 'storage'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/no host database at .*no host has used it yet/);
    const made = await openHostStore(url);
    expect(made).toBeInstanceOf(PgHostStore);
    const key = (await made.hostIdentity()).publicKey;
    await made.close();
    const again = await openHostStore(url, { existing: true });
    expect((await again.hostIdentity()).publicKey).toBe(key);
    await again.close();
  });

  describe('shared by several processes', () => {
    /** Two "processes" (stores) on one new database with `units` queued units of job j. */
    async function two(units: number): Promise<[PgHostStore, PgHostStore, HostStore]> {
      const url = await cluster!.createDatabase();
      const a = await PgHostStore.open(url);
      const b = await PgHostStore.open(url);
      await a.commit({ jobs: [job('j', 1)], units: Array.from({ length: units }, (_, i) => unit('j', i)) });
      await a.beat();
      await b.beat();
      return [a, b, a];
    }

    it('claims with SKIP LOCKED: processes claiming at once never take one unit twice, and together take them all', async () => {
      const [a, b] = await two(40);
      try {
        const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).claim('j', 4)));
        const taken = claims.flatMap((c) => c.units.map((u) => u.unitId));
        expect(new Set(taken).size).toBe(taken.length);
        expect(taken.length).toBe(40);
        // Nothing left: a live owner's units are not free.
        expect((await a.claim('j', 4)).units).toEqual([]);
        expect((await b.claim('j', 4)).units).toEqual([]);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('fences commits: a unit another live process owns is not written, nor anything else of the batch', async () => {
      const [a, b] = await two(2);
      try {
        const [u0] = (await a.claim('j', 1)).units;
        expect(u0!.unitId).toBe('j/0');
        // b may not adopt what live a owns.
        expect((await b.adopt(['j/0'])).units).toEqual([]);
        const leased = { ...u0!, state: 'leased' as const, holder: 'v', leaseDeadline: 9 };
        const err = await b.commitShared({ units: [leased], volunteers: [volunteer('v', 5)] }, empty).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(FencedCommit);
        let snap = await a.load();
        expect(snap.units[0]).toEqual(unit('j', 0));
        expect(snap.volunteers).toEqual([]);
        await a.commitShared({ units: [leased], volunteers: [volunteer('v', 5)] }, empty);
        snap = await a.load();
        expect(snap.units[0]).toEqual(leased);
        expect(snap.volunteers).toEqual([volunteer('v', 5)]);
        // A job deleted under a process that still holds its units: its later writes do not bring them back.
        await b.commit({ deletedJobs: ['j'] });
        await expect(a.commitShared({ units: [{ ...leased, progress: 3 }] }, empty)).rejects.toBeInstanceOf(FencedCommit);
        expect((await a.load()).units).toEqual([]);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('frees a dead process’s units: adopted by unit, by holder, and once their lease ran out; queued ones claimed again', async () => {
      const [a, b] = await two(4);
      try {
        const { units } = await a.claim('j', 4);
        const lease = (i: number, holder: string, deadline: number) => ({ ...units[i]!, state: 'leased' as const, holder, leaseDeadline: deadline });
        await a.commitShared({ units: [lease(0, 'v', 1e15), lease(1, 'w', 1e15), lease(2, 'x', 5)] }, empty);
        // a dies without a word: its last beat is older than PROCESS_TTL_MS (set back rather than waited out).
        await sql(a.url, `UPDATE host_processes SET seen_at = now() - make_interval(secs => ${PROCESS_TTL_MS / 1000 + 1}) WHERE id = $1`, [a.processId]);
        await b.beat();
        expect((await b.adoptHeldBy('v')).units.map((u) => u.unitId)).toEqual(['j/0']);
        expect((await b.adopt(['j/1'])).units.map((u) => u.unitId)).toEqual(['j/1']);
        expect((await b.adoptLapsed(100, 10)).units.map((u) => u.unitId)).toEqual(['j/2']);
        expect((await b.claim('j', 10)).units.map((u) => u.unitId)).toEqual(['j/3']);
        // And a, back from the dead, is fenced off what b took.
        await expect(a.commitShared({ units: [{ ...units[3]!, state: 'leased', holder: 'z', leaseDeadline: 1 }] }, empty)).rejects.toBeInstanceOf(FencedCommit);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it("adds up a team's credit from keys judged by different processes, names the team in its notices, and reads it back", async () => {
      const [a, b] = await two(0);
      try {
        const heard: string[] = [];
        a.listen({ notice: (n) => n.kind === 'keys' && heard.push(...n.keys), reset: () => undefined });
        await until(() => a.listening);
        const team = (credit: number, accepted: number) => ({ key: 'blue', name: 'Blue', credit, accepted, rac: 0, racAt: 0, lastSeen: 1 });
        // Each process saw the team at 0 and adds its own key's credit.
        await a.commitShared({ volunteers: [volunteer('v', 3)], teams: [team(3, 1)] }, empty);
        await b.commitShared({ volunteers: [volunteer('w', 5)], teams: [team(5, 1)] }, empty);
        expect(await a.teamsNow(['blue', 'nobody'])).toEqual([team(8, 2)]);
        await until(() => heard.includes(teamNoticeKey('blue')));
        // a's own commits are not told back to it; b's named its key and its team.
        expect(heard.sort()).toEqual([teamNoticeKey('blue'), 'w'].sort());
        expect(await b.teamsNow([])).toEqual([]);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('adds up credit and trust from processes judging one key at once, and a ban by one holds for all', async () => {
      const [a, b] = await two(0);
      try {
        const base = (credit: number): BatchBase => ({
          volunteers: new Map([['v', volunteer('v', credit)]]),
          teams: new Map(),
          trust: new Map([[JSON.stringify(['j', 'v']), { jobId: 'j', key: 'v', streak: 0, valid: 0, invalid: 0, banned: false }]]),
        });
        await a.commitShared({ volunteers: [volunteer('v', 10)] }, empty);
        // Both read credit 10, each adds its own.
        await Promise.all([
          a.commitShared(
            { volunteers: [{ ...volunteer('v', 13), accepted: 1 }], trust: [{ jobId: 'j', key: 'v', streak: 1, valid: 1, invalid: 0, banned: false }] },
            base(10),
          ),
          b.commitShared(
            { volunteers: [{ ...volunteer('v', 17), accepted: 1 }], trust: [{ jobId: 'j', key: 'v', streak: 0, valid: 0, invalid: 1, banned: true }] },
            base(10),
          ),
        ]);
        const seen = await a.refreshKey('v');
        expect(seen.volunteer).toEqual({ ...volunteer('v', 20), accepted: 2 });
        expect(seen.trust).toHaveLength(1);
        expect(seen.trust[0]).toMatchObject({ valid: 1, invalid: 1, banned: true });
        // A later verdict by a, which had not seen the ban, does not lift it.
        await a.commitShared(
          { trust: [{ jobId: 'j', key: 'v', streak: 2, valid: 2, invalid: 0, banned: false }] },
          { ...base(0), trust: new Map([[JSON.stringify(['j', 'v']), { jobId: 'j', key: 'v', streak: 1, valid: 1, invalid: 0, banned: false }]]) },
        );
        expect((await b.refreshKey('v')).trust[0]).toMatchObject({ valid: 2, banned: true });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('counts units over the database, and a closed process frees its queued units at once', async () => {
      const [a, b] = await two(3);
      try {
        await a.claim('j', 3);
        expect(await b.counts()).toEqual({ total: 3, queued: 3, leased: 0, verifying: 0, accepted: 0 });
        expect(await b.remaining()).toBe(3);
        expect((await b.claim('j', 3)).units).toEqual([]);
        await a.close();
        expect((await b.claim('j', 3)).units.map((u) => u.unitId)).toEqual(['j/0', 'j/1', 'j/2']);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
