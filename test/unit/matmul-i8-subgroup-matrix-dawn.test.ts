/**
 * matmul-i8's tensor-core path on Dawn over lavapipe, which offers no subgroup matrices: the
 * runner keeps to the portable path and says why; Dawn refuses the generated shader on a device
 * without the feature, and that refusal demotes the path; the canary keeps only an exact product
 * (a deliberately wrong one, a failing one, or none at all demote; a lost device decides nothing).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, TabgridError } from '../../src/errors';
import { I8Path, MatmulI8Gpu } from '../../src/kernels/matmul-i8/gpu';
import { matmulI8Ref } from '../../src/kernels/matmul-i8/matmul-i8';
import { i8Operands } from '../../src/kernels/matmul-i8/inputs';
import { CANARY_SHAPE, SubgroupMatrixI8, runCanary } from '../../src/kernels/matmul-i8/subgroup-matrix';
import { MemoryTuneCache } from '../../src/gpu/tune-cache';
import { ComputeEngine } from '../../src/worker/engine';
import { Backend } from '../../src/protocol';
import { gpuSuite } from '../helpers/gpu-suite';
import { dawnGpu } from '../helpers/dawn-device';

const dawn = await dawnGpu();
const skip = 'skip' in dawn ? dawn.skip : undefined;
if (skip) console.warn(`matmul-i8-subgroup-matrix-dawn: skipped: ${skip}`);
const gpuSource = () => ('gpu' in dawn ? dawn.gpu : undefined);
const { devices } = gpuSuite(gpuSource);

const H200_I8 = { componentType: 'i8', resultComponentType: 'i32', M: 16, N: 16, K: 32 };

describe.skipIf(skip !== undefined)('matmul-i8 tensor-core path on Dawn (lavapipe: not offered)', { timeout: 30_000 }, () => {
  it('keeps to the portable path, says why, and the device was not requested with the feature', async () => {
    const gpu = new MatmulI8Gpu(devices);
    const { path, reason } = await gpu.path();
    expect([I8Path.Packed, I8Path.Shifts]).toContain(path);
    expect(reason).toMatch(/no tensor-core path: the adapter does not offer chromium-experimental-subgroup-matrix/);
    expect((await devices.acquire()).features.has('chromium-experimental-subgroup-matrix')).toBe(false);
    // Forcing the tensor path here is an error that says why, never a silent fallback.
    await expect(new MatmulI8Gpu(devices, I8Path.SubgroupMatrix).path()).rejects.toMatchObject({ code: ErrorCode.GpuError });
  });

  it("Dawn refuses the generated shader on a device without the feature, and the canary demotes the path with Dawn's words", async () => {
    const matrix = new SubgroupMatrixI8(devices);
    const verdict = await matrix.canary(H200_I8, 32);
    expect(verdict.ok).toBe(false);
    const reason = 'reason' in verdict ? verdict.reason : '';
    expect(reason).toMatch(/^i8→i32 16×16×32: the canary product failed: elements addressing: .*; words addressing: /s);
    // The device has neither subgroups nor the matrices: Dawn names the first extension it refuses.
    expect(reason).toMatch(/extension '(subgroups|chromium_experimental_subgroup_matrix)' is not allowed/);
  });

  it('the canary keeps the first exact candidate and demotes on a deliberately wrong product', async () => {
    const gpu = new MatmulI8Gpu(devices);
    const right = (a: Int8Array, b: Int8Array, shape: typeof CANARY_SHAPE) => gpu.matmul(a, b, shape);
    // A product that drops the last K step: wrong in almost every element, plausible in each.
    const shortK = async (a: Int8Array, b: Int8Array, shape: typeof CANARY_SHAPE) => {
      const k = shape.k - 1;
      const a2 = new Int8Array(shape.m * k);
      for (let r = 0; r < shape.m; r++) a2.set(a.subarray(r * shape.k, r * shape.k + k), r * k);
      return gpu.matmul(a2, b.subarray(0, k * shape.n), { ...shape, k });
    };
    // One element off by one: the canary compares every element.
    const oneOff = async (a: Int8Array, b: Int8Array, shape: typeof CANARY_SHAPE) => {
      const c = await gpu.matmul(a, b, shape);
      c[c.length - 1]! += 1;
      return c;
    };
    const products = { right, shortK, oneOff };
    type Name = keyof typeof products;
    const run = (names: Name[]) =>
      runCanary(
        names,
        (n) => n,
        (n, a, b, shape) => products[n](a, b, shape),
      );
    expect(await run(['shortK', 'right'])).toEqual({ ok: true, chosen: 'right' });
    const wrong = await run(['shortK', 'oneOff']);
    expect(wrong.ok).toBe(false);
    const { m, n } = CANARY_SHAPE;
    expect('reason' in wrong && wrong.reason).toMatch(
      new RegExp(`^the canary product failed: shortK: C\\[0\\]\\[0\\] = -?\\d+, the CPU says -?\\d+; oneOff: C\\[${m - 1}\\]\\[${n - 1}\\] = `),
    );
    expect(await runCanary([], String, () => Promise.resolve(new Int32Array()))).toEqual({ ok: false, reason: 'the canary product failed: no candidate' });
    // A short result is a mismatch too.
    expect((await runCanary(['short'], String, async () => new Int32Array(3))).ok).toBe(false);
  });

  it('a lost device or an abort during the canary decides nothing: it is rethrown', async () => {
    const lost = () => Promise.reject(new TabgridError(ErrorCode.DeviceLost, 'gone'));
    await expect(runCanary(['x'], String, lost)).rejects.toMatchObject({ code: ErrorCode.DeviceLost });
    await expect(runCanary(['x'], String, () => Promise.reject(new Error('driver crashed')))).rejects.toThrow('driver crashed');
  });

  it('the worker notes its path for the engine, and describe() reports it', async () => {
    const engine = new ComputeEngine({ gpu: gpuSource, backend: Backend.WebGpu, tuneCache: new MemoryTuneCache() });
    try {
      const unit = { kernel: 'matmul-i8', jobId: 'j', unitId: 'j/0', seed: 5, m: 19, n: 23, k: 37, p: 0 } as const;
      const out = await engine.runUnit(unit);
      expect(out.backend).toBe(Backend.WebGpu);
      const { a, b } = i8Operands(unit);
      expect(new Int32Array(out.leaves.slice().buffer)).toEqual(matmulI8Ref(a, b, unit));
      const info = await engine.describe();
      expect(info.paths?.['matmul-i8']).toMatch(/^(dot4I8Packed|shifts): .*no tensor-core path: the adapter does not offer/);
    } finally {
      engine.dispose();
    }
  });
});
