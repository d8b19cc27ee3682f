import { expect, test } from '@playwright/test';
import { startHost, startStack, type Stack } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import { freePort, openVolunteer, volunteerStatus } from './stack-fixture';

const first: JobSpec = { id: 'e2e-first', kernel: 'sha256-batch', units: 5, messagesPerUnit: 4096, messageLength: 64, seed: 1, samples: 8 };
const second: JobSpec = { id: 'e2e-second', kernel: 'matmul-modp', units: 4, m: 64, n: 64, k: 64, p: 65521, seed: 2, samples: 8 };

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-first-${process.pid}`, jobs: [first] });
});
test.afterAll(async () => {
  await stack?.close();
});

test('one page contributes to two hosts at once, one session each', async ({ browser }) => {
  const other = await startHost({ jobs: [second], signalUrl: stack.signalUrl, hostId: `e2e-second-${process.pid}` });
  try {
    const page = await browser.newPage();
    await openVolunteer(page, stack.webUrl, stack.signalUrl, `${stack.hostId},${other.host.id}`);
    await page.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => stack.core.done && other.core.done, { timeout: 120_000 }).toBe(true);
    const status = await volunteerStatus(page);
    expect(status.unitsDone).toBe(first.units + second.units);
    expect(status.events).toBe(first.units + second.units);
    expect(status.credit).toBe(5 * 4096 * 2 + 4 * 64 * 64 * 64);
    await expect(page.locator('tabgrid-volunteer [data-field="status"]')).toContainText(other.host.id);
  } finally {
    other.host.close();
  }
});
