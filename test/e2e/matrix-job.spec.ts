import { expect, test } from '@playwright/test';
import { startStack, type Stack } from '../../scripts/stack';
import type { JobSpec } from '../../src/host/job';
import { openVolunteer, freePort, volunteerStatus } from './stack-fixture';

const modp: JobSpec = { id: 'e2e-modp', kernel: 'matmul-modp', units: 6, m: 96, n: 64, k: 80, p: 65521, seed: 12, samples: 8 };
const f32: JobSpec = { id: 'e2e-f32', kernel: 'matmul-f32', units: 6, m: 64, n: 96, k: 128, seed: 13, samples: 8 };

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-matrix-${process.pid}`, jobs: [modp, f32] });
});
test.afterAll(async () => {
  await stack?.close();
});

test('volunteer pages finish exact and float matrix jobs, each row the host samples checked', async ({ browser }) => {
  const pages = await Promise.all([browser.newPage(), browser.newPage()]);
  for (const page of pages) {
    await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);
    await page.getByRole('button', { name: 'Start' }).click();
  }
  await expect.poll(() => stack.core.done, { timeout: 150_000 }).toBe(true);
  expect(stack.core.results('e2e-modp')).toHaveLength(6);
  expect(stack.core.results('e2e-f32')).toHaveLength(6);
  const statuses = await Promise.all(pages.map(volunteerStatus));
  expect(statuses.reduce((n, s) => n + s.unitsDone, 0)).toBe(12);
  // Credit is the multiply-adds computed.
  expect(statuses.reduce((n, s) => n + s.credit, 0)).toBe(6 * 96 * 64 * 80 + 6 * 64 * 96 * 128);
});
