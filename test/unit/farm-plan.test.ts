import { describe, expect, it } from 'vitest';
import { FaultKind, planFaults } from '../../scripts/farm/faults';
import { brokenInvariants, judgeResults, type FarmSummary } from '../../scripts/farm/summary';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import type { JobSpec } from '../../src/host/job';
import type { HostSnapshot } from '../../src/host/store/store';

const clean: FarmSummary = {
  volunteers: 4,
  units_total: 10,
  units_accepted: 10,
  units_lost: 0,
  wrong_results_accepted: 0,
  duplicates_accepted: 0,
  unchecked_f32: 0,
  cheaters: 2,
  cheater_kinds: ['wrong-digest', 'never-leased'],
  cheaters_banned: 2,
  cheaters_not_banned: [],
  cheaters_short_of_lies: [],
  cheater_wrong_credit: 0,
  resumed_from_checkpoint: 0,
  outbox_redelivered: 0,
  faults_injected: 0,
  fault_log: [],
  seconds: 1,
  units_per_second: 10,
  verify_cpu_seconds: 0,
  host_cpu_seconds: 0,
  host_busy: {},
  compute_seconds: 0,
  input_bytes_sent: 0,
  input_bytes_per_unit: 0,
  failures: [],
};

describe('farm invariants', () => {
  it('pass a clean run and name each broken invariant', () => {
    expect(brokenInvariants(clean)).toEqual([]);
    expect(brokenInvariants({ ...clean, units_accepted: 9 })).toEqual(['1 unit(s) never accepted']);
    expect(brokenInvariants({ ...clean, units_lost: 2 })).toEqual(['2 accepted unit(s) lost by the host']);
    expect(brokenInvariants({ ...clean, wrong_results_accepted: 1 })).toEqual(['1 wrong result(s) accepted']);
    expect(brokenInvariants({ ...clean, duplicates_accepted: 1 })).toEqual(['1 duplicate acceptance(s)']);
    expect(brokenInvariants({ ...clean, cheater_wrong_credit: 5 })).toEqual(['cheaters earned 5 credit for wrong results']);
    expect(brokenInvariants({ ...clean, cheaters_banned: 1, cheaters_not_banned: ['wrong-digest'] })).toEqual(['1 of 2 cheater(s) not banned: wrong-digest']);
    const forced = 'WebGPU: google swiftshader (software fallback) (backend forced to webgpu by the page)';
    expect(brokenInvariants({ ...clean, backend: 'webgpu', page_backends: [forced] })).toEqual([]);
    expect(brokenInvariants({ ...clean, backend: 'webgpu', page_backends: [forced, 'CPU fallback (no usable GPU: none)'] })).toEqual([
      'pages not on the forced backend webgpu: CPU fallback (no usable GPU: none)',
    ]);
    const locality = {
      jobs: ['j'],
      volunteers: 3,
      bytes_after_first: 1_100_000,
      a_slice_bytes_after_first: 1_000_000,
      ratio: 1.1,
      worst_volunteer_ratio: 1.3,
      by_volunteer: [],
    };
    expect(brokenInvariants({ ...clean, dataset: true, locality })).toEqual([]);
    expect(brokenInvariants({ ...clean, dataset: true, locality: { ...locality, ratio: 1.25 } })).toEqual([
      'locality: 1.250 × the A slice sent per unit after the first (over 3 volunteer(s) × job), more than 1.1',
    ]);
    expect(brokenInvariants({ ...clean, dataset: true, locality: { ...locality, volunteers: 0, ratio: 0 } })).toEqual([
      'locality: no volunteer computed two units of a job whose units share B, nothing was measured',
    ]);
  });
});

describe('fault plan', () => {
  const ask = { volunteers: 6, kill: 2, reload: 3, dropSignal: true, restartHost: true };

  it('is the same for the same seed and differs across seeds', () => {
    expect(planFaults(ask, 5)).toEqual(planFaults(ask, 5));
    expect(planFaults(ask, 5)).not.toEqual(planFaults(ask, 6));
  });

  it('kills distinct pages, reloads only survivors, places every fault mid-job in order', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const faults = planFaults(ask, seed);
      expect(faults).toHaveLength(7);
      const killed = faults.filter((f) => f.kind === FaultKind.Kill).map((f) => f.page);
      expect(new Set(killed).size).toBe(2);
      for (const f of faults.filter((x) => x.kind === FaultKind.Reload)) expect(killed).not.toContain(f.page);
      for (const f of faults) expect(f.at >= 0.1 && f.at <= 0.75).toBe(true);
      expect(faults.map((f) => f.at)).toEqual([...faults.map((f) => f.at)].sort((a, b) => a - b));
    }
  });

  it('refuses to kill every volunteer', () => {
    expect(() => planFaults({ ...ask, kill: 6 }, 1)).toThrow(/leave no volunteer/);
  });
});

describe('cheaters in the summary', () => {
  it('fails a cheater that lied banAfter times in a job and was not banned, and only reports one that never lied enough', async () => {
    const spec: JobSpec = { id: 'j', kernel: 'sha256-batch', units: 1, messagesPerUnit: 4, messageLength: 8, seed: 1, samples: 4, trust: { banAfter: 2 } };
    const trust = (key: string, banned: boolean) => ({ jobId: 'j', key, streak: 0, valid: 0, invalid: banned ? 2 : 1, banned });
    const snapshot: HostSnapshot = {
      jobs: [{ id: 'j', spec, priority: 0, createdAt: 0 }],
      units: [],
      volunteers: [],
      receipts: [],
      trust: [trust('a', true), trust('b', false)],
      teams: [],
    };
    const lies = (key: string, n: number) => new Map([[key, new Map([['j', n]])]]);
    const results = await judgeResults(
      snapshot,
      [
        { id: 'a', keys: ['a'], kind: 'wrong-digest', liesByKey: lies('a', 2) },
        { id: 'b', keys: ['b'], kind: 'forged-mac', liesByKey: lies('b', 2) },
        { id: 'c', keys: ['c'], kind: 'skipped-range', liesByKey: lies('c', 1) },
      ],
      await createCpuSha256(),
    );
    expect(results).toMatchObject({ cheaters_banned: 1, cheaters_not_banned: ['forged-mac'], cheaters_short_of_lies: ['skipped-range'] });
    expect(brokenInvariants({ ...clean, ...results })).toEqual(['1 of 2 cheater(s) not banned: forged-mac']);
  });
});
