import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import { startSignaling, startWeb, type Signaling } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { launchBackgroundBrowser, type BackgroundBrowser } from '../../scripts/background-browser';
import { startHostProcess, type HostProcess } from './host-process';
import { freePort, openVolunteer } from './stack-fixture';

/**
 * Issue 21: a volunteer tab hidden behind another for six minutes, past the five-minute mark
 * after which Chrome wakes a hidden page's timers once a minute unless a data channel is open.
 * The host is killed (its channels die with it, so the exemption ends) and restarted a minute
 * later on its SQLite file: the page must be back within 5 s of the host's return, and lose no
 * lease it held. This spec runs in a Playwright project of its own, beside the rest of e2e
 * (playwright.config.ts), so its minutes overlap theirs.
 *
 * TABGRID_INTENSIVE_AFTER_S shortens Chrome's five minutes (for trying the spec quickly);
 * TABGRID_PAGE_TIMERS=1 runs the page's session on its main-thread timers instead of its
 * worker's, to measure what the worker clock buys (the spec then fails on the 5 s bound).
 */
const intensiveAfterS = process.env.TABGRID_INTENSIVE_AFTER_S ? Number(process.env.TABGRID_INTENSIVE_AFTER_S) : undefined;
const HIDDEN_BEFORE_KILL_MS = (intensiveAfterS ?? 300) * 1000 + 10_000;
const DOWN_MS = 60_000;
const RETURN_BOUND_MS = 5_000;
/**
 * Units of minutes (2^26 proof-of-work nonces on the CPU at a 20 % throttle: about 8 minutes
 * here), so the page is mid-unit when the host dies and still computing it when the host
 * returns: a volunteer that reconnected only between units would miss the 5 s bound by
 * minutes. Proof of work, not hashing: a unit's result is a few dozen shares, where a hashing
 * unit that long has a million leaves whose Merkle tree the page builds on its main thread for
 * seconds. Shorter with TABGRID_INTENSIVE_AFTER_S, to try the spec quickly.
 */
const job: JobSpec = {
  id: 'e2e-hidden',
  kernel: 'sha256d-pow',
  units: 4,
  seed: 2100,
  noncesPerUnit: intensiveAfterS === undefined ? 1 << 26 : 1 << 22,
  shareBits: intensiveAfterS === undefined ? 20 : 16,
  targetBits: intensiveAfterS === undefined ? 24 : 20,
};
const hostId = `e2e-hidden-${process.pid}`;

/** How long the unit computing when the host died may take to finish after its return. */
const FINISH_MS = 8 * 60_000;
test.describe.configure({ timeout: HIDDEN_BEFORE_KILL_MS + DOWN_MS + FINISH_MS + 60_000 });

let signaling: Signaling;
let web: ViteDevServer;
let bg: BackgroundBrowser;
const hosts: HostProcess[] = [];
test.beforeAll(async () => {
  signaling = await startSignaling(await freePort());
  web = await startWeb(await freePort(), { signalUrl: signaling.url, hostId });
  bg = await launchBackgroundBrowser({ intensiveAfterS });
});
test.afterAll(async () => {
  for (const h of hosts) await h.kill();
  await bg?.close();
  await web?.close();
  await signaling?.close();
});

