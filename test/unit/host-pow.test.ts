import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { fromHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import { jobUnit, parseJob, type JobSpec, type PowJobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { checkPowResult, poissonLowerTail, sharesRoot, targetProbability } from '../../src/kernels/sha256d-pow/recheck';
import { powSearchCpuFast, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';
import { encodeMessage, type HostMessage, type PowUnit, type VolunteerMessage } from '../../src/protocol';
import { parseHostMessage } from '../../src/validate';
import { seededRandom } from '../../src/work/seeded';
import { greetAs, newIdentity, resultOf } from '../helpers/signing';

// 4096 nonces per unit with 6-bit shares: 64 shares expected, so each unit is quick on the CPU.
const job: PowJobSpec = { id: 'pow', kernel: 'sha256d-pow', units: 20, seed: 7, noncesPerUnit: 4096, shareBits: 6, targetBits: 11 };
let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

async function honestShares(unit: PowUnit, from = unit.nonceStart, count = unit.nonceCount): Promise<number[]> {
  return (await powSearchCpuFast(fromHex(unit.header)!, from, count, fromHex(unit.target)!, fromHex(unit.shareTarget)!)).shares;
}

async function host(spec: JobSpec = job) {
  const core = await HostCore.open(new MemoryHostStore(), [spec], { hostId: 'h', hash, identity: await newIdentity(), random: seededRandom(3), maxLeases: 1 });
  const say = async (m: VolunteerMessage): Promise<HostMessage[]> => (await core.handle('v', encodeMessage(m))).map((r) => parseHostMessage(encodeMessage(r)));
  const me = await newIdentity();
  await greetAs(core, 'v', me);
  const lease = async (): Promise<PowUnit> => {
    const [reply] = await say({ type: 'request-unit', id: 1, holding: [] });
    if (reply?.type !== 'unit' || reply.unit.kernel !== 'sha256d-pow') throw new Error(`expected a pow unit, got ${JSON.stringify(reply)}`);
    return reply.unit;
  };
  const submit = async (unit: PowUnit, shares: number[], root = sharesRoot(shares, hash)) => (await say(await resultOf(me, unit, root, { shares })))[0]!;
  return { core, say, lease, submit, me };
}

describe('proof-of-work jobs', () => {
  it('validates the job file', () => {
    expect(() => parseJob(job)).not.toThrow();
    const bad = (over: Record<string, unknown>, pattern: RegExp) => expect(() => parseJob({ ...job, ...over })).toThrow(pattern);
    bad({ header: 'ab' }, /160 lower-case hex/);
    bad({ samples: 4 }, /samples does not apply/);
    bad({ shareBits: 12, targetBits: 12 }, /expected shares per unit/); // 1 expected share: too few to test a skip
    bad({ noncesPerUnit: 2 ** 20 }, /expected shares per unit/); // 16384: more than a result holds
    bad({ targetBits: 5 }, /at least shareBits/);
    bad({ units: 2 ** 19 + 1, nonceStart: 2 ** 31 }, /end at or before 2\^32/);
  });

  it('cuts the nonce space into consecutive ranges of one header', () => {
    const units = [0, 1, 2].map((i) => jobUnit(job, i) as PowUnit);
    expect(units.map((u) => u.nonceStart)).toEqual([0, 4096, 8192]);
    expect(new Set(units.map((u) => u.header)).size).toBe(1);
    expect(units[0]!.header).toMatch(/^[0-9a-f]{160}$/);
    expect(fromHex(units[0]!.shareTarget)).toEqual(targetFromLeadingZeroBits(6));
  });

  it('accepts honest results, keeps their solutions, and credits three compressions per nonce', async () => {
    const { core, lease, submit } = await host({ ...job, units: 4 });
    let solutions = 0;
    for (let i = 0; i < 4; i++) {
      const unit = await lease();
      const shares = await honestShares(unit);
      const verdict = await submit(unit, shares);
      expect(verdict).toMatchObject({ type: 'verdict', verdict: 'accepted', credit: 3 * 4096, receipt: { root: sharesRoot(shares, hash) } });
      const found = (await powSearchCpuFast(fromHex(unit.header)!, unit.nonceStart, unit.nonceCount, fromHex(unit.target)!, fromHex(unit.shareTarget)!))
        .solutions;
      expect(core.results().at(-1)).toMatchObject({ unitId: unit.unitId, solutions: found });
      solutions += found.length;
    }
    expect(core.done).toBe(true);
    // 11-bit solutions over 16384 nonces: 8 expected; none at all would mean they are not kept.
    expect(solutions).toBeGreaterThan(0);
  });

  it('rejects a wrong root, a forged share, a share out of range and a missing share list', async () => {
    // A rejected unit never goes back to the same volunteer, so each case leases a fresh unit.
    const { core, lease, submit, say, me } = await host({ ...job, units: 4 });
    const reason = (m: HostMessage) => (m.type === 'verdict' ? `${m.verdict}: ${m.reason}` : JSON.stringify(m));
    const next = async () => {
      const unit = await lease();
      return { unit, shares: await honestShares(unit) };
    };
    let { unit, shares } = await next();
    expect(reason(await submit(unit, shares, sharesRoot(shares.slice(1), hash)))).toMatch(/rejected: the root is not the Merkle root/);
    ({ unit, shares } = await next());
    expect(reason(await submit(unit, [...shares.slice(0, -1), shares.at(-1)! + 1]))).toMatch(/rejected: nonce \d+ is not a share/);
    ({ unit, shares } = await next());
    expect(reason(await submit(unit, [...shares, unit.nonceStart + unit.nonceCount]))).toMatch(/rejected: share \d+ is outside the range/);
    unit = await lease();
    expect(reason((await say(await resultOf(me, unit, sharesRoot([], hash))))[0]!)).toMatch(/rejected: .*must list its shares/);
    expect(core.progress()).toMatchObject({ queued: 4, accepted: 0 });
    expect(core.volunteer(me.id)).toMatchObject({ rejected: 4, credit: 0 });
  });

  it('refuses unsorted or repeated shares at the validator, naming the unit', async () => {
    const { lease, submit } = await host({ ...job, units: 1 });
    const unit = await lease();
    const shares = await honestShares(unit);
    expect(await submit(unit, [shares[1]!, shares[0]!, ...shares.slice(2)])).toMatchObject({
      type: 'error',
      code: 'bad-message',
      message: expect.stringMatching(/strictly ascending/),
    });
    expect(await submit(unit, [shares[0]!, ...shares])).toMatchObject({ type: 'error', code: 'bad-message' });
    // The unit is still leased and takes the honest result.
    expect(await submit(unit, shares)).toMatchObject({ verdict: 'accepted' });
  });

  it('catches a volunteer that searched half of its range, and passes every honest one', async () => {
    // 256 shares expected per unit: the test rejects counts ≤ 165, and half a range expects 128.
    const big = { ...job, noncesPerUnit: 16384 };
    let caught = 0;
    let passed = 0;
    for (let i = 0; i < big.units; i++) {
      const unit = jobUnit(big, i) as PowUnit;
      const all = await honestShares(unit);
      if (!checkPowResult(unit, sharesRoot(all, hash), all, hash).failure) passed++;
      const lazy = await honestShares(unit, unit.nonceStart, unit.nonceCount / 2);
      if (checkPowResult(unit, sharesRoot(lazy, hash), lazy, hash).failure?.match(/not searched/)) caught++;
    }
    expect(passed).toBe(big.units);
    expect(caught).toBe(big.units);
  });

  it('computes the Poisson lower tail and target probabilities', () => {
    expect(poissonLowerTail(0, 3)).toBeCloseTo(Math.exp(-3), 15);
    expect(poissonLowerTail(2, 1)).toBeCloseTo(2.5 * Math.exp(-1), 15);
    expect(poissonLowerTail(-1, 1)).toBe(0);
    // Far tails stay finite and tiny; the median is near one half.
    expect(poissonLowerTail(16, 64)).toBeLessThan(1e-9);
    expect(poissonLowerTail(64, 64)).toBeCloseTo(0.533, 2);
    expect(targetProbability(targetFromLeadingZeroBits(6))).toBeCloseTo(2 ** -6, 12);
    expect(targetProbability(targetFromLeadingZeroBits(0))).toBe(1);
  });
});
