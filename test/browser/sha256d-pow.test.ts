import { describe, expect, it } from 'vitest';
import { gpuSuite } from '../helpers/gpu-suite';
import { ErrorCode } from '../../src/errors';
import { fromHex } from '../../src/hex';
import { Sha256dPowGpu, type PowGpuResult, type Sha256dPowGpuOptions } from '../../src/kernels/sha256d-pow/gpu';
import type { RunOptions } from '../../src/gpu/run';
import { powSearchCpu, powSearchCpuFast, sha256d, targetFromBits, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';
import { seededRandom } from '../../src/work/seeded';

const POISON = 0xdeadbeef;
const GENESIS_HEADER = fromHex(
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
)!;
const GENESIS_NONCE = 2083236893;

const { devices, scoped } = gpuSuite();

function randomHeader(seed: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: 80 }, () => Math.floor(random() * 256));
}

interface Search {
  readonly header: Uint8Array;
  readonly start: number;
  readonly count: number;
  readonly target: Uint8Array;
  readonly shareTarget: Uint8Array;
}

/** Runs the kernel inside the test's own validation scope: any GPU error fails the test. */
async function gpuSearch(s: Search, options: Sha256dPowGpuOptions = {}, run: RunOptions = {}): Promise<PowGpuResult> {
  const gpu = new Sha256dPowGpu(devices, { poisonOutput: POISON, ...options });
  return scoped(() => gpu.search(s.header, s.start, s.count, s.target, s.shareTarget, run));
}

const cpuSearch = (s: Search) => powSearchCpu(s.header, s.start, s.count, s.target, s.shareTarget);

