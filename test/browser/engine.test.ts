import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { jobUnit, type JobSpec } from '../../src/host/job';
import { checksOf } from '../../src/kernels/host-registry';
import { DEFAULT_MATMUL_CONFIG } from '../../src/kernels/matmul/gpu';
import { leavesToShares } from '../../src/kernels/shares';
import { powSearchCpu } from '../../src/kernels/sha256d-pow/pow';
import { bytesEqual, fromHex } from '../../src/hex';
import type { WorkUnit } from '../../src/protocol';
import { ComputeEngine, type EngineOptions, type UnitOutput } from '../../src/worker/engine';

const engines: ComputeEngine[] = [];
// Autotuning is tested on its own (autotune.test.ts); here it would only cost time.
const fixedTuning = { get: async () => DEFAULT_MATMUL_CONFIG, set: async () => undefined };
const engine = (options: EngineOptions = {}) => {
  const e = new ComputeEngine({ tuneCache: fixedTuning, ...options });
  engines.push(e);
  return e;
};
afterAll(() => engines.forEach((e) => e.dispose()));

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

const matrix = (kernel: 'matmul-f32' | 'matmul-modp', m: number, n: number, k: number): JobSpec =>
  kernel === 'matmul-f32'
    ? { id: 'f', kernel, units: 1, m, n, k, seed: 404, samples: 1 }
    : { id: 'm', kernel, units: 1, m, n, k, p: 65521, seed: 404, samples: 1 };
/** A small unit of every kernel. */
const units: readonly WorkUnit[] = [
  jobUnit({ id: 's', kernel: 'sha256-batch', units: 1, messagesPerUnit: 300, messageLength: 64, seed: 404, samples: 1 }, 0),
  jobUnit(matrix('matmul-f32', 97, 45, 63), 0),
  jobUnit(matrix('matmul-modp', 97, 45, 63), 0),
  jobUnit({ id: 'p', kernel: 'sha256d-pow', units: 1, noncesPerUnit: 4096, shareBits: 6, targetBits: 12, seed: 404 }, 0),
];
const f32Unit = units[1]!;

/**
 * An engine's output for a unit is what the host accepts: each leaf passes the kernel's own leaf
 * check, a bit-exact kernel's leaves are the reference's, and a search finds the reference's shares.
 */
async function expectRight(unit: WorkUnit, out: UnitOutput) {
  const checks = checksOf(unit);
  if (checks.kind === 'shares') {
    expect(leavesToShares(out.leaves)).toEqual((await checks.search()).shares);
    return;
  }
  const check = checks.leafCheck(hash);
  for (let i = 0; i < out.leaves.length / out.leafBytes; i++) expect(check(i, out.leaves.subarray(i * out.leafBytes, (i + 1) * out.leafBytes))).toBeUndefined();
  if (checks.bitExact) expect(bytesEqual(out.leaves, checks.reference(hash))).toBe(true);
}

describe('ComputeEngine', () => {
  it('on a software adapter, times each kernel on both backends and reports the choice', async () => {
    const e = engine();
    const info = await e.describe();
    expect(info.backend).toBe('webgpu');
    expect(info.adapter?.isFallbackAdapter).toBe(true); // CI has SwiftShader only
    const out = await e.runUnit(f32Unit);
    await expectRight(f32Unit, out);
    const choices = (await e.describe()).choices!;
    expect(choices['matmul-f32']).toMatchObject({ backend: out.backend, gpuMs: expect.any(Number), cpuMs: expect.any(Number) });
    // The faster of the two was chosen.
    const c = choices['matmul-f32']!;
    expect(c.backend === 'webgpu' ? c.gpuMs! <= c.cpuMs! : c.cpuMs! < c.gpuMs!).toBe(true);
  });

  it('gives the same answers on either backend for every kernel', async () => {
    for (const backend of ['webgpu', 'cpu'] as const) {
      const e = engine({ backend, cpuWorkers: 2 });
      for (const unit of units) {
        const out = await e.runUnit(unit);
        expect(out.backend).toBe(backend);
        await expectRight(unit, out);
      }
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
    const big = jobUnit(matrix('matmul-f32', 512, 64, 64), 0);
    const out = await e.runUnit(big, undefined, (done) => {
      progress.push(done);
      if (!destroyed) {
        destroyed = true;
        e.loseDevice();
      }
    });
    expect(destroyed).toBe(true);
    // Progress started over once: the first device's run failed and a second one finished.
    expect(progress.filter((p, i) => i > 0 && p < progress[i - 1]!)).toHaveLength(1);
    expect(progress.at(-1)).toBe(512);
    await expectRight(big, out);
  });

  it('aborts on either backend with the aborted code', async () => {
    const big = jobUnit(matrix('matmul-f32', 600, 300, 300), 0);
    for (const backend of ['webgpu', 'cpu'] as const) {
      const e = engine({ backend, cpuWorkers: 2 });
      const controller = new AbortController();
      const run = e.runUnit(big, controller.signal, () => controller.abort());
      await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    }
  });

  it('says why the CPU runs where there is no WebGPU', async () => {
    const e = engine({ gpu: () => undefined, cpuWorkers: 1 });
    expect(await e.describe()).toMatchObject({ backend: 'cpu', reason: expect.stringMatching(/WebGPU/) });
    expect((await e.runUnit(f32Unit)).backend).toBe('cpu');
  });
});
