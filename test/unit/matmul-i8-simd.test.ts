import { describe, expect, it } from 'vitest';
import { matmulI8Ref } from '../../src/kernels/matmul-i8/matmul-i8';
import { i8Simd, matmulI8RowsSimd, packBForSimd } from '../../src/kernels/matmul-i8/matmul-i8-simd';
import { seededRandom } from '../../src/work/seeded';

function randomI8(length: number, random: () => number): Int8Array {
  return Int8Array.from({ length }, () => Math.floor(random() * 256) - 128);
}

describe('matmul-i8 WebAssembly SIMD CPU path', () => {
  it('assembles and validates here (Node has WebAssembly SIMD)', () => {
    expect(i8Simd()).not.toBeNull();
  });

  it('equals the reference bit for bit on odd shapes, bands and extremes', () => {
    const random = seededRandom(12);
    const shapes = [
      { m: 1, n: 1, k: 1 },
      { m: 37, n: 29, k: 41 },
      { m: 64, n: 64, k: 128 },
      { m: 5, n: 3, k: 9 },
      { m: 9, n: 130, k: 1023 },
    ];
    for (const shape of shapes) {
      const { m, n, k } = shape;
      const a = randomI8(m * k, random);
      const b = randomI8(k * n, random);
      const want = matmulI8Ref(a, b, shape);
      const bp = packBForSimd(b, k, n);
      const out = new Int32Array(m * n).fill(0x7eadbeef);
      expect(matmulI8RowsSimd(a, bp, shape, 0, m, out)).toBe(true);
      expect(out, `${m}×${n}×${k}`).toEqual(want);
      // A band: its rows written, others left alone.
      const band = new Int32Array(m * n).fill(0x7eadbeef);
      const from = Math.floor(m / 2);
      matmulI8RowsSimd(a, bp, shape, from, m, band);
      expect(band.subarray(from * n)).toEqual(want.subarray(from * n));
      expect(band.subarray(0, from * n).every((x) => x === 0x7eadbeef)).toBe(true);
    }
    const k = 1024;
    const a = new Int8Array(k).fill(-128);
    const b = new Int8Array(k * 2);
    for (let t = 0; t < k; t++) b.set([-128, 127], 2 * t);
    const out = new Int32Array(2);
    matmulI8RowsSimd(a, packBForSimd(b, k, 2), { m: 1, n: 2, k }, 0, 1, out);
    expect([...out]).toEqual([2 ** 24, -16256 * k]);
  });
});
