import { expect, test } from '@playwright/test';
import { startStack, type Stack } from '../../scripts/stack';
import { jobUnit, type JobSpec } from '../../src/host/job';
import { fromHex } from '../../src/hex';
import { powSearchCpuFast } from '../../src/kernels/sha256d-pow/pow';
import { openVolunteer, freePort, volunteerStatus } from './stack-fixture';

const modp: JobSpec = { id: 'e2e-modp', kernel: 'matmul-modp', units: 6, m: 96, n: 64, k: 80, p: 65521, seed: 12, samples: 8 };
const f32: JobSpec = { id: 'e2e-f32', kernel: 'matmul-f32', units: 6, m: 64, n: 96, k: 128, seed: 13, samples: 8 };
const i8: JobSpec = { id: 'e2e-i8', kernel: 'matmul-i8', units: 4, m: 48, n: 40, k: 72, seed: 15, samples: 8 };
// 64 shares expected per unit; 14-bit solutions, about 4 per unit.
const pow: JobSpec = { id: 'e2e-pow', kernel: 'sha256d-pow', units: 4, seed: 14, noncesPerUnit: 1 << 16, shareBits: 10, targetBits: 14 };

let stack: Stack;
test.beforeAll(async () => {
  stack = await startStack({ signalPort: await freePort(), webPort: await freePort(), hostId: `e2e-matrix-${process.pid}`, jobs: [modp, f32, i8, pow] });
});
test.afterAll(async () => {
  await stack?.close();
});

test('volunteer pages finish exact, float and int8 matrix jobs and a proof-of-work search, every solution found', async ({ browser }) => {
  const pages = await Promise.all([browser.newPage(), browser.newPage()]);
  for (const page of pages) {
    await openVolunteer(page, stack.webUrl, stack.signalUrl, stack.hostId);
    await page.getByRole('button', { name: 'Start' }).click();
  }
  await expect.poll(() => stack.core.done, { timeout: 150_000 }).toBe(true);
  expect(stack.core.results('e2e-modp')).toHaveLength(6);
  expect(stack.core.results('e2e-f32')).toHaveLength(6);
  expect(stack.core.results('e2e-i8')).toHaveLength(4);
  const statuses = await Promise.all(pages.map(volunteerStatus));
  expect(statuses.reduce((n, s) => n + s.unitsDone, 0)).toBe(20);
  // Credit is the multiply-adds computed, and three SHA-256 compressions per nonce.
  expect(statuses.reduce((n, s) => n + s.credit, 0)).toBe(6 * 96 * 64 * 80 + 6 * 64 * 96 * 128 + 4 * 48 * 40 * 72 + 4 * 3 * (1 << 16));
  // The solutions the host kept are exactly those a CPU search of each range finds.
  for (const [i, result] of stack.core.results('e2e-pow').entries()) {
    const unit = jobUnit(pow, i);
    if (unit.kernel !== 'sha256d-pow') throw new Error('not a pow unit');
    const bytes = (hex: string) => fromHex(hex)!;
    const expected = await powSearchCpuFast(bytes(unit.header), unit.nonceStart, unit.nonceCount, bytes(unit.target), bytes(unit.shareTarget));
    expect(result.solutions).toEqual(expected.solutions);
  }
});
