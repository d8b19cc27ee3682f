import { describe, expect, it } from 'vitest';
import { Kernel, type MatmulUnit, type Sha256BatchUnit } from '../../src/protocol';
import { commitmentBytes, unitInputDigest, type CommitmentFields } from '../../src/proof/commitment';

const matmul: MatmulUnit = { kernel: Kernel.MatmulModp, jobId: 'job-1', unitId: 'u-1', seed: 42, m: 7, n: 13, k: 5, p: 65521 };
const sha: Sha256BatchUnit = { kernel: Kernel.Sha256Batch, jobId: 'job-1', unitId: 'u-2', seed: 42, count: 100, messageLength: 64 };
const root = 'ab'.repeat(32);

function fields(unit: MatmulUnit | Sha256BatchUnit, r = root): CommitmentFields {
  return { jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root: r };
}

describe('result commitments', () => {
  it("digests a unit's inputs: every input parameter matters, the ids and field order do not", () => {
    const d = unitInputDigest(matmul);
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    for (const change of [{ seed: 43 }, { m: 8 }, { n: 12 }, { k: 6 }, { p: 65519 }, { kernel: Kernel.MatmulF32 }] as const) {
      expect(unitInputDigest({ ...matmul, ...change } as MatmulUnit), JSON.stringify(change)).not.toBe(d);
    }
    // m and n swapped is a different problem.
    expect(unitInputDigest({ ...matmul, m: 13, n: 7 })).not.toBe(d);
    expect(unitInputDigest({ ...matmul, jobId: 'job-2', unitId: 'u-9' })).toBe(d);
    const { p, k, n, m, seed, unitId, jobId, kernel } = matmul;
    expect(unitInputDigest({ p, k, n, m, seed, unitId, jobId, kernel })).toBe(d);
    const s = unitInputDigest(sha);
    for (const change of [{ seed: 1 }, { count: 101 }, { messageLength: 65 }]) {
      expect(unitInputDigest({ ...sha, ...change })).not.toBe(s);
    }
    expect(() => unitInputDigest({ ...sha, seed: NaN })).toThrow(/seed/);
  });

  it('encodes fields unambiguously: moving text between fields changes the bytes', () => {
    const f = fields(matmul);
    const text = (g: CommitmentFields) => new TextDecoder().decode(commitmentBytes(g));
    const a = text({ ...f, jobId: 'ab', unitId: 'c' });
    const b = text({ ...f, jobId: 'a', unitId: 'bc' });
    const c = text({ ...f, jobId: 'a","b', unitId: 'c' });
    expect(new Set([a, b, c]).size).toBe(3);
    expect(() => commitmentBytes({ ...f, root: 'AB'.repeat(32) })).toThrow(/root/);
    expect(() => commitmentBytes({ ...f, inputDigest: 'ab' })).toThrow(/inputDigest/);
  });
});
