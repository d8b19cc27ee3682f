import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import type { ResultsFile } from '../../src/dashboard/results-file';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { a11yViolations } from './a11y';
import { openVolunteer, useSignalingAndWeb } from './stack-fixture';

/**
 * The jobs overview: three jobs, each with its progress; cancelling one stops its leasing while
 * its receipts stay valid; deleting a finished one removes its records from the host's store.
 */

const hostId = `e2e-overview-${process.pid}`;
const env = useSignalingAndWeb(hostId);
// Leased in creation order (equal priority): the small one finishes, the long one is cancelled while it runs, then the last one runs.
const jobs = [
  { id: 'ov-first', units: 3, messages: 256 },
  { id: 'ov-long', units: 400, messages: 4096 },
  { id: 'ov-last', units: 4, messages: 256 },
] as const;

async function createJob(dash: Page, job: (typeof jobs)[number], seed: number): Promise<void> {
  await dash.getByLabel('Job id').fill(job.id);
  await dash.getByLabel('Work units').fill(String(job.units));
  await dash.getByLabel('Seed', { exact: true }).fill(String(seed));
  await dash.getByLabel('Messages per unit').fill(String(job.messages));
  await dash.getByRole('button', { name: 'Create job' }).click();
  await expect(row(dash, job.id)).toBeVisible();
}

const row = (dash: Page, id: string) => dash.locator(`tg-jobs-overview tr[data-job="${id}"]`);
const accepted = async (dash: Page, id: string) =>
  Number((await row(dash, id).locator('[data-field="progress"]').innerText()).split(' / ')[0]!.replace(/,/g, ''));
/** A job's accepted and in-flight counts, from one rendering of its row. */
const counts = (dash: Page, id: string) =>
  row(dash, id).evaluate((tr) => {
    const num = (s: string | undefined) => Number((s ?? '0').replace(/,/g, ''));
    return {
      accepted: num(tr.querySelector('[data-field="progress"]')!.textContent!.split(' / ')[0]),
      inFlight: num(/\((\d+) in flight\)/.exec(tr.querySelector('[data-field="state"]')!.textContent!)?.[1]),
    };
  });

