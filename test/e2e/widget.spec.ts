import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { startStack, type Stack } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import { verifyCreditStatement, type CreditStatement } from '../../src/proof/credit';
import { identityOf } from '../../src/proof/identity';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { widgetA11yProblems, widgetTabOrder } from './a11y-check';
import { freePort, openVolunteer } from './stack-fixture';

// Units of 2^20 nonces: a second or two each on the CPU, long enough to watch progress.
const job: JobSpec = { id: 'e2e-widget', kernel: 'sha256d-pow', units: 40, seed: 9, noncesPerUnit: 1 << 20, shareBits: 13, targetBits: 18 };

function widget(page: Page) {
  return page.evaluate(() => {
    const el = document.querySelector('tabgrid-volunteer') as TabgridVolunteer;
    const f = (name: string) => el.shadowRoot!.querySelector(`[data-field="${name}"]`)?.textContent?.trim() ?? '';
    return {
      state: el.state,
      consent: el.consentState,
      throttle: el.throttle,
      unitsDone: el.unitsDone,
      receipts: el.receipts.length,
      status: f('status'),
      unit: f('unit'),
      throttleShown: f('throttle'),
      points: el.shadowRoot!.querySelector('polyline')?.getAttribute('points') ?? '',
    };
  });
}

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-widget-${process.pid}`, jobs: [job] });
});
test.afterAll(async () => {
  await stack?.close();
});

test('consent, throttle, pause and resume: remembered across reloads, accessible, proof of credit downloadable', async ({ browser }, testInfo) => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const shot = async (name: string) =>
    testInfo.attach(name, { body: await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true }), contentType: 'image/png' });
  await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);

  // Before consent: the what-and-for-whom line, nothing leased.
  await expect(page.getByText(`for the job host ${stack.hostId}`)).toBeVisible();
  expect((await widget(page)).consent).toBe('unasked');
  expect(stack.core.progress().leased).toBe(0);
  expect(await widgetA11yProblems(page)).toEqual([]);
  const order = await widgetTabOrder(page, 6);
  expect(order.map((o) => o.focused)).toEqual(expect.arrayContaining(['button:primary', 'input:throttle', 'input:idle']));
  for (const o of order) expect(o.outline, `${o.focused} shows focus`).not.toMatch(/^none|0px$/);
  await shot('1-before-consent');

  // Start: runs, shows the unit in progress and the throughput line.
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
  await expect.poll(async () => (await widget(page)).unit, { timeout: 60_000 }).toMatch(/e2e-widget\/\d+ \(proof-of-work search\): \d+ %/);
  await expect.poll(async () => (await widget(page)).points.split(' ').length, { timeout: 10_000 }).toBeGreaterThan(2);

  // Throttle to 50 % with the keyboard; the choice is kept.
  await page.getByLabel('Use at most').focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowLeft');
  await expect.poll(async () => (await widget(page)).throttleShown).toBe('50 %');
  expect((await widget(page)).throttle).toBe(50);
  await expect.poll(async () => (await widget(page)).unitsDone, { timeout: 90_000 }).toBeGreaterThanOrEqual(1);
  expect(await widgetA11yProblems(page)).toEqual([]);
  await shot('2-running-throttled');

  // The proof of credit downloads as a signed statement that verifies against the host's key.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Download proof of credit/ }).click()]);
  expect(download.suggestedFilename()).toBe('tabgrid-credit.json');
  const statement = JSON.parse(await readFile((await download.path())!, 'utf8')) as CreditStatement;
  const check = await verifyCreditStatement(statement, stack.core.publicKey);
  expect(check.problems).toEqual([]);
  expect(check.units).toBeGreaterThanOrEqual(1);
  expect(check.total).toBe(stack.core.volunteer(identityOf(statement.publicKey))?.credit);

  // Pause: one click; a reload stays paused, with the throttle remembered.
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect.poll(async () => (await widget(page)).state).toBe('paused');
  await page.reload();
  await expect(page.getByRole('button', { name: 'Start' })).toBeVisible();
  await page.waitForTimeout(500);
  expect(await widget(page)).toMatchObject({ state: 'idle', consent: 'paused', throttle: 50 });
  expect((await widget(page)).status).toMatch(/Paused, as you chose/);
  await shot('3-paused-after-reload');

  // Start again, reload: resumes by itself.
  await page.getByRole('button', { name: 'Start' }).click();
  await page.reload();
  await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
  await expect.poll(async () => (await widget(page)).state, { timeout: 30_000 }).toBe('running');
  await shot('4-resumed-after-reload');

  // Themed by the page: custom properties and ::part reach inside; the contrast check notices
  // a theme that makes text unreadable.
  await page.addStyleTag({
    content: 'tabgrid-volunteer { --tabgrid-accent: #7c2d12; --tabgrid-radius: 0px } tabgrid-volunteer::part(card) { border-width: 3px }',
  });
  const themed = await page.evaluate(() => {
    const root = document.querySelector('tabgrid-volunteer')!.shadowRoot!;
    return {
      button: getComputedStyle(root.querySelector('button.primary')!).backgroundColor,
      card: getComputedStyle(root.querySelector('.card')!).borderTopWidth,
    };
  });
  expect(themed).toEqual({ button: 'rgb(124, 45, 18)', card: '3px' });
  expect(await widgetA11yProblems(page)).toEqual([]);
  await shot('5-themed');
  await page.addStyleTag({ content: 'tabgrid-volunteer { --tabgrid-fg: #b0b0b0 }' });
  expect((await widgetA11yProblems(page)).join('\n')).toMatch(/contrast 2\.\d+:1/);
  await context.close();
});
