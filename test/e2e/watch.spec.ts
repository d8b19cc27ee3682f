import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { startStack, type Stack } from '../../scripts/stack';
import { parseNpy } from '../../src/data/npy';
import type { JobSpec } from '../../src/host/job';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import type { SignedReceipt } from '../../src/protocol/messages';
import { freePort, openVolunteer } from './stack-fixture';

/**
 * The dashboard watching a Node host: read-only panels from the host's snapshots over WebRTC,
 * admitted by the token the host printed (proved, never sent), and the host's own export.
 */
const job: JobSpec = { id: 'e2e-watched', kernel: 'sha256-batch', units: 4, messagesPerUnit: 512, messageLength: 40, seed: 99, samples: 4, collect: true };

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-watch-${process.pid}`, jobs: [job] });
});
test.afterAll(async () => {
  await stack?.close();
});

test('a dashboard watches a Node host read-only with its token, and downloads the host’s export; a wrong token is refused', async ({ browser }) => {
  const dash = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  dash.on('pageerror', (err) => console.error(`[dashboard error] ${err.message}`));
  await dash.goto(stack.watchUrl);
  await expect(dash.getByRole('heading', { name: `Watching host ${stack.hostId}` })).toBeVisible({ timeout: 30_000 });
  await expect(dash.getByRole('button', { name: 'Create job' })).toHaveCount(0);

  const volunteer = await browser.newPage();
  await openVolunteer(volunteer, stack.webUrl, stack.signalUrl, stack.hostId);
  await volunteer.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => stack.core.done, { timeout: 120_000 }).toBe(true);
  await expect(dash.locator('tg-unit-grid [data-field="summary"]')).toContainText(`${job.units} of ${job.units} units accepted`, { timeout: 30_000 });

  await dash.getByRole('button', { name: new RegExp(`Export ${job.id} as the host writes it`) }).click();
  const save = dash.getByRole('link', { name: 'Save manifest.json' });
  await expect(save).toBeVisible({ timeout: 30_000 });
  const [download] = await Promise.all([dash.waitForEvent('download'), save.click()]);
  const manifest = JSON.parse(await readFile((await download.path())!, 'utf8')) as {
    state: string;
    host: { publicKey: string };
    units: { list: { receipt: SignedReceipt }[] };
  };
  expect(manifest.state).toBe('complete');
  expect(manifest.host.publicKey).toBe(stack.core.publicKey);
  for (const u of manifest.units.list) expect(await verifyReceiptSignature(manifest.host.publicKey, u.receipt, u.receipt.signature)).toBe(true);
  const [npy] = await Promise.all([dash.waitForEvent('download'), dash.getByRole('link', { name: 'Save digests.npy' }).click()]);
  expect(parseNpy(await readFile((await npy.path())!), 'digests.npy').shape).toEqual([job.units * job.messagesPerUnit, 32]);

  const wrong = await browser.newPage();
  await wrong.goto(stack.watchUrl.replace(/#token=.*/, '#token=' + 'f'.repeat(64)));
  await expect(wrong.getByText(/refused|wrong token|bad-token/i).first()).toBeVisible({ timeout: 30_000 });
});
