import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { CpuHashPool } from '../../src/kernels/cpu-hash/pool';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { powSearchCpu, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';

describe('CpuHashPool without Worker (Node runs pieces in-thread)', () => {
  const unit = { kernel: 'sha256-batch', jobId: 'j', unitId: 'j/0', seed: 9, count: 3000, messageLength: 64 } as const;

  it('hashes a range of messages into the single-thread digests, with progress to the end', async () => {
    const pool = new CpuHashPool();
    expect(pool.size).toBe(1);
    const progress: number[] = [];
    const out = await pool.sha256Batch(unit, 100, 3000, { onProgress: (done) => progress.push(done) });
    expect(out).toEqual(sha256BatchCpu(seededBatch(unit.seed, 2900, 64, 100), await createCpuSha256()));
    expect(progress.at(-1)).toBe(2900);
  });

  it('finds the reference shares and solutions, and stops between pieces when aborted', async () => {
    const pool = new CpuHashPool();
    const header = new Uint8Array(80).fill(7);
    const [t, s] = [targetFromLeadingZeroBits(9), targetFromLeadingZeroBits(5)];
    const want = powSearchCpu(header, 5, 20_000, t, s);
    expect(await pool.powSearch(header, 5, 20_000, t, s)).toEqual({ shares: want.shares, solutions: want.solutions });
    const controller = new AbortController();
    let reports = 0;
    const run = pool.powSearch(header, 0, 2 ** 20, t, s, { signal: controller.signal, onProgress: () => (reports++, controller.abort()) });
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(reports).toBe(1);
  });

  it('refuses a bad worker count', () => {
    expect(() => new CpuHashPool({ workers: 0 })).toThrow(/positive integer/);
  });
});
