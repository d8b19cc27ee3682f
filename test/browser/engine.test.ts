import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { f32ErrorBound, matmulF32Ref, matmulModpRef, maxAbs } from '../../src/kernels/matmul';
import { powSearchCpu, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow';
import { DEFAULT_MATMUL_CONFIG } from '../../src/gpu/matmul-gpu';
import { ComputeEngine, type EngineOptions } from '../../src/worker/engine';
import { fromHex } from '../../src/hex';
import { jobUnit } from '../../src/host/job';
import { seededRandom } from '../../src/work/seeded';

const random = seededRandom(404);
const shape = { m: 97, n: 45, k: 63 };
const a = Float32Array.from({ length: shape.m * shape.k }, () => random() * 2 - 1);
const b = Float32Array.from({ length: shape.k * shape.n }, () => random() * 2 - 1);
const bound = f32ErrorBound(shape.k, maxAbs(a), maxAbs(b));
const ref = matmulF32Ref(a, b, shape);
const engines: ComputeEngine[] = [];
// Autotuning is tested on its own (autotune.test.ts); here it would only cost time.
const fixedTuning = { get: async () => DEFAULT_MATMUL_CONFIG, set: async () => undefined };
const engine = (options: EngineOptions = {}) => {
  const e = new ComputeEngine({ tuneCache: fixedTuning, ...options });
  engines.push(e);
  return e;
};
afterAll(() => engines.forEach((e) => e.dispose()));

function expectClose(c: Float32Array) {
  for (let i = 0; i < ref.length; i++) expect(Math.abs(c[i]! - ref[i]!)).toBeLessThanOrEqual(bound);
}

describe('ComputeEngine', () => {
  it('on a software adapter, times each kernel on both backends and reports the choice', async () => {
    const e = engine();
    const info = await e.describe();
    expect(info.backend).toBe('webgpu');
    expect(info.adapter?.isFallbackAdapter).toBe(true); // CI has SwiftShader only
    const out = await e.matmulF32(a, b, shape);
    expectClose(out.c);
    const choices = (await e.describe()).choices!;
    expect(choices['matmul-f32']).toMatchObject({ backend: out.backend, gpuMs: expect.any(Number), cpuMs: expect.any(Number) });
    // The faster of the two was chosen.
    const c = choices['matmul-f32']!;
    expect(c.backend === 'webgpu' ? c.gpuMs! <= c.cpuMs! : c.cpuMs! < c.gpuMs!).toBe(true);
  });

  it('gives the same answers on either backend for every kernel', async () => {
    const modp = { a: Uint32Array.from(a, (x) => Math.floor((x + 1) * 30000)), b: Uint32Array.from(b, (x) => Math.floor((x + 1) * 30000)) };
    const header = Uint8Array.from({ length: 80 }, () => Math.floor(random() * 256));
    const [hard, easy] = [targetFromLeadingZeroBits(12), targetFromLeadingZeroBits(6)];
    const powRef = powSearchCpu(header, 1000, 3000, hard, easy);
    for (const backend of ['webgpu', 'cpu'] as const) {
      const e = engine({ backend, cpuWorkers: 2 });
      const f = await e.matmulF32(a, b, shape);
      expect(f.backend).toBe(backend);
      expectClose(f.c);
      const m = await e.matmulModp(modp.a, modp.b, shape, 65521);
      expect(m.c).toEqual(matmulModpRef(modp.a, modp.b, shape, 65521));
      const pow = await e.powSearch(header, 1000, 3000, hard, easy);
      expect({ shares: pow.shares, solutions: pow.solutions }).toEqual({ shares: powRef.shares, solutions: powRef.solutions });
      expect(pow.backend).toBe(backend);
    }
  });

  it('runs a proof-of-work unit into its shares as 4-byte little-endian leaves, on either backend', async () => {
    const spec = { id: 'p', kernel: 'sha256d-pow', units: 3, seed: 5, noncesPerUnit: 2048, shareBits: 6, targetBits: 9 } as const;
    const unit = jobUnit(spec, 2);
    if (unit.kernel !== 'sha256d-pow') throw new Error('not a pow unit');
    const bytes = (hex: string) => fromHex(hex)!;
    const ref = powSearchCpu(bytes(unit.header), unit.nonceStart, unit.nonceCount, bytes(unit.target), bytes(unit.shareTarget));
    expect(ref.shares.length).toBeGreaterThan(8);
    for (const backend of ['webgpu', 'cpu'] as const) {
      const seen: number[] = [];
      const out = await engine({ backend }).runUnit(unit, undefined, (done) => seen.push(done));
      expect(out).toMatchObject({ leafBytes: 4, backend });
      const view = new DataView(out.leaves.buffer, out.leaves.byteOffset, out.leaves.byteLength);
      expect(Array.from({ length: out.leaves.length / 4 }, (_, i) => view.getUint32(4 * i, true))).toEqual(ref.shares);
      expect(seen.at(-1)).toBe(unit.nonceCount);
    }
  });

  it('recovers when the device is destroyed mid-job: the run restarts on a new device', async () => {
    const e = engine({ backend: 'webgpu' });
    let destroyed = false;
    const progress: number[] = [];
    const big = { m: 512, n: 64, k: 64 };
    const x = Float32Array.from({ length: big.m * big.k }, () => random());
    const y = Float32Array.from({ length: big.k * big.n }, () => random());
    const out = await e.matmulF32(x, y, big, {
      onProgress: (done) => {
        progress.push(done);
        if (!destroyed) {
          destroyed = true;
          e.loseDevice();
        }
      },
    });
    expect(destroyed).toBe(true);
    // Progress started over once: the first device's run failed and a second one finished.
    expect(progress.filter((p, i) => i > 0 && p < progress[i - 1]!)).toHaveLength(1);
    expect(progress.at(-1)).toBe(big.m);
    const want = matmulF32Ref(x, y, big);
    const tol = f32ErrorBound(big.k, maxAbs(x), maxAbs(y));
    for (let i = 0; i < want.length; i++) expect(Math.abs(out.c[i]! - want[i]!)).toBeLessThanOrEqual(tol);
  });

  it('aborts on either backend with the aborted code', async () => {
    for (const backend of ['webgpu', 'cpu'] as const) {
      const e = engine({ backend, cpuWorkers: 2 });
      const controller = new AbortController();
      const big = { m: 600, n: 300, k: 300 };
      const run = e.matmulF32(new Float32Array(big.m * big.k), new Float32Array(big.k * big.n), big, {
        signal: controller.signal,
        onProgress: () => controller.abort(),
      });
      await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    }
  });

  it('says why the CPU runs where there is no WebGPU', async () => {
    const e = engine({ gpu: () => undefined, cpuWorkers: 1 });
    expect(await e.describe()).toMatchObject({ backend: 'cpu', reason: expect.stringMatching(/WebGPU/) });
    expect((await e.matmulF32(a, b, shape)).backend).toBe('cpu');
  });
});
