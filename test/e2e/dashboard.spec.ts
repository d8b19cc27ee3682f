import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import type { ResultsFile } from '../../src/dashboard/results-file';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { jobUnit, type JobSpec, type MatmulJobSpec } from '../../src/host/job';
import { matmulModpRef } from '../../src/kernels/matmul/matmul';
import { matmulOperands } from '../../src/kernels/matmul/inputs';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { a11yViolations } from './a11y';
import { expectedRoot, openVolunteer, useSignalingAndWeb, volunteerStatus } from './stack-fixture';

const job: JobSpec = { id: 'e2e-dash', kernel: 'sha256-batch', units: 6, messagesPerUnit: 2048, messageLength: 64, seed: 4242, samples: 8, collect: true };
// Small: SwiftShader computes it in well under a second a unit.
const matrix: MatmulJobSpec = { id: 'e2e-mat', kernel: 'matmul-modp', units: 3, m: 32, n: 16, k: 24, p: 65521, seed: 77, samples: 4, collect: true };
const hostId = `e2e-dashboard-${process.pid}`;
const env = useSignalingAndWeb(hostId);

test('a researcher creates jobs on the dashboard that keep their output, volunteer pages finish them, and the downloads verify', async ({
  browser,
}, testInfo) => {
  const base = env.base;
  const dash = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  dash.on('pageerror', (err) => console.error(`[dashboard error] ${err.message}`));
  await dash.goto(`${base}/dashboard.html?${new URLSearchParams({ host: hostId, signal: env.signaling.url })}`);
  await expect(dash.locator('[data-field="host-status"]')).toContainText(`Running as host ${hostId}`, { timeout: 30_000 });
  await expect(dash.locator('[data-field="volunteer-link"]')).toHaveAttribute(
    'href',
    `${base}/?${new URLSearchParams({ host: hostId, signal: env.signaling.url })}`,
  );

  // The form: an invalid value first, whose error shows next to its field.
  await dash.getByLabel('Job id').fill(job.id);
  await dash.getByLabel('Work units').fill('0');
  await dash.getByRole('button', { name: 'Create job' }).click();
  await expect(dash.locator('#e-units')).toHaveText('units must be an integer in 1..1000000');
  await dash.getByLabel('Work units').fill(String(job.units));
  await dash.getByLabel('Seed', { exact: true }).fill(String(job.seed));
  await dash.getByLabel('Messages per unit').fill(String(job.messagesPerUnit));
  await dash.getByLabel('Samples per result').fill(String(job.samples));
  await expect(dash.getByLabel(/^Keep the output/)).toBeChecked();
  await expect(dash.locator('[data-field="collect-size"]')).toHaveText('64 KiB a unit, 384 KiB for the job');
  await dash.getByRole('button', { name: 'Create job' }).click();
  const summary = dash.locator('tg-unit-grid [data-field="summary"]');
  await expect(summary).toHaveText(`0 of ${job.units} units accepted; 0 verifying, 0 leased, ${job.units} queued, 0 recently rejected.`);
  await expect(dash.locator('tg-unit-grid .cell')).toHaveCount(job.units);
  await dash.screenshot({ path: testInfo.outputPath('dashboard-job-created.png'), fullPage: true });

  // Two volunteer pages, each in its own browser context (one computing tab per site and profile);
  // a fast one may take every unit, so the table counts the volunteers that did work.
  const volunteers = [await browser.newPage(), await browser.newPage()];
  for (const v of volunteers) {
    await openVolunteer(v, `${base}/`, env.signaling.url, hostId);
    await v.getByRole('button', { name: 'Start' }).click();
  }
  await expect(summary).toHaveText(new RegExp(`^${job.units} of ${job.units} units accepted`), { timeout: 120_000 });
  await expect(dash.locator('tg-verification-log li[data-verdict="accepted"]')).toHaveCount(job.units);
  const done = await Promise.all(volunteers.map(async (v) => (await volunteerStatus(v)).unitsDone));
  expect(done.reduce((a, b) => a + b, 0)).toBe(job.units);
  await expect(dash.locator('tg-volunteers-table tbody tr')).toHaveCount(done.filter((n) => n > 0).length);
  await expect(dash.locator('tg-throughput-chart [data-field="throughput"]')).toContainText(`${job.units} in all`);
  await dash.screenshot({ path: testInfo.outputPath('dashboard-job-done.png'), fullPage: true });

  // The download: every root equals the CPU reference's, and every receipt verifies with the host key in the file.
  const [download] = await Promise.all([dash.waitForEvent('download'), dash.getByRole('button', { name: `Download results of ${job.id} (JSON)` }).click()]);
  expect(download.suggestedFilename()).toBe(`tabgrid-${job.id}-results.json`);
  const file = JSON.parse(await readFile(await download.path(), 'utf8')) as ResultsFile;
  await testInfo.attach('results.json', { body: JSON.stringify(file, null, 2), contentType: 'application/json' });
  expect(file).toMatchObject({ format: 'tabgrid-results/2', output: 'digests', job, host: { id: hostId }, units: { total: job.units, accepted: job.units } });
  expect(file.results.map((r) => r.index)).toEqual([...Array(job.units).keys()]);
  const hash = await createCpuSha256();
  for (const r of file.results) {
    expect(r.root).toBe(await expectedRoot(job, r.index));
    // The digests themselves, as the CPU reference computes them.
    const unit = jobUnit(job, r.index);
    if (unit.kernel !== 'sha256-batch') throw new Error('expected a hashing unit');
    const reference = sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash);
    expect(r.digests).toHaveLength(unit.count);
    expect(r.digests!.join('')).toBe(toHex(reference));
    expect(r.receipt).toMatchObject({ unitId: r.unitId, root: r.root, volunteer: r.volunteer });
    expect(await verifyReceiptSignature(file.host.publicKey, r.receipt!, r.receipt!.signature!)).toBe(true);
  }

  // A small matrix job through the form: C as binary plus a JSON header, each slice the CPU reference's C.
  await dash.getByLabel('Job id').fill(matrix.id);
  await dash.getByLabel('Kernel').selectOption(matrix.kernel);
  await dash.getByLabel('Work units').fill(String(matrix.units));
  await dash.getByLabel('Seed', { exact: true }).fill(String(matrix.seed));
  for (const [label, value] of [
    ['m (rows of A)', matrix.m],
    ['n (columns of B)', matrix.n],
    ['k (inner dimension)', matrix.k],
    ['Samples per result', matrix.samples],
  ] as const) {
    await dash.getByLabel(label).fill(String(value));
  }
  await expect(dash.getByLabel(/^Keep the output/)).toBeChecked();
  await dash.getByRole('button', { name: 'Create job' }).click();
  await expect(summary).toHaveText(new RegExp(`^${matrix.units} of ${matrix.units} units accepted`), { timeout: 60_000 });
  await dash.getByRole('button', { name: `Prepare results of ${matrix.id} (JSON header and C as binary)` }).click();
  await expect(dash.locator(`tg-downloads li[data-job="${matrix.id}"] [data-field="status"]`)).toHaveText('Ready: save both files below.');
  await dash.screenshot({ path: testInfo.outputPath('dashboard-downloads.png'), fullPage: true });
  const saveLink = async (name: string) => {
    const [d] = await Promise.all([dash.waitForEvent('download'), dash.getByRole('link', { name: `Save ${name}` }).click()]);
    expect(d.suggestedFilename()).toBe(name);
    return readFile(await d.path());
  };
  const header = JSON.parse((await saveLink(`tabgrid-${matrix.id}-results.json`)).toString('utf8')) as ResultsFile;
  const bin = new Uint8Array(await saveLink(`tabgrid-${matrix.id}-c.bin`));
  await testInfo.attach('matrix-header.json', { body: JSON.stringify(header, null, 2), contentType: 'application/json' });
  const layout = header.layout!;
  expect(header).toMatchObject({ format: 'tabgrid-results/2', output: 'matrix', job: matrix, units: { accepted: matrix.units } });
  expect(layout).toMatchObject({ file: `tabgrid-${matrix.id}-c.bin`, dtype: 'uint32-le', m: matrix.m, n: matrix.n, rowBytes: 4 * matrix.n, missing: [] });
  expect(bin.length).toBe(layout.totalBytes);
  expect(bin.length).toBe(matrix.units * 4 * matrix.m * matrix.n);
  for (const [i, u] of layout.units.entries()) {
    const unit = jobUnit(matrix, i);
    if (unit.kernel !== 'matmul-modp') throw new Error('expected a modp unit');
    const { a, b } = matmulOperands(unit);
    const c = matmulModpRef(a as Uint32Array, b as Uint32Array, unit, unit.p);
    expect(u).toMatchObject({ unitId: unit.unitId, index: i, offset: i * layout.unitBytes, root: await expectedRoot(matrix, i) });
    expect(bin.subarray(u.offset, u.offset + layout.unitBytes)).toEqual(new Uint8Array(c.buffer));
    expect(await verifyReceiptSignature(header.host.publicKey, u.receipt!, u.receipt!.signature!)).toBe(true);
  }
  console.log(
    `downloads: ${job.id} results.json ${(await readFile(await download.path())).length} bytes; ${matrix.id} header ${JSON.stringify(header, null, 2).length} bytes, c.bin ${bin.length} bytes`,
  );

  expect(await a11yViolations(dash)).toEqual([]);

  // The host's state is in IndexedDB: a reloaded dashboard shows the finished job again.
  for (const v of volunteers) await v.close();
  await dash.reload();
  await expect(summary).toHaveText(/^(\d+) of \1 units accepted/, { timeout: 30_000 });
  await expect(dash.getByRole('button', { name: `Download results of ${job.id} (JSON)` })).toBeEnabled();
  await dash.close();
});

