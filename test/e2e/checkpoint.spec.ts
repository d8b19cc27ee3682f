import { expect, test, type Page } from '@playwright/test';
import { startStack, type Stack } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { freePort, openVolunteer } from './stack-fixture';

// One long proof-of-work unit (2^23 nonces: several seconds on the CPU), 1024 shares expected.
const pow: JobSpec = { id: 'e2e-resume', kernel: 'sha256d-pow', units: 1, seed: 21, noncesPerUnit: 1 << 23, shareBits: 13, targetBits: 18 };
const hashing: JobSpec = { id: 'e2e-outbox', kernel: 'sha256-batch', units: 1, messagesPerUnit: 2048, messageLength: 64, seed: 22, samples: 8 };

function widget(page: Page) {
  return page.evaluate(() => {
    const el = document.querySelector('tabgrid-volunteer') as TabgridVolunteer;
    return {
      state: el.state,
      unitsDone: el.unitsDone,
      resumed: el.resumed,
      computed: el.computed,
      checkpoints: el.checkpoints,
      outbox: el.outbox,
      storage: el.storage,
      text: el.shadowRoot!.textContent ?? '',
    };
  });
}

let stack: Stack;
test.afterEach(async () => {
  await stack?.close();
});

test('a page reloaded mid-unit finishes it from its checkpoint, and the host accepts one result', async ({ browser }) => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-resume-${process.pid}`, jobs: [pow] });
  const context = await browser.newContext();
  const page = await context.newPage();
  await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId, { 'checkpoint-ms': '400' });
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => (await widget(page)).checkpoints, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
  const before = await widget(page);
  expect(before.outbox).toBe(0); // still computing
  await page.reload();
  await page.waitForFunction(() => customElements.get('tabgrid-volunteer') !== undefined);
  // The visitor pressed Start before the reload: the page resumes by itself.
  await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
  await expect.poll(() => stack.core.done, { timeout: 120_000 }).toBe(true);
  const after = await widget(page);
  expect(after.resumed).toBe(true);
  expect(after.text).toMatch(/from its checkpoint/);
  // The reloaded page computed only what was left: less than the unit by at least the checkpointed part.
  expect(after.computed).toBeGreaterThan(0);
  expect(after.computed).toBeLessThan(1 << 23);
  expect(stack.core.results()).toHaveLength(1);
  const volunteer = stack.core.volunteer(stack.core.results()[0]!.volunteer)!;
  expect(volunteer).toMatchObject({ accepted: 1, rejected: 0 });
  await context.close();
});

test('a result computed but not yet acknowledged is delivered from the outbox after the page is reopened', async ({ browser }) => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-outbox-${process.pid}`, jobs: [hashing] });
  // The host is slow to judge: results go unanswered until `deaf` is cleared.
  let deaf = true;
  const handle = stack.core.handle.bind(stack.core);
  stack.core.handle = async (name, text) => (deaf && typeof text === 'string' && text.includes('"type":"result"') ? [] : handle(name, text));
  const context = await browser.newContext(); // one profile: the reopened page sees the same IndexedDB
  let page = await context.newPage();
  await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => (await widget(page)).outbox, { timeout: 60_000 }).toBe(1);
  await page.close();
  deaf = false;
  expect(stack.core.progress().accepted).toBe(0);

  page = await context.newPage();
  await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);
  await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible(); // consent remembered
  await expect.poll(() => stack.core.done, { timeout: 60_000 }).toBe(true);
  await expect.poll(async () => (await widget(page)).unitsDone, { timeout: 10_000 }).toBe(1);
  const after = await widget(page);
  expect(after.computed).toBe(0); // delivered, not recomputed
  expect(stack.core.results()).toHaveLength(1);
  await context.close();
});

test('a second tab of the same site waits while the first contributes, and takes over when it closes', async ({ browser }) => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-tabs-${process.pid}`, jobs: [{ ...pow, id: 'e2e-tabs' }] });
  const context = await browser.newContext();
  const [first, second] = [await context.newPage(), await context.newPage()];
  for (const page of [first, second]) await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);
  await first.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => (await widget(first)).state).toBe('running');
  await second.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => (await widget(second)).state).toBe('waiting');
  expect((await widget(second)).text).toMatch(/Another tab of this site is contributing/);
  await first.close();
  await expect.poll(async () => (await widget(second)).state, { timeout: 20_000 }).toBe('running');
  await context.close();
});
