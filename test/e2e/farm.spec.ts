import { expect, test } from '@playwright/test';
import { runFarm } from '../../scripts/farm/run';
import { summaryTable } from '../../scripts/farm/summary';

test('a small farm (6 pages, a cheater, a tab killed and one reloaded) finishes every kernel with only correct results', async () => {
  test.setTimeout(300_000);
  const summary = await runFarm({ volunteers: 6, cheaters: 1, kill: 1, reload: 1, seed: 11, timeLimitS: 240 }, AbortSignal.timeout(290_000));
  console.log(summaryTable(summary));
  expect(summary.failures).toEqual([]);
  expect(summary.units_accepted).toBe(summary.units_total);
  expect(summary.units_lost).toBe(0);
  expect(summary.wrong_results_accepted).toBe(0);
  expect(summary.duplicates_accepted).toBe(0);
  expect(summary.cheater_wrong_credit).toBe(0);
  expect(summary.cheaters_banned).toBe(1);
  expect(summary.faults_injected).toBe(2);
  // Something was measured: the host judged, and the pages computed.
  expect(summary.verify_cpu_seconds).toBeGreaterThan(0);
  expect(summary.compute_seconds).toBeGreaterThan(0);
  // The default f32 job collects its output, so the farm rechecked every f32 result too.
  expect(summary.unchecked_f32).toBe(0);
});
