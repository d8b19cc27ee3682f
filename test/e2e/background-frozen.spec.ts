import { expect, test, type Page } from '@playwright/test';
import { startStack, type Stack } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { launchBackgroundBrowser, type BackgroundBrowser } from '../../scripts/background-browser';
import { freePort, openVolunteer, volunteerStatus } from './stack-fixture';

/**
 * Issue 21: a tab frozen (Page Lifecycle, as Chrome freezes background tabs under Energy Saver
 * or memory pressure) for 90 s, past its 60 s lease, near the end of a job while another
 * volunteer waits idle for work. On thaw its unit is still its own and its result is accepted
 * from it (nobody recomputed it), it is back on the signaling server (the server dropped its
 * silent socket after a minute), and it relays for a newcomer again.
 */
const LEASE_MS = 60_000;
const FROZEN_MS = 90_000;
// Units of several seconds each (on the CPU, throttled), so the page is mid-unit when it freezes.
const job: JobSpec = { id: 'e2e-frozen', kernel: 'sha256-batch', units: 4, messagesPerUnit: 262_144, messageLength: 1024, seed: 2121, samples: 8 };
const after: JobSpec = { id: 'e2e-frozen-after', kernel: 'sha256-batch', units: 2, messagesPerUnit: 4096, messageLength: 64, seed: 2122, samples: 8 };
const PAGE = { backend: 'cpu', throttle: '25' };

test.describe.configure({ timeout: 6 * 60_000 });

let stack: Stack;
let bg: BackgroundBrowser;
const log: string[] = [];
test.beforeAll(async () => {
  stack = await startStack({
    signalPort: await freePort(),
    webPort: await freePort(),
    hostId: `e2e-frozen-${process.pid}`,
    jobs: [job],
    leaseMs: LEASE_MS,
    // The frozen page and the idle one; a third is sent to a relay.
    maxDirect: 2,
    log: (l) => {
      log.push(`${new Date().toISOString()} ${l}`);
      if (process.env.TABGRID_E2E_CONSOLE) console.log(`[host] ${l}`);
    },
  });
  bg = await launchBackgroundBrowser();
});
test.afterAll(async () => {
  await bg?.close();
  await stack?.close();
});

const el = (page: Page) =>
  page.evaluate(() => {
    const v = document.querySelector('tabgrid-volunteer') as TabgridVolunteer;
    return {
      signaling: v.signaling,
      computing: v.computing,
      relayChildren: v.relayChildren,
      relayed: v.relayed,
      receipts: v.receipts.map((r) => r.unitId),
      visibility: document.visibilityState,
    };
  });

test('a page frozen 90 s past its 60 s lease at the end of a job keeps its unit, rejoins signaling and relays again', async ({ browser }) => {
  const t0 = Date.now();
  const frozen = await bg.tab();
  await openVolunteer(frozen, stack.webUrl, stack.signalUrl, stack.hostId, PAGE);
  await frozen.getByRole('button', { name: 'Start' }).click();
  // It proves itself (an accepted result: it may relay) and leases the job's last units.
  await expect.poll(async () => (await volunteerStatus(frozen)).unitsDone, { timeout: 120_000 }).toBeGreaterThan(0);
  console.log(`first unit accepted after ${Date.now() - t0} ms`);
  await expect.poll(() => stack.core.progress().queued, { timeout: 60_000, intervals: [100] }).toBe(0);
  expect((await el(frozen)).signaling).toBe(true);

  // Hidden behind another tab, then frozen mid-unit: its worker stops too.
  await bg.cover();
  expect((await el(frozen)).visibility).toBe('hidden');
  await bg.freeze(frozen);
  const frozenAt = Date.now();
  const mine = stack.core.units(job.id).filter((u) => u.state === 'leased');
  expect(mine.length).toBeGreaterThan(0);
  const key = mine[0]!.holder!;

  // Another volunteer arrives and waits idle: nothing is left to lease. It does not relay, so the newcomer below goes through the frozen page.
  const idle = await browser.newPage();
  await openVolunteer(idle, stack.webUrl, stack.signalUrl, stack.hostId, PAGE);
  await idle.evaluate(() => document.querySelector('tabgrid-volunteer')!.setAttribute('no-relay', ''));
  await idle.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => stack.core.directConnections(), { timeout: 30_000 }).toBe(2);
  await new Promise((r) => setTimeout(r, FROZEN_MS - (Date.now() - frozenAt)));
  // The lease lapsed meanwhile (the test is about that), and nobody was given the unit.
  expect(log.some((l) => / lease\(s\) lapsed/.test(l))).toBe(true);
  for (const u of mine) expect(stack.core.units(job.id).find((x) => x.unitId === u.unitId)!.holder).toBe(key);
  await bg.thaw(frozen);
  // Whether the signaling server had dropped the silent page (it does after a minute), as the thawed page first sees it.
  console.log(`frozen for ${Date.now() - frozenAt} ms; on signaling right after thaw: ${(await el(frozen)).signaling}`);

  // On thaw: its first heartbeats take the units back, its results are accepted from it.
  await expect
    .poll(() => mine.every((u) => ['leased', 'verifying', 'accepted'].includes(stack.core.units(job.id).find((x) => x.unitId === u.unitId)!.state)), {
      timeout: 10_000,
    })
    .toBe(true);
  await expect.poll(() => stack.core.progress().accepted, { timeout: 120_000 }).toBe(job.units);
  for (const u of stack.core.units(job.id)) if (mine.some((m) => m.unitId === u.unitId)) expect(u.holder).toBe(key);
  expect((await volunteerStatus(idle)).unitsDone).toBe(0);
  // Back on the signaling server (it dropped the frozen page's silent socket).
  await expect.poll(async () => (await el(frozen)).signaling, { timeout: 15_000 }).toBe(true);

  // And it relays again: a newcomer finds the host full and computes through the thawed page.
  expect(await stack.core.addJob(after)).toBe(true);
  const newcomer = await browser.newPage();
  await openVolunteer(newcomer, stack.webUrl, stack.signalUrl, stack.hostId, PAGE);
  await newcomer.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => (await el(newcomer)).relayed, { timeout: 60_000 }).toBe(true);
  await expect.poll(async () => (await el(frozen)).relayChildren, { timeout: 10_000 }).toBe(1);
  await expect.poll(() => stack.core.progress().accepted, { timeout: 90_000 }).toBe(job.units + after.units);
});
