import { expect, test, type Page } from '@playwright/test';
import { startStack, type Stack } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { checkResults, freePort, openVolunteer, volunteerStatus } from './stack-fixture';

const job: JobSpec = { id: 'e2e-relay', kernel: 'sha256-batch', units: 60, messagesPerUnit: 8192, messageLength: 64, seed: 66, samples: 8 };

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack({
    signalPort: await freePort(),
    webPort: await freePort(),
    hostId: `e2e-relay-${process.pid}`,
    jobs: [job],
    maxDirect: 2,
    log: process.env.TABGRID_E2E_CONSOLE ? (l) => console.log(`[host] ${l}`) : undefined,
  });
});
test.afterAll(async () => {
  await stack?.close();
});

const relayInfo = (page: Page) =>
  page.evaluate(() => {
    const el = document.querySelector('tabgrid-volunteer') as TabgridVolunteer;
    return { relayed: el.relayed, children: el.relayChildren };
  });

test('a host capped at two connections serves six volunteers through relays', async ({ browser }) => {
  let mostDirect = 0;
  const watch = setInterval(() => (mostDirect = Math.max(mostDirect, stack.core.directConnections())), 50);
  try {
    // Two volunteers connect directly and prove themselves (an accepted result each).
    const direct = await Promise.all([browser.newPage(), browser.newPage()]);
    for (const page of direct) {
      await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);
      await page.getByRole('button', { name: 'Start' }).click();
    }
    for (const page of direct) await expect.poll(async () => (await volunteerStatus(page)).unitsDone, { timeout: 60_000 }).toBeGreaterThan(0);
    // They pause computing (and stay connected, relaying), so the newcomers have work to do.
    for (const page of direct) await page.getByRole('button', { name: 'Pause' }).click();

    // Four more arrive: the host is full, so they are sent to the two relays.
    const relayed = await Promise.all([0, 1, 2, 3].map(() => browser.newPage()));
    for (const page of relayed) {
      await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);
      await page.getByRole('button', { name: 'Start' }).click();
    }
    for (const page of relayed) {
      await expect
        .poll(
          async () => {
            const status = await page
              .locator('tabgrid-volunteer [data-field="status"]')
              .textContent()
              .catch(() => '?');
            if (process.env.TABGRID_E2E_CONSOLE)
              console.log(`[relayed page] ${status} ${JSON.stringify(await relayInfo(page))} host ${JSON.stringify(stack.core.progress())}`);
            return (await volunteerStatus(page)).unitsDone;
          },
          { timeout: 90_000 },
        )
        .toBeGreaterThan(0);
      expect((await relayInfo(page)).relayed).toBe(true);
    }
    const children = await Promise.all(direct.map(async (p) => (await relayInfo(p)).children));
    expect(children.reduce((a, b) => a + b, 0)).toBe(4);
    for (const page of direct) await page.getByRole('button', { name: 'Start' }).click();

    await expect.poll(() => stack.core.done, { timeout: 150_000 }).toBe(true);
    expect(mostDirect).toBeLessThanOrEqual(2);
    // Verification and credit stayed with the host: every relayed volunteer was credited itself.
    const statuses = await Promise.all([...direct, ...relayed].map(volunteerStatus));
    expect(statuses.reduce((n, s) => n + s.unitsDone, 0)).toBe(job.units);
    for (const s of statuses) expect(s.credit).toBe(s.unitsDone * 8192 * 2);
    await checkResults(stack.core);
  } finally {
    clearInterval(watch);
  }
});
