import { afterAll, describe, expect, it, vi } from 'vitest';
import { ErrorCode, TabgridError } from '../../src/errors';
import { f32ErrorBound, matmulF32Ref, matmulModpRef, maxAbs, type MatmulShape } from '../../src/kernels/matmul/matmul';
import { seededRandom } from '../../src/work/seeded';
import { CpuMatmulPool } from '../../src/kernels/matmul/cpu-pool';

function randomF32(seed: number, length: number): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length }, () => rand() * 2 - 1);
}

function randomResidues(seed: number, length: number, p: number): Uint32Array {
  const rand = seededRandom(seed);
  // Half of them at the top of the range, where products are largest.
  return Uint32Array.from({ length }, () => (rand() < 0.5 ? Math.max(0, p - 1 - Math.floor(rand() * 4)) : Math.floor(rand() * p)));
}

function expectF32Close(got: Float32Array, a: Float32Array, b: Float32Array, shape: MatmulShape): void {
  const want = matmulF32Ref(a, b, shape);
  const bound = f32ErrorBound(shape.k, maxAbs(a), maxAbs(b));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(got.length).toBe(want.length);
  expect(worst).toBeLessThanOrEqual(bound);
}

describe('CpuMatmulPool (module workers)', () => {
  // Three workers and 4-row bands: M = 37 makes ten bands, so workers take several each.
  const pool = new CpuMatmulPool({ workers: 3, bandRows: 4 });
  afterAll(() => pool.terminate());

  it('runs the WebAssembly SIMD kernels in its workers', async () => {
    expect(await pool.kernel()).toBe('wasm-simd');
  });

  it.each([
    [37, 29, 41],
    [1, 300, 5],
    [3, 17, 130],
  ])('f32 M=%i K=%i N=%i matches the reference, with progress reaching M', async (m, k, n) => {
    const shape = { m, n, k };
    const a = randomF32(m + k, m * k);
    const b = randomF32(n + k, k * n);
    const progress: [number, number][] = [];
    const c = await pool.matmulF32(a, b, shape, { onProgress: (done, total) => progress.push([done, total]) });
    expectF32Close(c, a, b, shape);
    expect(progress.at(-1)).toEqual([m, m]);
    expect(progress.map(([d]) => d)).toEqual([...progress.map(([d]) => d)].sort((x, y) => x - y));
  });

  it.each([
    [37, 29, 41, 65521],
    [1, 1000, 1, 65521],
    [3, 64, 9, 2],
    [21, 5000, 6, 65521],
  ])('mod p M=%i K=%i N=%i p=%i equals the reference exactly', async (m, k, n, p) => {
    const shape = { m, n, k };
    const a = randomResidues(m * k, m * k, p);
    const b = randomResidues(n * k + 1, k * n, p);
    expect(await pool.matmulModp(a, b, shape, p)).toEqual(matmulModpRef(a, b, shape, p));
  });

  it('plans its own bands when none are configured, and uses every worker on a large product', async () => {
    const auto = new CpuMatmulPool({ workers: 2 });
    try {
      const shape = { m: 160, n: 192, k: 256 };
      const a = randomF32(1, 160 * 256);
      const b = randomF32(2, 256 * 192);
      let reports = 0;
      const c = await auto.matmulF32(a, b, shape, { onProgress: () => reports++ });
      expectF32Close(c, a, b, shape);
      expect(reports).toBeGreaterThan(1);
    } finally {
      auto.terminate();
    }
  });

  it('rejects with Aborted when the signal fires mid-product, and works again afterwards', async () => {
    const shape = { m: 512, n: 512, k: 512 };
    const a = randomF32(3, 512 * 512);
    const b = randomF32(4, 512 * 512);
    const controller = new AbortController();
    let reports = 0;
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    try {
      const run = pool.matmulF32(a, b, shape, { signal: controller.signal, onProgress: () => (reports++, controller.abort()) });
      await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
      expect(reports).toBe(1);
      // At the first report one worker has just finished and the other two are mid-band: a band
      // cannot be interrupted, so those two are killed rather than waited for.
      expect(terminate).toHaveBeenCalledTimes(2);
    } finally {
      terminate.mockRestore();
    }

    const already = AbortSignal.abort();
    await expect(pool.matmulF32(a, b, shape, { signal: already })).rejects.toMatchObject({ code: ErrorCode.Aborted });

    const small = { m: 9, n: 7, k: 5 };
    const [x, y] = [randomF32(5, 45), randomF32(6, 35)];
    expectF32Close(await pool.matmulF32(x, y, small), x, y, small);
  });

  it('reports bad residues found in a worker as BadInput (the code survives the boundary)', async () => {
    const shape = { m: 12, n: 4, k: 6 };
    const a = randomResidues(7, 72, 65521);
    const b = randomResidues(8, 24, 65521);
    a[70] = 65521; // in the last band, so a worker finds it
    const err = await pool.matmulModp(a, b, shape, 65521).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TabgridError);
    expect((err as TabgridError).code).toBe(ErrorCode.BadInput);
    expect((err as TabgridError).message).toMatch(/not below the modulus/);
  });

  it('refuses bad shapes and moduli with BadInput before starting', async () => {
    await expect(pool.matmulF32(new Float32Array(5), new Float32Array(6), { m: 2, n: 2, k: 3 })).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(pool.matmulModp(new Uint32Array(1), new Uint32Array(1), { m: 1, n: 1, k: 1 }, 65535)).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });

  it('fails the running product with Aborted when terminated', async () => {
    const own = new CpuMatmulPool({ workers: 2, bandRows: 16 });
    const shape = { m: 256, n: 256, k: 256 };
    const run = own.matmulF32(randomF32(9, 256 * 256), randomF32(10, 256 * 256), shape, { onProgress: () => own.terminate() });
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    await expect(own.matmulF32(new Float32Array(1), new Float32Array(1), { m: 1, n: 1, k: 1 })).rejects.toMatchObject({ code: ErrorCode.Aborted });
  });
});
