import { expect, it } from 'vitest';
import { ErrorCode, isTabgridError } from '../../src/errors';
import { bufferPoolOf } from '../../src/gpu/buffer-pool';
import type { GpuDevices } from '../../src/gpu/device';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { MatmulGpu } from '../../src/kernels/matmul/gpu';
import { f32Operands, modpOperands } from '../../src/kernels/matmul/inputs';
import { benchUnitStream, runMatmulStream, type StreamResult } from '../../src/kernels/matmul/stream';
import type { MatmulUnit } from '../../src/kernels/matmul/unit';
import { DEFAULT_MATMUL_CONFIG } from '../../src/kernels/matmul/gpu';
import { matmulModpRef } from '../../src/kernels/matmul/matmul';
import { ComputeEngine } from '../../src/worker/engine';
import { StagedOperands } from '../../src/kernels/matmul/staged';
import { seededResidues } from '../../src/kernels/matmul/inputs';

/** The unit stream (kernels/matmul/stream.ts); shared by the SwiftShader (browser) and Dawn (unit) files. */
export function unitStreamCases(devices: () => GpuDevices, gpuApi: () => GPU | undefined) {
  const f32 = (i: number, m: number, n: number, k: number): MatmulUnit => ({
    kernel: 'matmul-f32',
    jobId: 's',
    unitId: `f${i}`,
    seed: 1000 + i,
    m,
    n,
    k,
    p: 0,
  });
  const modp = (i: number, m: number, n: number, k: number): MatmulUnit => ({
    kernel: 'matmul-modp',
    jobId: 's',
    unitId: `m${i}`,
    seed: 2000 + i,
    m,
    n,
    k,
    p: 65521,
  });
  const units = [f32(0, 37, 29, 41), modp(1, 20, 33, 7), f32(2, 65, 8, 64), f32(3, 1, 1, 1), modp(4, 64, 64, 64)];

  it('returns every unit in order, C and its leaf hashes bit for bit the per-unit path’s', async () => {
    const hash = await createCpuSha256();
    const gpu = new MatmulGpu(devices());
    const got: StreamResult[] = [];
    await runMatmulStream(gpu, units, (r) => void got.push(r));
    expect(got.map((r) => r.unit.unitId)).toEqual(units.map((u) => u.unitId));
    for (const r of got) {
      const u = r.unit;
      const want =
        u.kernel === 'matmul-modp' ? await gpu.modp(modpOperands(u).a, modpOperands(u).b, u, u.p) : await gpu.f32(f32Operands(u).a, f32Operands(u).b, u);
      expect(toHex(r.c), u.unitId).toBe(toHex(new Uint8Array(want.buffer)));
      expect(toHex(r.leafHashes!), u.unitId).toBe(
        buildMerkleTreeOfChunks(r.c, u.n * 4, hash)
          .levels[0]!.map(toHex)
          .join(''),
      );
    }
  });

  it('aborted mid-stream, stops, says aborted and returns every buffer to the pool', async () => {
    const gpu = new MatmulGpu(devices());
    const controller = new AbortController();
    const many = Array.from({ length: 12 }, (_, i) => f32(10 + i, 96, 96, 96));
    let seen = 0;
    let caught: unknown;
    try {
      await runMatmulStream(
        gpu,
        many,
        () => {
          if (++seen === 2) controller.abort();
        },
        { signal: controller.signal, depth: 3 },
      );
    } catch (err) {
      caught = err;
    }
    expect(isTabgridError(caught, ErrorCode.Aborted)).toBe(true);
    expect(seen).toBe(2);
    const device = await devices().acquire();
    const pool = bufferPoolOf(device);
    expect(pool.stats().lent).toBe(0);
    await device.queue.onSubmittedWorkDone();
    await Promise.resolve();
    expect(pool.stats()).toMatchObject({ lent: 0, pending: 0 });
  });

  it('the engine hands a GPU unit’s leaf hashes over with its leaves, segment by segment; a kernel that hashes none does not', async () => {
    const hash = await createCpuSha256();
    const engine = new ComputeEngine({ gpu: gpuApi, backend: 'webgpu', tuneCache: { get: async () => DEFAULT_MATMUL_CONFIG, set: async () => undefined } });
    try {
      for (const unit of [f32(30, 70, 33, 20), modp(31, 65, 16, 9)]) {
        const checkpoints: number[] = [];
        const out = await engine.runUnit(unit, undefined, undefined, { onCheckpoint: (done) => void checkpoints.push(done), checkpointMs: 0 });
        expect(checkpoints.length, 'several segments').toBeGreaterThan(1);
        expect(out.backend).toBe('webgpu');
        expect(toHex(out.leafHashes!)).toBe(buildMerkleTreeOfChunks(out.leaves, out.leafBytes, hash).levels[0]!.map(toHex).join(''));
        const { a, b } = unit.kernel === 'matmul-modp' ? modpOperands(unit) : f32Operands(unit);
        if (unit.kernel === 'matmul-modp')
          expect(toHex(out.leaves)).toBe(toHex(new Uint8Array(matmulModpRef(a as Uint32Array, b as Uint32Array, unit, unit.p).buffer)));
      }
      // A kernel that hashes no leaves on the GPU hands none over.
      const sha = { kernel: 'sha256-batch', jobId: 's', unitId: 'h', seed: 5, count: 10, messageLength: 64 } as const;
      expect((await engine.runUnit(sha)).leafHashes).toBeUndefined();
    } finally {
      engine.dispose();
    }
  });

  it('a dataset unit’s operands go to the GPU once, ahead of its run when prepared, and serve every segment; kept ones are bounded and returned', async () => {
    const engine = new ComputeEngine({ gpu: gpuApi, backend: 'webgpu', tuneCache: { get: async () => DEFAULT_MATMUL_CONFIG, set: async () => undefined } });
    try {
      const [m, n, k, p] = [70, 21, 13, 65521];
      const a = seededResidues(77, 1, m * k, p);
      const b = seededResidues(77, 2, k * n, p);
      const slice = (root: string, words: Uint32Array) => ({ root, bytes: words.byteLength, offset: 0, length: words.byteLength });
      const unit: MatmulUnit = {
        kernel: 'matmul-modp',
        jobId: 'd',
        unitId: 'd0',
        seed: 0,
        m,
        n,
        k,
        p,
        a: slice('a'.repeat(64), a),
        b: slice('b'.repeat(64), b),
      };
      const inputs = [
        { slice: unit.a!, data: new Uint8Array(a.buffer) },
        { slice: unit.b!, data: new Uint8Array(b.buffer) },
      ];
      const checkpoints: number[] = [];
      const out = await engine.runUnit(unit, undefined, undefined, { inputs, onCheckpoint: (done) => void checkpoints.push(done), checkpointMs: 0 });
      expect(checkpoints.length).toBeGreaterThan(1);
      expect(out.backend).toBe('webgpu');
      expect(toHex(out.leaves)).toBe(toHex(new Uint8Array(matmulModpRef(a, b, unit, p).buffer)));
      // The next unit's operands put on the GPU ahead (the session does it while one computes):
      // its run then needs no bytes on the shelf at all.
      const next: MatmulUnit = { ...unit, unitId: 'd1' };
      await expect(engine.runUnit({ ...unit, unitId: 'unheld' })).rejects.toThrow(/not held here/);
      await engine.prepare(next, inputs);
      const ahead = await engine.runUnit(next);
      expect(toHex(ahead.leaves)).toBe(toHex(out.leaves));
    } finally {
      engine.dispose();
    }
    const device = await devices().acquire();
    const staged = new StagedOperands(2);
    const pool = bufferPoolOf(device);
    const lent = pool.stats().lent;
    const shape = { m: 3, n: 2, k: 2 };
    let made = 0;
    const make = () => (made++, { a: new Float32Array(6), b: new Float32Array(4) });
    const first = staged.get('u1', device, make, shape);
    expect(staged.get('u1', device, make, shape)).toBe(first);
    expect(made).toBe(1);
    staged.get('u2', device, make, shape);
    staged.get('u3', device, make, shape);
    expect(staged.size).toBe(2);
    expect(pool.stats().lent).toBe(lent + 4);
    // u1 was returned: asked again, it is written again.
    staged.get('u1', device, make, shape);
    expect(made).toBe(4);
    staged.release('u1');
    staged.clear();
    expect(staged.size).toBe(0);
    expect(pool.stats().lent).toBe(lent);
    // A modp unit's residues are checked as they are staged.
    expect(() => staged.get('bad', device, () => ({ a: Uint32Array.of(7, 1), b: Uint32Array.of(1, 1) }), { m: 1, n: 1, k: 2 }, 7)).toThrow(
      /not below the modulus 7/,
    );
  });

  it('benchUnitStream times both paths on the same units and finds the same roots', async () => {
    const hash = await createCpuSha256();
    const bench = await benchUnitStream(devices(), hash, { units: 3, shape: { m: 48, n: 40, k: 32 }, rounds: 1 });
    expect(bench.units).toBe(3);
    for (const f of [bench.before, bench.after]) {
      expect(f.wallMs).toBeGreaterThan(0);
      expect(f.unitsPerSecond).toBeCloseTo((3 * 1000) / f.wallMs, 6);
      expect(f.busy).toBeGreaterThan(0);
      expect(f.busy).toBeLessThanOrEqual(1);
    }
    expect(bench.kernelMsPerUnit).toBeGreaterThan(0);
    expect(bench.speedup).toBeCloseTo(bench.after.unitsPerSecond / bench.before.unitsPerSecond, 6);
  });
}
