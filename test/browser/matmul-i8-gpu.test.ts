import { beforeEach, describe, expect, it } from 'vitest';
import { gpuSuite } from '../helpers/gpu-suite';
import { ErrorCode } from '../../src/errors';
import { DEFAULT_I8_CONFIG, I8Path, MatmulI8Gpu, PACKED_DOT_FEATURE, i8ConfigKey, type I8Config } from '../../src/kernels/matmul-i8/gpu';
import { I8_CANDIDATES, i8CandidatesFor, i8ToTile } from '../../src/kernels/matmul-i8/tile-space';
import { matmulI8Ref, matmulI8Rows } from '../../src/kernels/matmul-i8/matmul-i8';
import { matmulI8RowsSimd, packBForSimd } from '../../src/kernels/matmul-i8/matmul-i8-simd';
import { matmulI8Worker } from '../../src/kernels/matmul-i8/worker';
import { MemoryTuneCache } from '../../src/gpu/tune-cache';
import { bytesOfI32 } from '../../src/kernels/matmul-i8/matmul-i8';
import { i8Operands } from '../../src/kernels/matmul-i8/inputs';
import type { KernelContext } from '../../src/kernels/worker-kernel';
import type { MatmulShape } from '../../src/kernels/matmul/matmul';
import { seededRandom } from '../../src/work/seeded';

const POISON = 0x7fc0dead; // no int8 product of these sizes comes near it
const { devices, scoped } = gpuSuite();
/** Whether this adapter offers dot4I8Packed; asked inside tests, never at import. */
const packedHere = () => Boolean(navigator.gpu.wgslLanguageFeatures?.has(PACKED_DOT_FEATURE));
/** The paths this adapter can run: both where it has the feature, the shift path alone otherwise. */
const pathsHere = () => (packedHere() ? [I8Path.Packed, I8Path.Shifts] : [I8Path.Shifts]);

function randomI8(length: number, random: () => number): Int8Array {
  return Int8Array.from({ length }, () => Math.floor(random() * 256) - 128);
}

// Odd sizes, K not a multiple of 4 (or of a K step), edges of every tile, and one full tile.
const SHAPES: MatmulShape[] = [
  { m: 1, n: 1, k: 1 },
  { m: 37, n: 29, k: 41 },
  { m: 64, n: 64, k: 128 },
  { m: 7, n: 13, k: 5 },
  { m: 65, n: 63, k: 35 },
  { m: 1, n: 300, k: 3 },
  { m: 130, n: 1, k: 66 },
];
const CONFIGS: I8Config[] = [DEFAULT_I8_CONFIG, { wgX: 8, wgY: 8, tm: 2, tn: 3, tileK4: 4 }, { wgX: 16, wgY: 4, tm: 1, tn: 1, tileK4: 1 }];

for (const path of [I8Path.Packed, I8Path.Shifts]) {
  describe(`matmul-i8.wgsl (${path})`, () => {
    const gpu = new MatmulI8Gpu(devices, path);
    beforeEach(({ skip }) => {
      // The packed path cannot compile without the feature; the log says so.
      if (!pathsHere().includes(path)) skip(`${PACKED_DOT_FEATURE} is not offered by this adapter`);
    });

    for (const [c, config] of CONFIGS.entries()) {
      it(`equals the CPU reference bit for bit, every shape, config ${c}`, async () => {
        const random = seededRandom(101 + c);
        for (const shape of SHAPES) {
          const a = randomI8(shape.m * shape.k, random);
          const b = randomI8(shape.k * shape.n, random);
          const got = await scoped(() => gpu.matmul(a, b, shape, { config, poisonOutput: POISON }));
          expect(got, `${shape.m}×${shape.n}×${shape.k}`).toEqual(matmulI8Ref(a, b, shape));
        }
      });
    }

    it('is exact at the extremes: −128·−128 and −128·127 over a long K', async () => {
      const shape = { m: 3, n: 5, k: 1023 };
      const a = new Int8Array(shape.m * shape.k).fill(-128);
      const b = new Int8Array(shape.k * shape.n);
      for (let t = 0; t < shape.k; t++) b.set([-128, 127, -128, 127, 0], t * shape.n);
      const got = await scoped(() => gpu.matmul(a, b, shape, { poisonOutput: POISON }));
      expect([...got.subarray(0, 5)]).toEqual([16384 * 1023, -16256 * 1023, 16384 * 1023, -16256 * 1023, 0]);
      expect(got).toEqual(matmulI8Ref(a, b, shape));
    });

    it('splits rows across dispatches, reports progress to M, and stops when aborted', async () => {
      const shape = { m: 200, n: 40, k: 30 };
      const random = seededRandom(3);
      const a = randomI8(shape.m * shape.k, random);
      const b = randomI8(shape.k * shape.n, random);
      const progress: number[] = [];
      const got = await gpu.matmul(a, b, shape, { maxTileRows: 1, onProgress: (done) => progress.push(done) });
      expect(got).toEqual(matmulI8Ref(a, b, shape));
      expect(progress).toEqual([64, 128, 192, 200]);
      const controller = new AbortController();
      const run = gpu.matmul(a, b, shape, { maxTileRows: 1, signal: controller.signal, onProgress: () => controller.abort() });
      await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    });
  });
}

describe("matmul-i8 tile space (the tuner's candidates)", () => {
  it('runs every candidate that fits this device bit-exact, odd sizes, poisoned output', async () => {
    const gpu = new MatmulI8Gpu(devices);
    const configs = i8CandidatesFor((await devices.acquire()).limits);
    expect(configs.length).toBeGreaterThan(5);
    const random = seededRandom(1509);
    for (const config of configs) {
      for (const shape of [
        { m: 67, n: 131, k: 29 },
        { m: 7, n: 13, k: 5 },
      ]) {
        const a = randomI8(shape.m * shape.k, random);
        const b = randomI8(shape.k * shape.n, random);
        const got = await scoped(() => gpu.matmul(a, b, shape, { config, poisonOutput: POISON }));
        expect(got, `${i8ConfigKey(config)} ${shape.m}×${shape.n}×${shape.k}`).toEqual(matmulI8Ref(a, b, shape));
      }
    }
  });
});

