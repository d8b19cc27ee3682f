import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { f32ErrorBound, matmulF32Ref, matmulModpRef, maxAbs, type MatmulShape } from '../../src/kernels/matmul/matmul';
import { matmulF32Rows, matmulModpRows } from '../../src/kernels/matmul/matmul-cpu';
import { createSimdMatmul } from '../../src/kernels/matmul/matmul-simd';
import { seededRandom } from '../../src/work/seeded';
import { CpuMatmulPool } from '../../src/kernels/matmul/cpu-pool';

type F32Rows = (a: Float32Array, b: Float32Array, s: MatmulShape, r0: number, r1: number, out: Float32Array) => void;
type ModpRows = (a: Uint32Array, b: Uint32Array, s: MatmulShape, p: number, r0: number, r1: number, out: Uint32Array) => void;

const simd = createSimdMatmul();
const kernels: [string, F32Rows, ModpRows][] = [['scalar JS', matmulF32Rows, matmulModpRows]];
if (simd) kernels.push(['wasm SIMD', simd.matmulF32Rows.bind(simd), simd.matmulModpRows.bind(simd)]);

function randomF32(seed: number, length: number, scale = 1): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length }, () => (rand() * 2 - 1) * scale);
}

/** Residues mod p; with `high`, all within 16 of p − 1 (the largest products). */
function randomResidues(seed: number, length: number, p: number, high = false): Uint32Array {
  const rand = seededRandom(seed);
  return Uint32Array.from({ length }, () => (high ? Math.max(0, p - 1 - Math.floor(rand() * 16)) : Math.floor(rand() * p)));
}

/** Shapes written M×K×N: tiny, prime, tall/skinny, wide, a lone dot product, a ragged last tile. */
const shapes: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [31, 17, 64],
  [257, 3, 9],
  [3, 257, 129],
  [1, 1000, 1],
  [9, 300, 17],
  [66, 40, 70],
];
const shapeOf = ([m, k, n]: [number, number, number]): MatmulShape => ({ m, n, k });

function expectF32Close(got: Float32Array, want: Float32Array, bound: number): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(got.length).toBe(want.length);
  expect(worst).toBeLessThanOrEqual(bound);
}

describe.each(kernels)('%s band kernels', (_name, f32Rows, modpRows) => {
  it.each(shapes)('f32 %i×%i×%i is within f32ErrorBound of the reference', (m, k, n) => {
    const shape = shapeOf([m, k, n]);
    const a = randomF32(m * 7 + k, m * k, 3);
    const b = randomF32(n * 11 + k, k * n, 0.5);
    const out = new Float32Array(m * n).fill(NaN);
    f32Rows(a, b, shape, 0, m, out);
    expectF32Close(out, matmulF32Ref(a, b, shape), f32ErrorBound(k, maxAbs(a), maxAbs(b)));
  });

  it.each(shapes)('mod 65521 %i×%i×%i equals the reference exactly', (m, k, n) => {
    const shape = shapeOf([m, k, n]);
    const a = randomResidues(m + 3 * k, m * k, 65521);
    const b = randomResidues(n + 5 * k, k * n, 65521);
    const out = new Uint32Array(m * n);
    modpRows(a, b, shape, 65521, 0, m, out);
    expect(out).toEqual(matmulModpRef(a, b, shape, 65521));
  });

  it.each([2, 3, 65521])('mod %i with residues at the top of the range is exact', (p) => {
    const shape = { m: 13, n: 21, k: 77 };
    const a = randomResidues(p, 13 * 77, p, true);
    const b = randomResidues(p + 1, 77 * 21, p, true);
    const out = new Uint32Array(13 * 21);
    modpRows(a, b, shape, p, 0, 13, out);
    expect(out).toEqual(matmulModpRef(a, b, shape, p));
  });

  it('stays exact over K = 5000 at p = 65521 (sums near 2^44, reduced late)', () => {
    const shape = { m: 5, n: 6, k: 5000 };
    const a = randomResidues(50, 5 * 5000, 65521, true);
    const b = randomResidues(51, 5000 * 6, 65521, true);
    const out = new Uint32Array(30);
    modpRows(a, b, shape, 65521, 0, 5, out);
    expect(out).toEqual(matmulModpRef(a, b, shape, 65521));
  });

  it('writes only its band of rows, so bands assemble the whole product', () => {
    const shape = { m: 23, n: 19, k: 37 };
    const a = randomF32(1, 23 * 37);
    const b = randomF32(2, 37 * 19);
    const want = matmulF32Ref(a, b, shape);
    const out = new Float32Array(23 * 19).fill(42);
    f32Rows(a, b, shape, 5, 14, out);
    expect(out.subarray(0, 5 * 19).every((v) => v === 42)).toBe(true);
    expect(out.subarray(14 * 19).every((v) => v === 42)).toBe(true);
    for (const [r0, r1] of [
      [0, 5],
      [14, 22],
      [22, 23],
    ] as const)
      f32Rows(a, b, shape, r0, r1, out);
    expectF32Close(out, want, f32ErrorBound(37, maxAbs(a), maxAbs(b)));

    const am = randomResidues(3, 23 * 37, 65521);
    const bm = randomResidues(4, 37 * 19, 65521);
    const outM = new Uint32Array(23 * 19).fill(7);
    modpRows(am, bm, shape, 65521, 3, 10, outM);
    const wantM = matmulModpRef(am, bm, shape, 65521);
    expect(outM.subarray(3 * 19, 10 * 19)).toEqual(wantM.subarray(3 * 19, 10 * 19));
    expect(outM.subarray(0, 3 * 19).every((v) => v === 7)).toBe(true);
    expect(outM.subarray(10 * 19).every((v) => v === 7)).toBe(true);
  });

  it('does nothing for an empty band', () => {
    const shape = { m: 3, n: 5, k: 4 };
    const out = new Float32Array(15).fill(9);
    f32Rows(randomF32(1, 12), randomF32(2, 20), shape, 2, 2, out);
    expect(out.every((v) => v === 9)).toBe(true);
    const outM = new Uint32Array(15).fill(9);
    modpRows(randomResidues(1, 12, 11), randomResidues(2, 20, 11), shape, 11, 3, 3, outM);
    expect(outM.every((v) => v === 9)).toBe(true);
  });

  it('refuses bad bands, shapes and moduli with BadInput', () => {
    const shape = { m: 2, n: 2, k: 2 };
    const bad = [
      () => f32Rows(new Float32Array(4), new Float32Array(4), shape, 1, 3, new Float32Array(4)),
      () => f32Rows(new Float32Array(4), new Float32Array(4), shape, 2, 1, new Float32Array(4)),
      () => f32Rows(new Float32Array(4), new Float32Array(4), shape, 0, 2, new Float32Array(3)),
      () => f32Rows(new Float32Array(3), new Float32Array(4), shape, 0, 2, new Float32Array(4)),
      () => modpRows(new Uint32Array(4), new Uint32Array(4), shape, 65535, 0, 2, new Uint32Array(4)),
    ];
    for (const run of bad) expect(run).toThrow(expect.objectContaining({ code: ErrorCode.BadInput }));
  });
});