/** What the page host's IndexedDB holds of a job: its record, units and kept outputs. */
function storedOf(dash: Page, jobId: string) {
  return dash.evaluate(
    ({ db, jobId }) =>
      new Promise<{ jobs: number; units: number; outputs: number; otherUnits: number }>((resolve, reject) => {
        const open = indexedDB.open(db);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction(['jobs', 'units', 'outputs'], 'readonly');
          const jobsReq = tx.objectStore('jobs').getAllKeys();
          const unitsReq = tx.objectStore('units').getAll();
          const outputsReq = tx.objectStore('outputs').getAllKeys();
          tx.oncomplete = () => {
            const units = unitsReq.result as { jobId: string }[];
            resolve({
              jobs: (jobsReq.result as string[]).filter((k) => k === jobId).length,
              units: units.filter((u) => u.jobId === jobId).length,
              otherUnits: units.filter((u) => u.jobId !== jobId).length,
              outputs: (outputsReq.result as [string, string][]).filter(([unitId]) => unitId.startsWith(`${jobId}/`)).length,
            });
            open.result.close();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    { db: `tabgrid-host-${hostId}`, jobId },
  );
}

test('a dashboard with three jobs shows them all with their progress; cancelling one stops its leasing, its receipts stay valid; deleting a finished one removes its data', async ({
  browser,
}, testInfo) => {
  const base = env.base;
  const dash = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  dash.on('pageerror', (err) => console.error(`[dashboard error] ${err.message}`));
  await dash.goto(`${base}/dashboard.html?${new URLSearchParams({ host: hostId, signal: env.signaling.url })}`);
  await expect(dash.locator('[data-field="host-status"]')).toContainText(`Running as host ${hostId}`, { timeout: 30_000 });
  for (const [i, job] of jobs.entries()) await createJob(dash, job, 100 + i);
  await expect(dash.locator('tg-jobs-overview tbody tr')).toHaveCount(3);
  for (const job of jobs) {
    await expect(row(dash, job.id).locator('[data-field="progress"]')).toHaveText(`0 / ${job.units.toLocaleString('en')}`);
    await expect(row(dash, job.id)).toHaveAttribute('data-state', 'running');
  }

  const volunteer = await browser.newPage();
  await openVolunteer(volunteer, `${base}/`, env.signaling.url, hostId);
  await volunteer.getByRole('button', { name: 'Start' }).click();

  // The first job finishes, and its completion is announced.
  const [first, long, last] = jobs;
  await expect(row(dash, first.id)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(row(dash, first.id).locator('[data-field="progress"]')).toHaveText(`${first.units} / ${first.units}`);
  await expect(dash.locator('tg-jobs-overview [data-field="job-notice"]')).toContainText(`Job ${first.id} is done: all ${first.units} units accepted.`);

  // The long job runs: a few accepted, then cancelled (confirmed in its row).
  await expect.poll(() => accepted(dash, long.id), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
  await expect(row(dash, long.id).locator('[data-field="rate"]')).toContainText('units/min');
  await expect(row(dash, long.id).locator('[data-field="eta"]')).toHaveText(/^(about|under)/);
  await dash.getByRole('button', { name: `Cancel job ${long.id}` }).click();
  await expect(row(dash, long.id).getByRole('group', { name: `Confirm: cancel ${long.id}` })).toContainText('cannot be undone');
  await dash.screenshot({ path: testInfo.outputPath('overview-confirm-cancel.png'), fullPage: true });
  await row(dash, long.id).getByRole('button', { name: 'Cancel job' }).click();
  await expect(row(dash, long.id)).toHaveAttribute('data-state', 'cancelled');
  const atCancel = await counts(dash, long.id);

  // The last job is leased next and finishes; the cancelled one gains at most the units that were in flight when it was cancelled.
  await expect(row(dash, last.id)).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  const after = await accepted(dash, long.id);
  expect(after).toBeLessThanOrEqual(atCancel.accepted + atCancel.inFlight);
  // Nothing more of it is leased: its count stays, with nothing in flight.
  await dash.waitForTimeout(2_000);
  expect(await accepted(dash, long.id)).toBe(after);
  await expect(row(dash, long.id).locator('[data-field="state"]')).toHaveText('cancelled');
  await expect(dash.locator('tg-throughput-chart h2')).toHaveText('Throughput: all 3 jobs');

  // The cancelled job's receipts, downloaded, verify with the host's key.
  const [download] = await Promise.all([dash.waitForEvent('download'), dash.getByRole('button', { name: `Download results of ${long.id} (JSON)` }).click()]);
  const file = JSON.parse(await readFile(await download.path(), 'utf8')) as ResultsFile;
  expect(file.results).toHaveLength(after);
  for (const r of file.results) expect(await verifyReceiptSignature(file.host.publicKey, r.receipt!, r.receipt!.signature!)).toBe(true);

  // Delete the finished first job: asked, confirmed, gone from the overview and from the store.
  expect(await storedOf(dash, first.id)).toMatchObject({ jobs: 1, units: first.units, outputs: first.units });
  await dash.getByRole('button', { name: `Delete job ${first.id}` }).click();
  await expect(row(dash, first.id).getByRole('group', { name: `Confirm: delete ${first.id}` })).toBeVisible();
  await row(dash, first.id).getByRole('button', { name: 'Delete' }).click();
  await expect(dash.locator('tg-jobs-overview tbody tr')).toHaveCount(2);
  expect(await storedOf(dash, first.id)).toEqual({ jobs: 0, units: 0, outputs: 0, otherUnits: long.units + last.units });
  expect(await a11yViolations(dash)).toEqual([]);
  await dash.screenshot({ path: testInfo.outputPath('overview-1280.png'), fullPage: true });
  await dash.setViewportSize({ width: 390, height: 900 });
  await dash.screenshot({ path: testInfo.outputPath('overview-390.png'), fullPage: true });
  // Nothing widens the page past a phone's screen: wide tables scroll inside their panels.
  expect(await dash.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await volunteer.close();
});
