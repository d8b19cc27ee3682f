/**
 * Kernel-time tuning on a real WebGPU implementation outside the browser: Dawn in Node on
 * lavapipe (a software Vulkan that offers timestamp-query). Skipped, with the reason, where
 * Dawn finds no Vulkan adapter.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { GpuDevices } from '../../src/gpu/device';
import { KernelTimer, TimingMethod, type TimeOptions } from '../../src/gpu/kernel-timer';
import { MemoryTuneCache } from '../../src/gpu/tune-cache';
import { tuneMatmul } from '../../src/kernels/matmul/autotune';
import { MatmulGpu, MatmulKind, configKey, type MatmulConfig } from '../../src/kernels/matmul/gpu';
import { f32ErrorBound, matmulF32Ref, matmulModpRef, maxAbs, type MatmulShape } from '../../src/kernels/matmul/matmul';
import { MATMUL_CANDIDATES, candidatesFor, shapeClass } from '../../src/kernels/matmul/tile-space';
import { TileBench } from '../../src/kernels/matmul/tile-timing';
import { seededRandom } from '../../src/work/seeded';
import { gpuSuite } from '../helpers/gpu-suite';
import { dawnGpu } from '../helpers/dawn-device';

const dawn = await dawnGpu();
const skip = 'skip' in dawn ? dawn.skip : undefined;
if (skip) console.warn(`matmul-tuning-dawn: skipped: ${skip}`);
const { devices, scoped } = gpuSuite(() => ('gpu' in dawn ? dawn.gpu : undefined));
const gpu = new MatmulGpu(devices);

const POISON = 0x7fc0dead;

// Generous timeouts: lavapipe shares this machine's CPUs with everything else running.
describe.skipIf(skip !== undefined)('Dawn on lavapipe: kernel timer, wide tiles, tuner', { timeout: 60_000 }, () => {
  it('requests timestamp-query, and a 4× bigger dispatch measures longer by timestamps and by resident timing', async () => {
    const device = await devices.acquire();
    expect(device.features.has('timestamp-query')).toBe(true);
    const config: MatmulConfig = { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16, vec4: true };
    const small = await TileBench.open(gpu, MatmulKind.F32, { m: 256, n: 256, k: 128 });
    const big = await TileBench.open(gpu, MatmulKind.F32, { m: 256, n: 256, k: 512 });
    try {
      // The least of three timings: other work on this machine (lavapipe runs on its CPUs) only adds time.
      const least = async (bench: TileBench, options: TimeOptions) => {
        const timings = [];
        for (let i = 0; i < 3; i++) timings.push(await bench.time(config, options));
        expect(timings.every((t) => t.method === (options.method ?? TimingMethod.Timestamp) && t.minMs > 0)).toBe(true);
        return Math.min(...timings.map((t) => t.minMs));
      };
      for (const method of [TimingMethod.Timestamp, TimingMethod.Resident]) {
        const s = await least(small, { method, repeats: 3 });
        const b = await least(big, { method, repeats: 3 });
        expect(b / s, `${method}: ${b} ms vs ${s} ms`).toBeGreaterThan(2);
      }
      // Four dispatches per timed pass: the pass's share per dispatch, about one dispatch's time.
      const one = await least(big, { repeats: 2 });
      const shared = await least(big, { repeats: 2, dispatchesPerPass: 4 });
      expect(shared / one, `${shared} ms vs ${one} ms`).toBeGreaterThan(0.5);
      expect(shared / one).toBeLessThan(2);
      // The default on this device is timestamps, and they proved sound.
      expect((await small.time(config)).method).toBe(TimingMethod.Timestamp);
      expect(small.timer.refusal).toBeUndefined();
    } finally {
      small.destroy();
      big.destroy();
    }
  });

  it('refuses a bad repeat or per-pass count', async () => {
    const timer = new KernelTimer(await devices.acquire());
    await expect(timer.time(() => undefined, { repeats: 0 })).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(timer.time(() => undefined, { dispatchesPerPass: 65 })).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });

  // Every candidate this device admits, wide vec4 blocks included, against the reference.
  const F32_SHAPES: MatmulShape[] = [
    { m: 257, n: 132, k: 36 }, // ragged against every tile, whole vec4s
    { m: 7, n: 13, k: 5 }, // not whole vec4s: the scalar fallback of a vec4 configuration
  ];
  it('runs every tile candidate that fits the device within the f32 bound, poisoned output, odd sizes', async () => {
    const device = await devices.acquire();
    const configs = candidatesFor(MatmulKind.F32, shapeClass({ m: 64, n: 64, k: 64 }), device.limits);
    expect(configs.length).toBeGreaterThan(10);
    const random = seededRandom(15);
    for (const config of configs) {
      for (const shape of F32_SHAPES) {
        const a = Float32Array.from({ length: shape.m * shape.k }, () => (random() * 2 - 1) * 30);
        const b = Float32Array.from({ length: shape.k * shape.n }, () => random() * 2 - 1);
        const c = await scoped(() => gpu.f32(a, b, shape, config, { poisonOutput: POISON }));
        const want = matmulF32Ref(a, b, shape);
        const bound = f32ErrorBound(shape.k, maxAbs(a), maxAbs(b));
        for (let i = 0; i < want.length; i++) {
          if (!(Math.abs(c[i]! - want[i]!) <= bound))
            throw new Error(`${configKey(config)} ${shape.m}×${shape.n}×${shape.k}: C[${i}] = ${c[i]}, reference ${want[i]}`);
        }
      }
    }
  });

  it('runs every modp candidate exactly', async () => {
    const device = await devices.acquire();
    const configs = candidatesFor(MatmulKind.Modp, shapeClass({ m: 64, n: 64, k: 64 }), device.limits);
    const random = seededRandom(16);
    const p = 65521;
    for (const config of configs) {
      const shape = { m: 67, n: 131, k: 29 };
      const a = Uint32Array.from({ length: shape.m * shape.k }, () => Math.floor(random() * p));
      const b = Uint32Array.from({ length: shape.k * shape.n }, () => Math.floor(random() * p));
      const c = await scoped(() => gpu.modp(a, b, shape, p, config, { poisonOutput: POISON }));
      expect(c, configKey(config)).toEqual(matmulModpRef(a, b, shape, p));
    }
  });

  it('tunes by kernel time per shape class, caches per class, and answers from the cache', async () => {
    const cache = new MemoryTuneCache();
    const candidates = MATMUL_CANDIDATES.slice(0, 4);
    const rests: number[] = [];
    const pace = { rest: async (ms: number) => void rests.push(ms) };
    const shape = { m: 200, n: 256, k: 256 };
    const first = await tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'lvp', cache, shape, candidates, budgetMs: 400, pace });
    expect(first.cached).toBe(false);
    expect(first.timings.map((t) => t.config)).toEqual(candidates.map(configKey));
    expect(first.timings.every((t) => t.method === TimingMethod.Timestamp && t.ms > 0)).toBe(true);
    expect(configKey(first.config)).toBe(first.timings.reduce((x, y) => (y.ms < x.ms ? y : x)).config);
    expect(first.key).toBe('v2/matmul-f32@lvp/256x256x256');
    expect(first.timedAt!.m).toBeLessThanOrEqual(256);
    // The throttle was asked after every candidate (and every sizing probe).
    expect(rests.length).toBeGreaterThanOrEqual(candidates.length);
    // Same class: cached. Another class: tuned again.
    expect(await tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'lvp', cache, shape: { m: 129, n: 256, k: 132 }, candidates })).toMatchObject({ cached: true });
    const other = await tuneMatmul(gpu, MatmulKind.F32, { adapterKey: 'lvp', cache, shape: { m: 64, n: 64, k: 64 }, candidates, budgetMs: 100 });
    expect(other).toMatchObject({ cached: false, key: 'v2/matmul-f32@lvp/64x64x64' });
  });

  it('reports a device lost mid-tuning as device-lost (the engine reruns on a new device), caching nothing', async () => {
    const own = new GpuDevices({}, () => ('gpu' in dawn ? dawn.gpu : undefined));
    try {
      const cache = new MemoryTuneCache();
      // Whatever device is current when the throttle is asked, it goes.
      const pace = { rest: async () => (await own.acquire()).destroy() };
      const run = tuneMatmul(new MatmulGpu(own), MatmulKind.F32, { adapterKey: 'lvp', cache, shape: { m: 128, n: 128, k: 128 }, budgetMs: 200, pace });
      await expect(run).rejects.toMatchObject({ code: ErrorCode.DeviceLost });
      expect(await cache.get('v2/matmul-f32@lvp/128x128x128')).toBeUndefined();
    } finally {
      own.destroy();
    }
  });

  it('stops when aborted and caches nothing', async () => {
    const cache = new MemoryTuneCache();
    const controller = new AbortController();
    const pace = { rest: async () => controller.abort() };
    const run = tuneMatmul(gpu, MatmulKind.Modp, {
      adapterKey: 'lvp',
      cache,
      shape: { m: 128, n: 128, k: 128 },
      budgetMs: 200,
      pace,
      signal: controller.signal,
    });
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(await cache.get('v2/matmul-modp@lvp/128x128x128')).toBeUndefined();
  });
});