describe.runIf(simd)('wasm SIMD kernel state', () => {
  it('reuses a packed B across bands, and repacks for another shape or after release()', () => {
    const s = createSimdMatmul()!;
    const b = randomResidues(9, 12, 7);
    const a = randomResidues(10, 6 * 3, 7);
    const out = new Uint32Array(6 * 4);
    // Same B array viewed as 3×4, then as 4×3: the packed copy must not be reused.
    s.matmulModpRows(a, b, { m: 6, n: 4, k: 3 }, 7, 0, 6, out);
    expect(out).toEqual(matmulModpRef(a, b, { m: 6, n: 4, k: 3 }, 7));
    const a2 = randomResidues(11, 3 * 4, 7);
    const out2 = new Uint32Array(3 * 3);
    s.matmulModpRows(a2, b, { m: 3, n: 3, k: 4 }, 7, 0, 3, out2);
    expect(out2).toEqual(matmulModpRef(a2, b, { m: 3, n: 3, k: 4 }, 7));
    b.fill(1);
    s.release();
    s.matmulModpRows(a2, b, { m: 3, n: 3, k: 4 }, 7, 0, 3, out2);
    expect(out2).toEqual(matmulModpRef(a2, b, { m: 3, n: 3, k: 4 }, 7));
  });
});

describe('CpuMatmulPool without Worker (Node runs bands in-thread)', () => {
  it('matches the references, reports progress to M, and refuses bad residues', async () => {
    const pool = new CpuMatmulPool({ bandRows: 4 });
    const shape = { m: 10, n: 9, k: 33 };
    const a = randomF32(20, 10 * 33);
    const b = randomF32(21, 33 * 9);
    const progress: number[] = [];
    const c = await pool.matmulF32(a, b, shape, { onProgress: (done, total) => progress.push(done / total) });
    expectF32Close(c, matmulF32Ref(a, b, shape), f32ErrorBound(33, maxAbs(a), maxAbs(b)));
    expect(progress).toEqual([0.4, 0.8, 1]);
    const am = randomResidues(22, 10 * 33, 3, true);
    const bm = randomResidues(23, 33 * 9, 3, true);
    expect(await pool.matmulModp(am, bm, shape, 3)).toEqual(matmulModpRef(am, bm, shape, 3));
    bm[5] = 3;
    await expect(pool.matmulModp(am, bm, shape, 3)).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });

  it('fails the product with whatever its onProgress callback throws', async () => {
    const pool = new CpuMatmulPool({ bandRows: 1 });
    const boom = new Error('boom');
    const onProgress = () => {
      throw boom;
    };
    await expect(pool.matmulF32(new Float32Array(4), new Float32Array(4), { m: 2, n: 2, k: 2 }, { onProgress })).rejects.toBe(boom);
  });

  it('stops between bands when aborted', async () => {
    const pool = new CpuMatmulPool({ bandRows: 1 });
    const controller = new AbortController();
    const shape = { m: 50, n: 8, k: 8 };
    let reports = 0;
    const run = pool.matmulF32(new Float32Array(400), new Float32Array(64), shape, {
      signal: controller.signal,
      onProgress: () => (reports++, controller.abort()),
    });
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(reports).toBe(1);
  });
});
