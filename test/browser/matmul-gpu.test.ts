import { describe, expect, it } from 'vitest';
import { gpuSuite } from '../helpers/gpu-suite';
import { ErrorCode } from '../../src/errors';
import { DEFAULT_MATMUL_CONFIG, MatmulGpu, configKey, type MatmulConfig } from '../../src/kernels/matmul/gpu';
import { f32ErrorBound, matmulF32Ref, matmulModpRef, maxAbs, type MatmulShape } from '../../src/kernels/matmul/matmul';
import { seededRandom } from '../../src/work/seeded';

const POISON = 0x7fc0dead; // a NaN pattern for f32, a huge residue for modp
const { devices, scoped } = gpuSuite();
const gpu = new MatmulGpu(devices);

function randomF32(length: number, random: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length }, () => (random() * 2 - 1) * scale);
}
function randomResidues(length: number, random: () => number, p: number): Uint32Array {
  return Uint32Array.from({ length }, () => Math.floor(random() * p));
}

function expectClose(got: Float32Array, want: Float32Array, bound: number, label: string) {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= bound)) throw new Error(`${label}: C[${i}] = ${got[i]}, reference ${want[i]}, |error| ${err} > bound ${bound}`);
    worst = Math.max(worst, err);
  }
  return worst;
}

// Awkward shapes: 1×1, primes, non-multiples of every tile, tall/skinny, and the largest these
// tests can afford on SwiftShader (a CPU-emulated GPU).
const SHAPES: MatmulShape[] = [
  { m: 1, n: 1, k: 1 },
  { m: 7, n: 13, k: 5 },
  { m: 31, n: 17, k: 64 },
  { m: 64, n: 64, k: 64 },
  { m: 65, n: 63, k: 17 },
  { m: 257, n: 3, k: 9 },
  { m: 3, n: 257, k: 129 },
  { m: 1, n: 1000, k: 1 },
  { m: 200, n: 1, k: 300 },
  { m: 193, n: 211, k: 227 },
  // Shapes the vec4 kernel takes (K and N multiples of 4), with ragged M and tile edges.
  { m: 1, n: 4, k: 4 },
  { m: 37, n: 68, k: 20 },
  { m: 130, n: 36, k: 132 },
];
const CONFIGS: MatmulConfig[] = [
  DEFAULT_MATMUL_CONFIG,
  { wgX: 8, wgY: 8, tm: 2, tn: 4, tileK: 8 },
  { wgX: 16, wgY: 4, tm: 1, tn: 1, tileK: 32 },
  { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16, vec4: true },
  // The wide vec4 kernel (matmul-f32-vec4-wide.wgsl): 8 × 8 and 8 × 4 outputs per invocation.
  { wgX: 16, wgY: 16, tm: 8, tn: 8, tileK: 8, vec4: true },
  { wgX: 8, wgY: 16, tm: 8, tn: 4, tileK: 16, vec4: true },
];

describe('matmul-f32.wgsl', () => {
  for (const config of CONFIGS) {
    it(`equals the reference within the f32 bound, every shape, config ${configKey(config)}`, async () => {
      const random = seededRandom(17);
      for (const shape of SHAPES) {
        const scale = 1 + 99 * random();
        const a = randomF32(shape.m * shape.k, random, scale);
        const b = randomF32(shape.k * shape.n, random);
        const c = await scoped(() => gpu.f32(a, b, shape, config, { poisonOutput: POISON }));
        expectClose(c, matmulF32Ref(a, b, shape), f32ErrorBound(shape.k, maxAbs(a), maxAbs(b)), `${shape.m}×${shape.n}×${shape.k}`);
      }
    });
  }

  it('is exact on small integers (every partial sum representable)', async () => {
    const random = seededRandom(2);
    const shape = { m: 37, n: 41, k: 43 };
    const a = Float32Array.from({ length: shape.m * shape.k }, () => Math.floor(random() * 17) - 8);
    const b = Float32Array.from({ length: shape.k * shape.n }, () => Math.floor(random() * 17) - 8);
    expect(await gpu.f32(a, b, shape)).toEqual(matmulF32Ref(a, b, shape));
  });

  it('splits rows across dispatches, reports progress to M, and stops when aborted', async () => {
    const shape = { m: 300, n: 40, k: 30 };
    const random = seededRandom(3);
    const a = randomF32(shape.m * shape.k, random);
    const b = randomF32(shape.k * shape.n, random);
    const progress: number[] = [];
    const c = await gpu.f32(a, b, shape, DEFAULT_MATMUL_CONFIG, { maxTileRows: 1, onProgress: (done) => progress.push(done) });
    expectClose(c, matmulF32Ref(a, b, shape), f32ErrorBound(30, maxAbs(a), maxAbs(b)), 'split');
    expect(progress).toHaveLength(Math.ceil(300 / 64));
    expect(progress.at(-1)).toBe(300);

    const controller = new AbortController();
    const run = gpu.f32(a, b, shape, DEFAULT_MATMUL_CONFIG, { maxTileRows: 1, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
  });

  it('refuses wrong sizes and impossible configurations', async () => {
    await expect(gpu.f32(new Float32Array(5), new Float32Array(6), { m: 2, n: 2, k: 3 })).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(gpu.f32(new Float32Array(1), new Float32Array(1), { m: 1, n: 1, k: 1 }, { ...DEFAULT_MATMUL_CONFIG, tm: 8 })).rejects.toThrow(RangeError);
  });
});

describe('matmul-modp.wgsl', () => {
  for (const p of [2, 7, 251, 65521]) {
    it(`equals the reference exactly modulo ${p}, every shape`, async () => {
      const random = seededRandom(p);
      for (const shape of SHAPES) {
        const a = randomResidues(shape.m * shape.k, random, p);
        const b = randomResidues(shape.k * shape.n, random, p);
        const config = CONFIGS[p % CONFIGS.length]!;
        const c = await scoped(() => gpu.modp(a, b, shape, p, config, { poisonOutput: POISON }));
        expect(c, `${shape.m}×${shape.n}×${shape.k}`).toEqual(matmulModpRef(a, b, shape, p));
      }
    });
  }

  it('handles the largest residues and a long K without overflow', async () => {
    const p = 65521;
    const shape = { m: 3, n: 5, k: 4099 };
    const a = new Uint32Array(shape.m * shape.k).fill(p - 1);
    const b = new Uint32Array(shape.k * shape.n).fill(p - 1);
    const c = await gpu.modp(a, b, shape, p);
    expect([...c]).toEqual(new Array(15).fill(4099 % p));
  });

  it('refuses residues not below p and moduli that are not small primes', async () => {
    await expect(gpu.modp(Uint32Array.of(7), Uint32Array.of(1), { m: 1, n: 1, k: 1 }, 7)).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(gpu.modp(Uint32Array.of(1), Uint32Array.of(1), { m: 1, n: 1, k: 1 }, 65537)).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });
});