describe('sha256d-pow kernel (shader.ts)', () => {
  it('equals the CPU reference on random headers and awkward ranges, poisoned output', async () => {
    const shareTarget = targetFromLeadingZeroBits(8);
    const target = targetFromLeadingZeroBits(12);
    const searches: Search[] = [
      { header: randomHeader(1), start: 0, count: 20_000, target, shareTarget },
      { header: randomHeader(2), start: 2 ** 32 - 777, count: 777, target, shareTarget }, // ends at 2^32
      { header: randomHeader(3), start: 0x7fffe001, count: 9_999, target, shareTarget }, // crosses 2^31
      { header: randomHeader(4), start: 31_337, count: 1, target: shareTarget, shareTarget },
    ];
    let shares = 0;
    let solutions = 0;
    for (const s of searches) {
      const gpu = await gpuSearch(s, { workgroupSize: 64 });
      const cpu = cpuSearch(s);
      expect(gpu, `range ${s.start}+${s.count}`).toEqual({ ...cpu, overflowed: 0 });
      shares += cpu.shares.length;
      solutions += cpu.solutions.length;
    }
    // The comparison covered real shares and solutions, not just empty lists.
    expect(shares).toBeGreaterThan(100);
    expect(solutions).toBeGreaterThan(2);
  });

  it('finds the genesis nonce as the one solution of a range crossing it', async () => {
    const s = {
      header: GENESIS_HEADER,
      start: GENESIS_NONCE - 12_345,
      count: 30_001,
      target: targetFromBits(0x1d00ffff),
      shareTarget: targetFromLeadingZeroBits(10),
    };
    const gpu = await gpuSearch(s, { workgroupSize: 256 });
    expect(gpu.solutions).toEqual([GENESIS_NONCE]);
    expect(gpu).toEqual({ ...(await powSearchCpuFast(s.header, s.start, s.count, s.target, s.shareTarget)), overflowed: 0 });
    // A hash equal to the share target meets it: with the genesis hash as both targets, only
    // the genesis nonce does.
    const exact = sha256d(GENESIS_HEADER);
    const tight = await gpuSearch({ ...s, start: GENESIS_NONCE - 500, count: 1000, target: exact, shareTarget: exact });
    expect(tight).toEqual({ shares: [GENESIS_NONCE], solutions: [GENESIS_NONCE], searched: 1000, overflowed: 0 });
  });

  it('several nonces per invocation and odd workgroups find exactly the CPU nonces', async () => {
    const s = {
      header: randomHeader(9),
      start: 2 ** 32 - 6007,
      count: 6007,
      target: targetFromLeadingZeroBits(10),
      shareTarget: targetFromLeadingZeroBits(6),
    };
    const cpu = cpuSearch(s);
    expect(cpu.shares.length).toBeGreaterThan(50);
    for (const [noncesPerInvocation, workgroupSize] of [
      [3, 24],
      [4, 64],
    ] as const) {
      // Small dispatches: each covers a partial last workgroup and a partial last round of nonces.
      const gpu = await gpuSearch(s, { noncesPerInvocation, workgroupSize, maxNoncesPerDispatch: 4001, initialNoncesPerDispatch: 4001 });
      expect(gpu, `${noncesPerInvocation} per invocation, workgroups of ${workgroupSize}`).toEqual({ ...cpu, overflowed: 0 });
    }
  });

  it('a hash whose top word ties the share target is decided by the words below (the early exit lets it through)', async () => {
    // One below the genesis hash (a little-endian integer): same top word, so the kernel cannot
    // decide after round 60 and must compare the rest, which says no.
    const below = sha256d(GENESIS_HEADER);
    let i = 0;
    while (below[i] === 0) below[i++] = 0xff;
    below[i]! -= 1;
    const s = { header: GENESIS_HEADER, start: GENESIS_NONCE - 100, count: 200, target: below, shareTarget: below };
    expect(await gpuSearch(s)).toEqual({ ...cpuSearch(s), overflowed: 0 });
    expect(cpuSearch(s).shares).toEqual([]);
  });

  it('splits a range into many odd dispatches, every nonce tried once, progress to the end', async () => {
    // 50_001 nonces, at most 997 per dispatch in workgroups of 8: the last workgroup of each
    // dispatch is partly idle and the last dispatch is short.
    const s = {
      header: randomHeader(5),
      start: 4_000_000_000,
      count: 50_001,
      target: targetFromLeadingZeroBits(10),
      shareTarget: targetFromLeadingZeroBits(6),
    };
    const progress: number[] = [];
    const gpu = await gpuSearch(
      s,
      { workgroupSize: 8, maxNoncesPerDispatch: 997, initialNoncesPerDispatch: 997 },
      { onProgress: (done) => progress.push(done) },
    );
    expect(gpu).toEqual({ ...(await powSearchCpuFast(s.header, s.start, s.count, s.target, s.shareTarget)), overflowed: 0 });
    expect(gpu.shares.length).toBeGreaterThan(500);
    expect(progress.length).toBeGreaterThanOrEqual(Math.ceil(s.count / 997));
    expect(progress.every((p, i) => p > (progress[i - 1] ?? 0) && p - (progress[i - 1] ?? 0) <= 997)).toBe(true);
    expect(progress.at(-1)).toBe(s.count);
  });

  it('with every nonce a share, reports each nonce of the range exactly once', async () => {
    const s = { header: randomHeader(8), start: 2 ** 32 - 3001, count: 3001, target: targetFromLeadingZeroBits(8), shareTarget: targetFromLeadingZeroBits(0) };
    const gpu = await gpuSearch(s, { workgroupSize: 8, maxNoncesPerDispatch: 997, initialNoncesPerDispatch: 997, shareCapacity: 3001 });
    expect(gpu.shares).toEqual(Array.from({ length: s.count }, (_, i) => s.start + i));
    expect(gpu).toEqual({ ...cpuSearch(s), overflowed: 0 });
    // An empty range runs no dispatch and finds nothing.
    expect(await gpuSearch({ ...s, start: 2 ** 32, count: 0 })).toEqual({ shares: [], solutions: [], searched: 0, overflowed: 0 });
  });

  it('reports the shares past a tiny capacity as overflow', async () => {
    // About a quarter of the nonces are shares: far more than the 5 slots.
    const s = { header: randomHeader(6), start: 1000, count: 2000, target: targetFromLeadingZeroBits(6), shareTarget: targetFromLeadingZeroBits(2) };
    const cpu = cpuSearch(s);
    const gpu = await gpuSearch(s, { shareCapacity: 5, maxNoncesPerDispatch: 512, initialNoncesPerDispatch: 512 });
    expect(gpu.shares).toHaveLength(5);
    expect(gpu.overflowed).toBe(cpu.shares.length - 5);
    expect(gpu.shares.every((n) => cpu.shares.includes(n))).toBe(true);
    expect(gpu.solutions).toEqual(gpu.shares.filter((n) => cpu.solutions.includes(n)));
    // Exactly full is not an overflow.
    const exact = await gpuSearch(s, { shareCapacity: cpu.shares.length });
    expect(exact).toEqual({ ...cpu, overflowed: 0 });
  });

  it('stops between dispatches when aborted, with the aborted code', async () => {
    const s = { header: randomHeader(7), start: 0, count: 100_000, target: targetFromLeadingZeroBits(20), shareTarget: targetFromLeadingZeroBits(16) };
    const gpu = new Sha256dPowGpu(devices, { maxNoncesPerDispatch: 1024, initialNoncesPerDispatch: 1024 });
    const controller = new AbortController();
    let dispatches = 0;
    const run = gpu.search(s.header, s.start, s.count, s.target, s.shareTarget, {
      signal: controller.signal,
      onProgress: () => {
        if (++dispatches === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(dispatches).toBe(2);
    const before = new AbortController();
    before.abort();
    await expect(gpu.search(s.header, 0, 10, s.target, s.shareTarget, { signal: before.signal })).rejects.toMatchObject({ code: ErrorCode.Aborted });
  });

  it('refuses bad input before touching the GPU', async () => {
    const gpu = new Sha256dPowGpu(devices);
    const t = targetFromLeadingZeroBits(20);
    const easy = targetFromLeadingZeroBits(8);
    const header = new Uint8Array(80);
    const badInput = { code: ErrorCode.BadInput };
    await expect(gpu.search(new Uint8Array(79), 0, 1, t, easy)).rejects.toMatchObject(badInput);
    await expect(gpu.search(header, 0, 1, new Uint8Array(16), easy)).rejects.toMatchObject(badInput);
    await expect(gpu.search(header, 2 ** 32 - 1, 2, t, easy)).rejects.toMatchObject(badInput);
    await expect(gpu.search(header, 0, 1, easy, t)).rejects.toMatchObject(badInput);
    expect(() => new Sha256dPowGpu(devices, { workgroupSize: 1, noncesPerInvocation: 1, maxNoncesPerDispatch: 70_000 })).toThrow(/workgroups/);
    expect(() => new Sha256dPowGpu(devices, { workgroupSize: 1, noncesPerInvocation: 4, maxNoncesPerDispatch: 4 * 65_536 })).toThrow(/workgroups/);
    expect(() => new Sha256dPowGpu(devices, { shareCapacity: 0 })).toThrow(expect.objectContaining(badInput));
    expect(() => new Sha256dPowGpu(devices, { noncesPerInvocation: 0 })).toThrow(expect.objectContaining(badInput));
    expect(() => new Sha256dPowGpu(devices, { noncesPerInvocation: 1.5 })).toThrow(expect.objectContaining(badInput));
  });
});