test('the accessibility checker catches what it claims to', async ({ page }) => {
  await page.setContent(`<!doctype html><html lang="en"><body style="background:#fff">
    <input id="unnamed"><label for="named">Named</label><input id="named">
    <button></button><button aria-label="Close">×</button>
    <img src="data:,"><svg width="10" height="10"></svg><svg role="img" aria-label="chart" width="10" height="10"></svg>
    <p style="color:#aaa">pale text</p><p style="color:#555">dark enough</p>
    <div id="host"></div>
    <script>
      const root = document.getElementById('host').attachShadow({ mode: 'open' });
      root.innerHTML = '<select></select><p style="color:#ccc;background:#fff">shadow pale</p>';
    </script>
  </body></html>`);
  const problems = await a11yViolations(page);
  expect(problems).toEqual([
    expect.stringMatching(/^form control without an accessible name: <input#unnamed> in document/),
    expect.stringMatching(/^button without text: <button>/),
    expect.stringMatching(/^image without alt/),
    expect.stringMatching(/^svg that is not aria-hidden/),
    expect.stringMatching(/^form control without an accessible name: <select> in div/),
    'no aria-live region (aria-live, or role log/status/alert) on the page',
    expect.stringMatching(/^contrast 2\.\d+:1 < 4\.5:1 for "pale text"/),
    expect.stringMatching(/^contrast 1\.\d+:1 < 4\.5:1 for "shadow pale"/),
  ]);
});
