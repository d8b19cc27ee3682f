import { expect, test } from '@playwright/test';
import { runFarm } from '../../scripts/farm/run';
import { SHARED_B_BOUND } from '../../scripts/farm/swarm';
import { summaryTable } from '../../scripts/farm/summary';

/*
 * The swarm (issue 18): 16 units that all read one B of two chunks (scripts/farm/dataset-jobs.ts
 * SWARM), volunteers passing B on to each other with the host as the tracker.
 */

test('6 pages on a job sharing one B: the host sends at most 2 × S of B, the peers serve the rest, a tab closed while serving loses no unit, every invariant holds', async () => {
  // Under 90 s on an idle machine; the margin is for a loaded one.
  test.setTimeout(150_000);
  const summary = await runFarm(
    { volunteers: 6, seed: 18, timeLimitS: 70, dataset: true, datasetJobs: ['farm-ds-swarm'], closeServing: true },
    AbortSignal.timeout(145_000),
  );
  console.log(summaryTable(summary));
  expect(summary.failures).toEqual([]);
  expect(summary.units_accepted).toBe(summary.units_total);
  expect(summary.units_lost).toBe(0);
  expect(summary.wrong_results_accepted).toBe(0);
  const swarm = summary.swarm!;
  const b = swarm.shared_b!;
  expect(b.bytes).toBe(512 << 10);
  // Six volunteers each read all of B: from the host alone that is 6 × S.
  expect(b.host_bytes).toBeGreaterThan(0);
  expect(b.host_bytes).toBeLessThanOrEqual(SHARED_B_BOUND * b.bytes);
  expect(swarm.peer_input_bytes).toBeGreaterThanOrEqual(2 * b.bytes);
  expect(swarm.peer_share).toBeGreaterThan(0);
  // A tab was closed while others fetched from it, and they went on to other peers or the host.
  expect(swarm.closed_while_serving?.uploading).toBeGreaterThan(0);
  expect(summary.faults_injected).toBe(1);
});

test('a lying peer that serves corrupted chunks: no unit is computed on a bad chunk, the host stops naming it, the job finishes', async () => {
  // Under 90 s on an idle machine; the margin is for a loaded one.
  test.setTimeout(150_000);
  const summary = await runFarm(
    { volunteers: 4, liars: 1, seed: 19, timeLimitS: 70, dataset: true, datasetJobs: ['farm-ds-swarm'] },
    AbortSignal.timeout(145_000),
  );
  console.log(summaryTable(summary));
  expect(summary.failures).toEqual([]);
  expect(summary.units_accepted).toBe(summary.units_total);
  // Every accepted result is the farm's own recomputation from the true inputs: none was computed on a lie.
  expect(summary.wrong_results_accepted).toBe(0);
  const swarm = summary.swarm!;
  const [liar] = swarm.liars;
  // It was named, lied, was caught by the proofs and reported, and is named no more.
  expect(liar!.lies).toBeGreaterThan(0);
  expect(swarm.tracker!.reports['bad-chunk']).toBeGreaterThan(0);
  expect(liar!.excluded).toBe(true);
  expect(swarm.tracker!.recommendedAfterExclusion).toBe(0);
  // Honest peers still served each other after it was dropped.
  expect(swarm.peer_input_bytes).toBeGreaterThan(0);
});
