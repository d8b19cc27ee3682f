import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runJobCommand } from '../../scripts/job-command';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import { job, unit } from '../helpers/store-conformance';

/** The CLI's pause, resume, cancel and delete on a stopped host's SQLite store. */

const dir = mkdtempSync(join(tmpdir(), 'tabgrid-job-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function storeWith(): Promise<string> {
  const path = join(dir, `host-${n++}.sqlite`);
  const store = new SqliteHostStore(path);
  await store.commit({
    jobs: [job('running', 1), job('done', 2)],
    units: [unit('running', 0), unit('running', 1, { state: 'accepted', root: 'aa' }), unit('done', 0, { state: 'accepted', root: 'bb' })],
    outputs: [{ unitId: 'done/0', root: 'bb', data: Uint8Array.of(1, 2) }],
  });
  await store.close();
  return path;
}

async function run(action: 'pause' | 'resume' | 'cancel' | 'delete', jobId: string, db?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runJobCommand(
    { action, jobId, db },
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function loaded(path: string) {
  const store = new SqliteHostStore(path);
  try {
    return { snapshot: await store.load(), output: await store.output('done/0', 'bb') };
  } finally {
    await store.close();
  }
}

describe('npm run host -- --pause/--resume/--cancel/--delete', () => {
  it('pauses, resumes and cancels a job in the file; a cancelled job cannot be resumed', async () => {
    const db = await storeWith();
    expect(await run('pause', 'running', db)).toMatchObject({ code: 0, out: 'job running is paused' });
    expect((await loaded(db)).snapshot.jobs[0]!.status).toBe('paused');
    expect(await run('resume', 'running', db)).toMatchObject({ code: 0, out: 'job running is active' });
    expect(await run('cancel', 'running', db)).toMatchObject({ code: 0, out: 'job running is cancelled' });
    expect(await run('cancel', 'running', db)).toMatchObject({ code: 0, out: 'job running is cancelled (it already was)' });
    expect((await run('resume', 'running', db)).err).toMatch(/cancelled; it cannot be resumed/);
    expect((await loaded(db)).snapshot.jobs[0]!.status).toBe('cancelled');
  });

  it('deletes a finished job with its units and output; refuses an unfinished one, an unknown job, and no --db', async () => {
    const db = await storeWith();
    expect(await run('delete', 'running', db)).toMatchObject({ code: 1, err: expect.stringMatching(/not finished; cancel it before deleting it/) });
    expect(await run('delete', 'nope', db)).toMatchObject({ code: 1, err: expect.stringMatching(/has no job nope/) });
    expect(await run('delete', 'done')).toMatchObject({ code: 2, err: expect.stringMatching(/give --db/) });
    expect(await run('delete', 'done', db)).toMatchObject({ code: 0, out: expect.stringMatching(/^deleted job done: 1 units/) });
    const { snapshot, output } = await loaded(db);
    expect(snapshot.jobs.map((j) => j.id)).toEqual(['running']);
    expect(snapshot.units.map((u) => u.unitId)).toEqual(['running/0', 'running/1']);
    expect(output).toBeUndefined();
  });
});
