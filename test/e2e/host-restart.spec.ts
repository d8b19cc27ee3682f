import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import { startSignaling, startWeb, type Signaling } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import type { Receipt } from '../../src/protocol';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { expectedRoot, freePort, openVolunteer } from './stack-fixture';

const job: JobSpec = { id: 'e2e-restart', kernel: 'sha256-batch', units: 30, messagesPerUnit: 8192, messageLength: 64, seed: 5150, samples: 8 };
const hostId = `e2e-restart-${process.pid}`;
let signaling: Signaling;
let web: ViteDevServer;
const children: ChildProcess[] = [];

test.beforeAll(async () => {
  signaling = await startSignaling(await freePort());
  web = await startWeb(await freePort(), { signalUrl: signaling.url, hostId });
});
test.afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await web?.close();
  await signaling?.close();
});

/** Starts `npm run host` as its own process; resolves once it serves, with its output so far. */
function startHostProcess(args: string[]): { child: ChildProcess; output: string[]; ready: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/host.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const output: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        output.push(line);
        if (line.includes(' serves ')) resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => output.push(`[stderr] ${c.toString()}`));
    child.once('exit', (code) => reject(new Error(`host exited (${code}) before serving:\n${output.join('\n')}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, ready, exited };
}

const acceptedSoFar = (output: string[]) => output.filter((l) => l.startsWith('accepted ')).length;

test('a host killed mid-job and restarted on its SQLite file loses nothing and finishes with the same results', async ({ browser }) => {
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-restart-'));
  const jobFile = join(dir, 'job.json');
  const db = join(dir, 'host.sqlite');
  writeFileSync(jobFile, JSON.stringify(job));
  const args = ['--job', jobFile, '--db', db, '--signal', signaling.url, '--id', hostId, '--lease-ms', '5000', '--exit-when-done'];

  const first = startHostProcess(args);
  await first.ready;
  const pages = await Promise.all([browser.newPage(), browser.newPage()]);
  const webUrl = `http://localhost:${web.config.server.port}/`;
  for (const page of pages) {
    await openVolunteer(page, webUrl, signaling.url, hostId);
    await page.getByRole('button', { name: 'Start' }).click();
  }
  await expect.poll(() => acceptedSoFar(first.output), { timeout: 90_000 }).toBeGreaterThanOrEqual(6);
  first.child.kill('SIGKILL'); // no chance to flush or say goodbye
  await first.exited;
  const beforeKill = acceptedSoFar(first.output);

  const second = startHostProcess(args);
  await second.ready;
  // The restarted host already knows at least everything the first one announced.
  const resumed = second.output.find((l) => l.includes(' serves '))!;
  expect(Number(/: (\d+)\/30 units accepted/.exec(resumed)![1])).toBeGreaterThanOrEqual(beforeKill);
  const code = await Promise.race([second.exited, new Promise((r) => setTimeout(() => r('timeout'), 120_000))]);
  if (code !== 0) console.log(second.output.join('\n'));
  expect(code).toBe(0); // --exit-when-done: the job finished

  // Every receipt a volunteer holds is in the host's file, and every unit has exactly one.
  const store = new SqliteHostStore(db);
  const snapshot = await store.load();
  await store.close();
  expect(snapshot.units.filter((u) => u.state === 'accepted')).toHaveLength(job.units);
  expect(snapshot.receipts).toHaveLength(job.units);
  const held: Receipt[] = (
    await Promise.all(pages.map((p) => p.evaluate(() => [...(document.querySelector('tabgrid-volunteer') as TabgridVolunteer).receipts])))
  ).flat();
  const onFile = new Map(snapshot.receipts.map((r) => [r.receiptId, r]));
  for (const r of held) expect(onFile.get(r.receiptId)).toEqual(r);
  const credit = snapshot.volunteers.reduce((n, v) => n + v.credit, 0);
  expect(credit).toBe(snapshot.receipts.reduce((n, r) => n + r.credit, 0));
  // The results equal an undisturbed run's: each root is what the CPU reference computes.
  for (const u of snapshot.units) expect(u.root, u.unitId).toBe(await expectedRoot(job, u.index));
});
