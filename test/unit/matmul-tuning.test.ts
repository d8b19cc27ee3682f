/**
 * The tuner's logic without a GPU: which timestamps are believed, which candidate wins on a
 * given measurement, how shapes fall into classes, and which tiles a device's limits admit.
 * (The timer itself is tested on real devices: matmul-tuning-dawn.test.ts, browser/kernel-timer.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, TabgridError } from '../../src/errors';
import { TimingMethod, judgeTimestamps } from '../../src/gpu/kernel-timer';
import { MemoryTuneCache, tuneKey } from '../../src/gpu/tune-cache';
import { pickFastest, tuneMatmul } from '../../src/kernels/matmul/autotune';
import { DEFAULT_COMPUTE_LIMITS, MatmulGpu, MatmulKind, configKey, configProblem, type MatmulConfig } from '../../src/kernels/matmul/gpu';
import { GpuDevices } from '../../src/gpu/device';
import { MATMUL_CANDIDATES, candidatesFor, shapeClass, shapeClassKey } from '../../src/kernels/matmul/tile-space';

const stamps = (...ns: number[]) => BigUint64Array.from(ns.map(BigInt));

describe('judgeTimestamps', () => {
  it('believes ordered, non-zero timestamps and reports the median dispatch', () => {
    const t = judgeTimestamps(stamps(1_000_000, 3_000_000, 3_000_000, 4_000_000, 5_000_000, 9_000_000), 20);
    expect(t).toEqual({ ms: 2, minMs: 1, method: TimingMethod.Timestamp, samples: [2, 1, 4] });
  });

  it('refuses zeros, reversed or overlapping dispatches, and totals longer than the wall clock, as garbage', () => {
    for (const [s, wall] of [
      [stamps(0, 0, 0, 0), 5],
      [stamps(5_000_000, 4_000_000), 5],
      [stamps(1_000_000, 3_000_000, 2_000_000, 4_000_000), 5],
      [stamps(1, 1_000_000_001), 5], // claims a second in a 5 ms submission
    ] as const) {
      expect(judgeTimestamps(s, wall)).toMatchObject({ garbage: true });
    }
  });

  it('calls work shorter than the clock resolution too short, not garbage', () => {
    expect(judgeTimestamps(stamps(100_000, 100_000, 100_000, 100_000), 1)).toMatchObject({ garbage: false });
  });
});

describe('pickFastest', () => {
  const configs: MatmulConfig[] = MATMUL_CANDIDATES.slice(0, 4);
  const fakeTimes = [3, 1.5, 2, 1.5]; // a tie between 1 and 3: the earlier wins

  it('keeps the candidate with the least kernel time, in candidate order on a tie, resting after each', async () => {
    const rests: number[] = [];
    const measured: string[] = [];
    const result = await pickFastest(
      configs,
      async (config) => {
        measured.push(configKey(config));
        return { ms: fakeTimes[configs.indexOf(config)]!, method: TimingMethod.Timestamp };
      },
      { pace: { rest: async (ms) => void rests.push(ms) } },
    );
    expect(result.config).toBe(configs[1]);
    expect(result.timings.map((t) => t.ms)).toEqual(fakeTimes);
    // Each once, then the three fastest again, fastest first.
    expect(measured).toEqual([...configs, configs[1]!, configs[3]!, configs[2]!].map(configKey));
    expect(rests).toHaveLength(measured.length);
  });

  it('lets a second, faster measurement of a finalist overturn the first round', async () => {
    const rounds = new Map<MatmulConfig, number[]>([
      [configs[0]!, [3]],
      [configs[1]!, [1.5, 1.4]],
      [configs[2]!, [2, 1.2]], // slowed down by interference the first time
      [configs[3]!, [1.6, 1.6]],
    ]);
    const result = await pickFastest(configs, async (config) => ({ ms: rounds.get(config)!.shift()!, method: TimingMethod.Timestamp }));
    expect(result.config).toBe(configs[2]);
    expect(result.timings.map((t) => t.ms)).toEqual([3, 1.4, 1.2, 1.6]);
  });

  it('skips a candidate that fails with a GPU error, and stops on anything else', async () => {
    const gpuError = new TabgridError(ErrorCode.GpuError, 'cannot compile');
    const skipped = await pickFastest(configs, async (config) => {
      if (config === configs[1]) throw gpuError;
      return { ms: fakeTimes[configs.indexOf(config)]!, method: TimingMethod.Resident };
    });
    expect(skipped.config).toBe(configs[3]);
    expect(skipped.failed).toEqual([{ config: configKey(configs[1]!), error: 'cannot compile' }]);
    expect(skipped.timings.map((t) => t.config)).toEqual([0, 2, 3].map((i) => configKey(configs[i]!)));
    await expect(pickFastest(configs, () => Promise.reject(gpuError))).rejects.toMatchObject({ code: ErrorCode.GpuError });
    const lost = new TabgridError(ErrorCode.DeviceLost, 'gone');
    await expect(pickFastest(configs, () => Promise.reject(lost))).rejects.toBe(lost);
  });

  it('stops between candidates when aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = pickFastest(
      configs,
      async () => {
        calls++;
        controller.abort();
        return { ms: 1, method: TimingMethod.Timestamp };
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(calls).toBe(1);
  });
});

describe('shape classes and the tile space', () => {
  it('rounds each side up to a power of two (at least 16) and keys by class and vec4-ability', () => {
    expect(shapeClass({ m: 1000, n: 1024, k: 1025 })).toEqual({ m: 1024, n: 1024, k: 2048, vec4: false });
    expect(shapeClassKey(shapeClass({ m: 3, n: 4, k: 8 }))).toBe('16x16x16');
    expect(shapeClassKey(shapeClass({ m: 513, n: 1000, k: 1000 }))).toBe('1024x1024x1024');
    expect(shapeClassKey(shapeClass({ m: 513, n: 1001, k: 1000 }))).toBe('1024x1024x1024/scalar');
    expect(tuneKey('matmul-f32', 'nvidia/hopper/H200', '1024x1024x1024')).toBe('v2/matmul-f32@nvidia/hopper/H200/1024x1024x1024');
  });

  it('offers vec4 tiles to f32 on whole-vec4 classes only, and only tiles within the limits', () => {
    const vec4 = shapeClass({ m: 64, n: 64, k: 64 });
    const f32 = candidatesFor(MatmulKind.F32, vec4, DEFAULT_COMPUTE_LIMITS);
    expect(f32.some((c) => c.vec4 && c.tm === 8 && c.tn === 8)).toBe(true);
    expect(f32.every((c) => configProblem(c) === undefined)).toBe(true);
    expect(candidatesFor(MatmulKind.F32, shapeClass({ m: 64, n: 63, k: 64 }), DEFAULT_COMPUTE_LIMITS).some((c) => c.vec4)).toBe(false);
    expect(candidatesFor(MatmulKind.Modp, vec4, DEFAULT_COMPUTE_LIMITS).some((c) => c.vec4)).toBe(false);
    // A big GPU's limits admit the 32 KiB and 512-invocation tiles the defaults refuse.
    const big = {
      ...DEFAULT_COMPUTE_LIMITS,
      maxComputeWorkgroupStorageSize: 49152,
      maxComputeInvocationsPerWorkgroup: 1024,
      maxComputeWorkgroupSizeX: 1024,
      maxComputeWorkgroupSizeY: 1024,
    };
    const extra = candidatesFor(MatmulKind.F32, vec4, big).filter((c) => !f32.includes(c));
    expect(extra.map(configKey)).toEqual(['16x16/vec4/8x8/k32', '32x16/vec4/4x8/k16', '32x16/4x4/k8']);
    expect(configProblem({ wgX: 16, wgY: 16, tm: 8, tn: 8, tileK: 16 })).toMatch(/scalar/);
    expect(configProblem({ wgX: 16, wgY: 16, tm: 8, tn: 6, tileK: 16, vec4: true })).toMatch(/4 or 8 columns/);
  });

  it('answers from the cache by shape class without touching a GPU', async () => {
    const cache = new MemoryTuneCache();
    const stored: MatmulConfig = { wgX: 16, wgY: 16, tm: 8, tn: 8, tileK: 8, vec4: true };
    await cache.set(tuneKey('matmul-f32', 'a', '512x1024x1024'), stored);
    // No adapter at all: a miss would fail, a hit never asks for the device.
    const gpu = new MatmulGpu(new GpuDevices({}, () => undefined));
    const hit = await tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'a', cache, shape: { m: 300, n: 1000, k: 1024 } });
    expect(hit).toMatchObject({ cached: true, config: stored });
    await expect(tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'a', cache, shape: { m: 300, n: 1000, k: 1025 } })).rejects.toMatchObject({
      code: ErrorCode.NoWebGpu,
    });
    await expect(tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'b', cache, shape: { m: 300, n: 1000, k: 1024 } })).rejects.toMatchObject({
      code: ErrorCode.NoWebGpu,
    });
  });
});
