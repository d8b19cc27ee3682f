import { describe, expect, it } from 'vitest';
import { f32ErrorBound, isPrime, matmulF32Ref, matmulModpRef } from '../../src/kernels/matmul/matmul';

describe('matmul references, checked by hand', () => {
  it('multiplies a 2×3 by a 3×2 (f32)', () => {
    const a = Float32Array.of(1, 2, 3, 4, 5, 6);
    const b = Float32Array.of(7, 8, 9, 10, 11, 12);
    // [1 2 3;4 5 6]·[7 8;9 10;11 12] = [58 64;139 154]
    expect([...matmulF32Ref(a, b, { m: 2, n: 2, k: 3 })]).toEqual([58, 64, 139, 154]);
  });

  it('handles 1×1, a row times a column, and a column times a row', () => {
    expect([...matmulF32Ref(Float32Array.of(3), Float32Array.of(-2), { m: 1, n: 1, k: 1 })]).toEqual([-6]);
    expect([...matmulF32Ref(Float32Array.of(1, 2, 3), Float32Array.of(4, 5, 6), { m: 1, n: 1, k: 3 })]).toEqual([32]);
    expect([...matmulF32Ref(Float32Array.of(1, 2), Float32Array.of(3, 4), { m: 2, n: 2, k: 1 })]).toEqual([3, 4, 6, 8]);
  });

  it('multiplies modulo a prime, including wrap-around at the largest residues', () => {
    // mod 7: [3 5;6 1]·[4 2;1 6] = [17 36;25 18] = [3 1;4 4]
    expect([...matmulModpRef(Uint32Array.of(3, 5, 6, 1), Uint32Array.of(4, 2, 1, 6), { m: 2, n: 2, k: 2 }, 7)]).toEqual([3, 1, 4, 4]);
    // (p-1)^2 * K mod p = K mod p for p = 65521, K = 3: each product is 1 mod p.
    const p = 65521;
    expect([...matmulModpRef(new Uint32Array(3).fill(p - 1), new Uint32Array(3).fill(p - 1), { m: 1, n: 1, k: 3 }, p)]).toEqual([3]);
  });

  it('refuses wrong sizes, non-primes and too-large moduli', () => {
    expect(() => matmulF32Ref(new Float32Array(5), new Float32Array(6), { m: 2, n: 2, k: 3 })).toThrow(/A has 5/);
    expect(() => matmulF32Ref(new Float32Array(6), new Float32Array(6), { m: 2, n: 2, k: 0 })).toThrow(/K = 0/);
    expect(() => matmulModpRef(new Uint32Array(1), new Uint32Array(1), { m: 1, n: 1, k: 1 }, 65536)).toThrow(/prime/);
    expect(() => matmulModpRef(new Uint32Array(1), new Uint32Array(1), { m: 1, n: 1, k: 1 }, 65537)).toThrow(/prime/);
    expect([2, 3, 65521].every(isPrime)).toBe(true);
    expect([0, 1, 4, 65535].some(isPrime)).toBe(false);
  });

  it('bounds f32 error so that it grows with K and the magnitudes', () => {
    expect(f32ErrorBound(1024, 1, 1)).toBeGreaterThan(f32ErrorBound(16, 1, 1));
    expect(f32ErrorBound(64, 10, 1)).toBeCloseTo(10 * f32ErrorBound(64, 1, 1), 20);
  });
});
