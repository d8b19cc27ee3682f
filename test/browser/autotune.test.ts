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
    const first = await tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'test', cache, size: 64, candidates, repeats: 1 });
    expect(first.cached).toBe(false);
    expect(first.timings.map((t) => t.config)).toEqual(candidates.map(configKey));
    const fastest = first.timings.reduce((x, y) => (y.ms < x.ms ? y : x));
    expect(configKey(first.config)).toBe(fastest.config);
    const again = await tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'test', cache, size: 64, candidates });
    expect(again).toMatchObject({ cached: true, timings: [] });
    expect(again.config).toEqual(first.config);
    // Another adapter, or another kernel, is tuned separately.
    expect(await cache.get('matmul-f32@other')).toBeUndefined();
  });

  it('never offers the f32-only vec4 kernel to modp', async () => {
    const result = await tuneMatmul(new MatmulGpu(devices), MatmulKind.Modp, {
      adapterKey: 'test',
      cache: new MemoryTuneCache(),
      size: 32,
      candidates,
      repeats: 1,
    });
    expect(result.timings.map((t) => t.config)).toEqual([configKey(candidates[0]!)]);
  });
});
