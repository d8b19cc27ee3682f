import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/free-port';
import { startSignaling } from '../../scripts/stack';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import { PgHostStore } from '../../src/host/store/pg-store';
import { PgCluster, postgresBin } from '../../scripts/pg-cluster';
import { HandVolunteer } from '../helpers/honest-volunteer';
import { newIdentity } from '../helpers/signing';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgrid-host-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const job: JobSpec = { id: 'cli-done', kernel: 'sha256-batch', units: 2, messagesPerUnit: 64, messageLength: 64, seed: 3, samples: 4 };

describe('npm run host', () => {
  it('with --exit-when-done on a finished database prints the results and exits (issue 20, bug 3)', async () => {
    const db = join(dir, 'done.sqlite');
    const jobFile = join(dir, 'job.json');
    writeFileSync(jobFile, JSON.stringify(job));
    // Finish the job in the database, as a first run of the host would have.
    const store = new SqliteHostStore(db);
    const hash = await createCpuSha256();
    const core = await HostCore.open(store, [job], { hostId: 'h', hash, identity: await store.hostIdentity() });
    const v = await HandVolunteer.greet(core, 'v', await newIdentity(), hash);
    for (let i = 0; i < job.units; i++) expect((await v.submit(await v.lease())).type).toBe('verdict');
    expect(core.done).toBe(true);
    core.close();
    await store.close();

    const signaling = await startSignaling(await freePort());
    try {
      const args = ['tsx', 'scripts/host.ts', '--job', jobFile, '--db', db, '--signal', signaling.url, '--id', `cli-${process.pid}`, '--exit-when-done'];
      // Before the fix the host printed "2/2 units accepted so far" and waited for an acceptance that could not come.
      const { stdout } = await run('npx', args, { timeout: 30_000 });
      expect(stdout).toContain('2/2 units accepted so far');
      const results = JSON.parse(stdout.slice(stdout.indexOf('{\n'))) as { results: { unitId: string }[] };
      expect(results.results.map((r) => r.unitId).sort()).toEqual(['cli-done/0', 'cli-done/1']);
    } finally {
      await signaling.close();
    }
  }, 60_000);

  it.runIf(postgresBin() !== undefined)(
    'with --db postgres://… serves from PostgreSQL: the results of a finished database, read from it',
    async () => {
      const cluster = await PgCluster.start({ fsync: false });
      const signaling = await startSignaling(await freePort());
      try {
        const url = await cluster.createDatabase();
        const jobFile = join(dir, 'job-pg.json');
        writeFileSync(jobFile, JSON.stringify(job));
        const store = await PgHostStore.open(url);
        const hash = await createCpuSha256();
        const core = await HostCore.open(store, [job], { hostId: 'h', hash, identity: await store.hostIdentity() });
        const v = await HandVolunteer.greet(core, 'v', await newIdentity(), hash);
        for (let i = 0; i < job.units; i++) expect((await v.submit(await v.lease())).type).toBe('verdict');
        const key = core.publicKey;
        core.close();
        await store.close();
        const args = ['tsx', 'scripts/host.ts', '--job', jobFile, '--db', url, '--signal', signaling.url, '--id', `cli-pg-${process.pid}`, '--exit-when-done'];
        const { stdout } = await run('npx', args, { timeout: 30_000 });
        expect(stdout).toContain('2/2 units accepted so far');
        expect(stdout).toContain(`host key ${key}`);
        const results = JSON.parse(stdout.slice(stdout.indexOf('{\n'))) as { results: { unitId: string }[] };
        expect(results.results.map((r) => r.unitId)).toEqual(['cli-done/0', 'cli-done/1']);
      } finally {
        await signaling.close();
        await cluster.stop();
      }
    },
    60_000,
  );
});
