import { afterAll, describe, expect, it } from 'vitest';
import { MemoryTuneCache } from '../../src/gpu/tune-cache';
import { tuneMatmul } from '../../src/kernels/matmul/autotune';
import { GpuDevices } from '../../src/gpu/device';
import { MatmulGpu, MatmulKind, configKey, type MatmulConfig } from '../../src/kernels/matmul/gpu';

const devices = new GpuDevices();
afterAll(() => devices.destroy());

describe('matmul autotuning', () => {
  const candidates: MatmulConfig[] = [
    { wgX: 8, wgY: 8, tm: 2, tn: 2, tileK: 8 },
    { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16, vec4: true },
  ];

  it('times every candidate, keeps the fastest, and answers from the cache next time', async () => {
    const gpu = new MatmulGpu(devices);
    const cache = new MemoryTuneCache();
    const shape = { m: 64, n: 64, k: 64 };
    const first = await tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'test', cache, shape, candidates, repeats: 1, budgetMs: 200 });
    expect(first.cached).toBe(false);
    expect(first.timings.map((t) => t.config)).toEqual(candidates.map(configKey));
    expect(first.timings.every((t) => t.ms > 0)).toBe(true);
    const fastest = first.timings.reduce((x, y) => (y.ms < x.ms ? y : x));
    expect(configKey(first.config)).toBe(fastest.config);
    const again = await tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'test', cache, shape, candidates });
    expect(again).toMatchObject({ cached: true, timings: [] });
    expect(again.config).toEqual(first.config);
    // Another adapter, kernel or shape class is tuned separately.
    expect(await cache.get(first.key)).toEqual(first.config);
    expect(await cache.get(first.key.replace('@test', '@other'))).toBeUndefined();
    expect(await cache.get(first.key.replace('64x64x64', '128x64x64'))).toBeUndefined();
  });

  it('never offers the f32-only vec4 kernel to modp', async () => {
    const result = await tuneMatmul(new MatmulGpu(devices), MatmulKind.Modp, {
      adapterKey: 'test',
      cache: new MemoryTuneCache(),
      shape: { m: 32, n: 32, k: 32 },
      budgetMs: 100,
      candidates,
      repeats: 1,
    });
    expect(result.timings.map((t) => t.config)).toEqual([configKey(candidates[0]!)]);
  });
});