test('a page hidden 6 minutes is back within 5 s of a killed host’s return and loses no lease', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-hidden-'));
  const jobFile = join(dir, 'job.json');
  const db = join(dir, 'host.sqlite');
  writeFileSync(jobFile, JSON.stringify(job));
  const args = ['--job', jobFile, '--db', db, '--signal', signaling.url, '--id', hostId, '--lease-ms', '60000'];
  const first = startHostProcess(args);
  hosts.push(first);
  await first.ready;

  const page = await bg.tab();
  await openVolunteer(page, `http://localhost:${web.config.server.port}/`, signaling.url, hostId, { backend: 'cpu', throttle: '20' });
  if (process.env.TABGRID_PAGE_TIMERS) {
    // The measurement without the worker clock: the session keeps time on the page's own timers.
    await page.evaluate(async () => {
      const load = (path: string) => import(/* @vite-ignore */ path);
      const [{ ComputeClient }, { mainTimers }] = await Promise.all([load('/src/worker/client.ts'), load('/src/timers.ts')]);
      ComputeClient.prototype.clock = () => mainTimers;
    });
  }
  await page.evaluate(() => {
    const w = window as unknown as { acceptedIds: string[] };
    w.acceptedIds = [];
    document.addEventListener('tabgrid-unit-accepted', (e) => w.acceptedIds.push((e as CustomEvent<{ unitId: string }>).detail.unitId));
  });
  await page.getByRole('button', { name: 'Start' }).click();
  // What the widget said, and when (printed at the end, to see how the page found its way back).
  await page.evaluate(() => {
    const w = window as unknown as { statusLog: string[] };
    w.statusLog = [];
    const field = document.querySelector('tabgrid-volunteer')!.shadowRoot!.querySelector('[data-field="status"]')!;
    new MutationObserver(() => w.statusLog.push(`${new Date().toISOString()} ${field.textContent}`)).observe(field, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  await expect.poll(() => page.evaluate(() => (document.querySelector('tabgrid-volunteer') as TabgridVolunteer).computing), { timeout: 60_000 }).toBe(true);

  await bg.cover();
  const hiddenAt = Date.now();
  expect(await page.evaluate(() => document.visibilityState)).toBe('hidden');
  await new Promise((r) => setTimeout(r, HIDDEN_BEFORE_KILL_MS));
  const acceptedHidden = first.lines.filter((l) => l.text.startsWith('accepted ')).length;

  // Killed outright: its data channels die with it, and the page's exemption from throttling with them.
  await first.kill();
  const killedAt = Date.now();
  const store = new SqliteHostStore(db);
  const held = (await store.load()).units.filter((u) => u.state === 'leased' || u.state === 'verifying');
  await store.close();
  expect(held.length).toBeGreaterThan(0);
  // The unit it was computing is the first it leased (the host leases in index order, the page computes in lease order); another it held waits its turn (prefetched).
  const computingAtKill = [...held]
    .sort((a, b) => a.index - b.index)
    .slice(0, 1)
    .map((u) => u.unitId);

  await new Promise((r) => setTimeout(r, DOWN_MS - (Date.now() - killedAt)));
  const second = startHostProcess(args);
  hosts.push(second);
  await second.ready;
  const back = second.lines.find((l) => l.text.includes(' serves '))!.at;
  await expect.poll(() => second.lines.some((l) => l.at >= back && / connected$/.test(l.text)), { timeout: 90_000 }).toBe(true);
  const reconnectMs = second.lines.find((l) => l.at >= back && / connected$/.test(l.text))!.at - back;
  const statusLog = await page.evaluate(() => (window as unknown as { statusLog: string[] }).statusLog.slice(-12));
  console.log(`host killed ${new Date(killedAt).toISOString()}, back ${new Date(back).toISOString()}; the page said:\n  ${statusLog.join('\n  ')}`);
  const stillComputing = await page.evaluate(() => (document.querySelector('tabgrid-volunteer') as TabgridVolunteer).computing);
  console.log(`page back ${reconnectMs} ms after the host's return`);
  console.log(
    `still computing a unit it held at the kill: ${stillComputing} (${computingAtKill.join(', ')}); hidden ${Math.round((Date.now() - hiddenAt) / 1000)} s (${acceptedHidden} unit(s) accepted while hidden); host down ${Math.round((back - killedAt) / 1000)} s; ` +
      `page back ${reconnectMs} ms after the host's return (${process.env.TABGRID_PAGE_TIMERS ? 'page timers' : 'worker clock'})`,
  );
  expect(Date.now() - hiddenAt).toBeGreaterThan(HIDDEN_BEFORE_KILL_MS + 30_000);
  expect(reconnectMs).toBeLessThanOrEqual(RETURN_BOUND_MS);

  // The unit it was computing is accepted from it, and no lease lapsed on the way (the one it prefetched is still its own).
  const mine = new Set(held.map((u) => u.holder));
  expect(mine.size).toBe(1);
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { acceptedIds: string[] }).acceptedIds), { timeout: FINISH_MS, intervals: [1000] })
    .toEqual(expect.arrayContaining(computingAtKill));
  expect(second.lines.filter((l) => / lease\(s\) lapsed/.test(l.text))).toEqual([]);
  expect(await page.evaluate(() => document.visibilityState)).toBe('hidden');
});