describe('matmul-i8 GPU runner', () => {
  it('says which path it took on this adapter, and why', async () => {
    const chosen = await new MatmulI8Gpu(devices).path();
    expect(chosen.path).toBe(packedHere() ? I8Path.Packed : I8Path.Shifts);
    // SwiftShader offers no subgroup matrices: the tensor-core path is not taken, and the reason says so.
    expect(chosen.reason).toMatch(/no tensor-core path: the adapter does not offer chromium-experimental-subgroup-matrix/);
    console.info(`matmul-i8 path here: ${chosen.path} (${chosen.reason}); paths tested: ${pathsHere().join(', ')}`);
  });

  it('refuses wrong sizes and impossible configurations', async () => {
    const gpu = new MatmulI8Gpu(devices);
    await expect(gpu.matmul(new Int8Array(5), new Int8Array(6), { m: 2, n: 2, k: 3 })).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(gpu.matmul(new Int8Array(1), new Int8Array(1), { m: 1, n: 1, k: 1 }, { config: { ...DEFAULT_I8_CONFIG, tm: 8 } })).rejects.toThrow(RangeError);
  });

  it('times 256³ against the CPU path (SwiftShader: a CPU emulating a GPU, not a GPU figure)', async () => {
    const shape = { m: 256, n: 256, k: 256 };
    const random = seededRandom(256);
    const a = randomI8(shape.m * shape.k, random);
    const b = randomI8(shape.k * shape.n, random);
    const gpu = new MatmulI8Gpu(devices);
    const want = matmulI8Ref(a, b, shape);
    expect(await gpu.matmul(a, b, shape)).toEqual(want); // warm-up: pipeline compiled
    const time = async (run: () => Promise<unknown> | unknown) => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        await run();
        times.push(performance.now() - started);
      }
      return Math.min(...times);
    };
    const adapter = await devices.adapter();
    const lines: string[] = [];
    for (const path of pathsHere()) {
      const runner = new MatmulI8Gpu(devices, path);
      await runner.matmul(a, b, shape);
      const ms = await time(() => runner.matmul(a, b, shape));
      lines.push(`GPU ${path} ${ms.toFixed(1)} ms (${((2 * 256 ** 3) / ms / 1e6).toFixed(2)} GOP/s)`);
    }
    const out = new Int32Array(256 * 256);
    const jsMs = await time(() => matmulI8Rows(a, b, shape, 0, 256, out));
    expect(out).toEqual(want);
    const simdOut = new Int32Array(256 * 256);
    // Packing B is part of the SIMD path's cost here (a unit packs it once).
    const simdMs = await time(() => matmulI8RowsSimd(a, packBForSimd(b, 256, 256), shape, 0, 256, simdOut));
    expect(simdOut).toEqual(want);
    const rate = (ms: number) => `${ms.toFixed(1)} ms (${((2 * 256 ** 3) / ms / 1e6).toFixed(2)} GOP/s)`;
    console.info(
      `matmul-i8 256³ on ${adapter.description || adapter.vendor} (fallback adapter: ${adapter.isFallbackAdapter}; SwiftShader runs on the CPU, not a GPU figure), ` +
        `best of 3, wall incl. packing, upload, readback: ${lines.join('; ')}; CPU one thread: WASM SIMD ${rate(simdMs)}, plain JS ${rate(jsMs)}`,
    );
  });
});

describe('matmul-i8 in the compute worker (its registry entry)', () => {
  it("runs a unit's row segments on either backend, each equal to the reference", async () => {
    const values = new Map<string, unknown>();
    // A tuning already cached for this adapter and the unit's shape class (tuning itself is
    // tested on lavapipe, test/unit/matmul-i8-tuning-dawn.test.ts): the worker uses it, tuning nothing.
    const { path } = await new MatmulI8Gpu(devices).path();
    const key = `v2/matmul-i8-${path}@test/64x64x64`;
    const tuneCache = new MemoryTuneCache();
    const cached = i8ToTile(I8_CANDIDATES[4]!);
    await tuneCache.set(key, cached);
    const context: KernelContext = {
      devices,
      tuneCache,
      adapterKey: () => Promise.resolve('test'),
      shared: <T>(key: string, make: () => T) => {
        if (!values.has(key)) values.set(key, make());
        return values.get(key) as T;
      },
    };
    const unit = { kernel: 'matmul-i8', jobId: 'j', unitId: 'j/0', seed: 77, m: 45, n: 33, k: 51, p: 0 } as const;
    const { a, b } = i8Operands(unit);
    const want = bytesOfI32(matmulI8Ref(a, b, unit));
    const run = matmulI8Worker.run(unit, context);
    const rowBytes = 4 * unit.n;
    for (const [start, end] of [
      [0, 45],
      [0, 13],
      [13, 45],
    ] as const) {
      const slice = want.subarray(start * rowBytes, end * rowBytes);
      expect(await scoped(() => run.gpu(start, end, {})), `gpu ${start}..${end}`).toEqual(slice);
      expect(await run.cpu(start, end, {}), `cpu ${start}..${end}`).toEqual(slice);
    }
    expect(await tuneCache.get(key)).toEqual(cached);
    const calibration = matmulI8Worker.calibration(context);
    await calibration.gpu();
    await calibration.cpu();
  });
});
