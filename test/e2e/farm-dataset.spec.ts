import { expect, test } from '@playwright/test';
import { runFarm } from '../../scripts/farm/run';
import { LOCALITY_BOUND } from '../../scripts/farm/locality';
import { summaryTable } from '../../scripts/farm/summary';

test("a small farm on dataset inputs (3 pages, a cheater, a tab killed and one reloaded) keeps every invariant, and after a volunteer's first unit of a job sharing B sends little more than each unit's A band", async () => {
  test.setTimeout(120_000);
  const summary = await runFarm(
    {
      volunteers: 3,
      cheaters: 1,
      kill: 1,
      reload: 1,
      seed: 12,
      timeLimitS: 90,
      dataset: true,
      // The default dataset jobs but the long proof-of-work, the replicated hashing (for the colluding pair) and the seeded i8 product: under a minute on two cores.
      datasetJobs: ['farm-ds-sha256', 'farm-ds-modp', 'farm-ds-pow', 'farm-ds-f32'],
    },
    AbortSignal.timeout(115_000),
  );
  console.log(summaryTable(summary));
  expect(summary.failures).toEqual([]);
  expect(summary.dataset).toBe(true);
  expect(summary.units_accepted).toBe(summary.units_total);
  expect(summary.wrong_results_accepted).toBe(0);
  expect(summary.cheaters_banned).toBe(1);
  expect(summary.faults_injected).toBe(2);
  expect(summary.unchecked_f32).toBe(0);
  // The volunteers fetched their inputs from the host, and after each one's first unit of a shared-B job, little more than the unit's A band.
  expect(summary.input_bytes_sent).toBeGreaterThan(0);
  expect(summary.input_bytes_per_unit).toBeGreaterThan(0);
  expect(summary.locality!.volunteers).toBeGreaterThan(0);
  expect(summary.locality!.a_slice_bytes_after_first).toBeGreaterThan(0);
  expect(summary.locality!.ratio).toBeLessThanOrEqual(LOCALITY_BOUND);
  // The tiled product (B in four panels) was measured too; its figure is reported, not bounded.
  expect(summary.locality_tiled!.jobs).toEqual(['farm-ds-f32']);
});
