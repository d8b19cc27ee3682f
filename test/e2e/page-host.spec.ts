import { expect, test, type Page } from '@playwright/test';
import type { JobSpec } from '../../src/host/job';
import { expectedRoot, openVolunteer, useSignalingAndWeb, volunteerStatus } from './stack-fixture';

const job: JobSpec = { id: 'e2e-page-host', kernel: 'sha256-batch', units: 16, messagesPerUnit: 8192, messageLength: 64, seed: 31, samples: 8 };
const hostId = `e2e-page-host-${process.pid}`;
const env = useSignalingAndWeb(hostId);

async function hostProgress(page: Page) {
  return page.evaluate(() => {
    if (window.pageHostError) throw new Error(window.pageHostError);
    return window.pageHost ? window.pageHost.core.progress() : null;
  });
}

test('a host running in a page keeps its job in IndexedDB across a reload, and finishes it', async ({ browser }) => {
  const base = env.base;
  const hostPage = await browser.newPage();
  const hostUrl = `${base}/test/e2e/pages/page-host.html?signal=${encodeURIComponent(env.signaling.url)}&host=${hostId}&leaseMs=4000&job=${encodeURIComponent(JSON.stringify(job))}`;
  await hostPage.goto(hostUrl);
  await expect.poll(() => hostProgress(hostPage), { timeout: 30_000 }).toMatchObject({ total: 16, queued: 16 });

  const volunteer = await browser.newPage();
  await openVolunteer(volunteer, `${base}/`, env.signaling.url, hostId);
  await volunteer.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => (await hostProgress(hostPage))?.accepted ?? 0, { timeout: 60_000 }).toBeGreaterThanOrEqual(4);

  // Reload the host tab: its state comes back from IndexedDB, the volunteer reconnects.
  const before = (await hostProgress(hostPage))!.accepted;
  await hostPage.reload();
  await expect.poll(async () => (await hostProgress(hostPage))?.accepted ?? -1, { timeout: 30_000 }).toBeGreaterThanOrEqual(before);
  await expect.poll(async () => (await hostProgress(hostPage))?.accepted ?? 0, { timeout: 120_000 }).toBe(16);

  const results = await hostPage.evaluate(() => window.pageHost!.core.results());
  expect(results).toHaveLength(16);
  for (const [i, r] of results.entries()) expect(r.root).toBe(await expectedRoot(job, i));
  expect((await volunteerStatus(volunteer)).unitsDone).toBe(16);
});
