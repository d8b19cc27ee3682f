import { describe, expect, it } from 'vitest';
import { Kernel, type MatmulUnit, type Sha256BatchUnit } from '../../src/protocol';
import { commitmentBytes, signCommitment, unitInputDigest, verifyCommitment, type CommitmentFields } from '../../src/proof/commitment';
import { createKeyPair, identityFromKeyPair } from '../../src/proof/identity';

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

  it("accepts the signer's commitment and rejects forged, foreign and replayed signatures", async () => {
    const me = await identityFromKeyPair(await createKeyPair());
    const other = await identityFromKeyPair(await createKeyPair());
    const f = fields(matmul);
    const sig = await signCommitment(me, f);
    expect(await verifyCommitment(me.publicKey, f, sig)).toBe(true);

    // Forged: a signature nobody made, and a flipped bit of a real one.
    expect(await verifyCommitment(me.publicKey, f, '11'.repeat(64))).toBe(false);
    expect(await verifyCommitment(me.publicKey, f, (sig[0] === '0' ? '1' : '0') + sig.slice(1))).toBe(false);
    // Another key's signature of the same fields, checked against mine, and mine against theirs.
    const theirs = await signCommitment(other, f);
    expect(await verifyCommitment(me.publicKey, f, theirs)).toBe(false);
    expect(await verifyCommitment(other.publicKey, f, sig)).toBe(false);
    // Replayed for another unit, job, root, kernel or input.
    const replays: CommitmentFields[] = [
      { ...f, unitId: 'u-2' },
      { ...f, jobId: 'job-2' },
      { ...f, root: 'cd'.repeat(32) },
      { ...f, kernel: Kernel.MatmulF32 },
      { ...f, inputDigest: unitInputDigest({ ...matmul, seed: 43 }) },
    ];
    for (const replay of replays) expect(await verifyCommitment(me.publicKey, replay, sig), JSON.stringify(replay)).toBe(false);
    // Malformed fields answer false rather than throw.
    expect(await verifyCommitment(me.publicKey, { ...f, root: 'xyz' }, sig)).toBe(false);
  });
});
