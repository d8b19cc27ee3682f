import { describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { MODP_MAX, matmulModpRef } from '../../src/kernels/matmul/matmul';
import { matmulModpRows } from '../../src/kernels/matmul/matmul-cpu';
import { seededResidues } from '../../src/kernels/matmul/inputs';
import { freivaldsModp, modpFalseAcceptBound } from '../../src/proof/freivalds-modp';
import { seededRandom } from '../../src/work/seeded';

function problem(seed: number, m: number, n: number, k: number, p: number) {
  const a = seededResidues(seed, 1, m * k, p);
  const b = seededResidues(seed, 2, k * n, p);
  return { a, b, c: matmulModpRef(a, b, { m, n, k }, p), shape: { m, n, k } };
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 9, 1],
  [5, 1, 7],
  [7, 13, 5],
  [33, 17, 64],
  [64, 3, 129],
];
const primes = [2, 3, 7, 251, 65519, MODP_MAX];

describe('Freivalds modulo p', () => {
  it('accepts the reference product for odd shapes and several primes', () => {
    let seed = 1;
    for (const [m, n, k] of shapes) {
      for (const p of primes) {
        const { a, b, c, shape } = problem(seed++, m, n, k, p);
        expect(freivaldsModp(a, b, c, shape, p, { random: seededRandom(seed) }), `${m}×${n}×${k} mod ${p}`).toEqual({ ok: true });
      }
    }
  });

  it('accepts the largest residues, where every product is (p−1)² and sums need exact doubles', () => {
    const p = MODP_MAX;
    const [m, n, k] = [3, 1024, 1024];
    const a = new Uint32Array(m * k).fill(p - 1);
    const b = new Uint32Array(k * n).fill(p - 1);
    const c = matmulModpRef(a, b, { m, n, k }, p);
    expect(freivaldsModp(a, b, c, { m, n, k }, p, { random: seededRandom(4) })).toEqual({ ok: true });
    c[2 * n + 1] = (c[2 * n + 1]! + 1) % p;
    expect(freivaldsModp(a, b, c, { m, n, k }, p, { random: seededRandom(4) })).toEqual({ ok: false, badRow: 2 });
  });

  it('catches a single wrong element at every position of a small product, naming its row', () => {
    const p = 65519;
    const { a, b, c, shape } = problem(11, 7, 13, 5, p);
    const random = seededRandom(12);
    for (let e = 0; e < c.length; e++) {
      const wrong = c.slice();
      // Off by one and off by p − 1 (i.e. −1): the smallest changes there are.
      for (const delta of [1, p - 1]) {
        wrong[e] = (c[e]! + delta) % p;
        expect(freivaldsModp(a, b, wrong, shape, p, { random, rounds: 2 })).toEqual({ ok: false, badRow: Math.floor(e / shape.n) });
      }
    }
  });

  it('catches wrong elements at random positions of random products (fixed seeds)', () => {
    const random = seededRandom(99);
    for (let trial = 0; trial < 40; trial++) {
      const [m, n, k] = [1 + Math.floor(random() * 40), 1 + Math.floor(random() * 40), 1 + Math.floor(random() * 40)];
      const p = MODP_MAX;
      const { a, b, c, shape } = problem(1000 + trial, m, n, k, p);
      const e = Math.floor(random() * c.length);
      const wrong = c.slice();
      wrong[e] = (c[e]! + 1 + Math.floor(random() * (p - 1))) % p;
      expect(freivaldsModp(a, b, wrong, shape, p, { random }).badRow).toBe(Math.floor(e / n));
      // Two wrong elements in one row whose differences could cancel for a poor r.
      if (n > 1) {
        const row = Math.floor(e / n) * n;
        wrong.set(c.subarray(row, row + n), row);
        wrong[row] = (c[row]! + 1) % p;
        wrong[row + 1] = (c[row + 1]! + p - 1) % p;
        expect(freivaldsModp(a, b, wrong, shape, p, { random }).ok).toBe(false);
      }
    }
  });

  it('rejects a non-residue in C as a wrong result', () => {
    const p = 251;
    const { a, b, c, shape } = problem(5, 4, 6, 3, p);
    c[13] = c[13]! + p; // congruent to the right value, but not a residue
    expect(freivaldsModp(a, b, c, shape, p, { random: seededRandom(1) })).toEqual({ ok: false, badRow: 2 });
  });

  it('misses a wrong product about 1/p of the time per round with p = 2, as the bound says', () => {
    // With p = 2 a round misses with probability exactly 1/2 for a single wrong element.
    const p = 2;
    const { a, b, c, shape } = problem(8, 5, 9, 4, p);
    c[7] = c[7]! ^ 1;
    const random = seededRandom(3);
    let misses = 0;
    for (let i = 0; i < 2000; i++) if (freivaldsModp(a, b, c, shape, p, { random, rounds: 1 }).ok) misses++;
    expect(misses / 2000).toBeGreaterThan(0.45);
    expect(misses / 2000).toBeLessThan(0.55);
    expect(modpFalseAcceptBound(MODP_MAX, 2)).toBeLessThan(2.4e-10);
  });

  it('refuses bad inputs with BadInput', () => {
    const { a, b, c, shape } = problem(2, 2, 2, 2, 7);
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isTabgridError(e, 'bad-input');
      }
      return false;
    };
    expect(bad(() => freivaldsModp(a, b, c.subarray(1), shape, 7))).toBe(true);
    expect(bad(() => freivaldsModp(a, b, c, shape, 8))).toBe(true);
    expect(bad(() => freivaldsModp(a, b, c, shape, 7, { rounds: 0 }))).toBe(true);
    expect(bad(() => freivaldsModp(Uint32Array.of(7, 0, 0, 0), b, c, shape, 7))).toBe(true);
    expect(bad(() => freivaldsModp(a, b, c, { m: 2, n: 2, k: 3 }, 7))).toBe(true);
  });

  it('checks a 1024² product in a small fraction of the time of computing it (logged, not asserted)', () => {
    const p = MODP_MAX;
    const side = 1024;
    const shape = { m: side, n: side, k: side };
    const a = seededResidues(21, 1, side * side, p);
    const b = seededResidues(21, 2, side * side, p);
    const c = new Uint32Array(side * side);
    let t = performance.now();
    matmulModpRows(a, b, shape, p, 0, side, c);
    const multiplyMs = performance.now() - t;
    freivaldsModp(a, b, c, shape, p, { random: seededRandom(1) }); // warm up
    t = performance.now();
    const result = freivaldsModp(a, b, c, shape, p, { random: seededRandom(2), rounds: 2 });
    const checkMs = performance.now() - t;
    expect(result).toEqual({ ok: true });
    c[side * side - 1] = (c[side * side - 1]! + 1) % p;
    expect(freivaldsModp(a, b, c, shape, p, { random: seededRandom(3) })).toEqual({ ok: false, badRow: side - 1 });
    console.log(`modp 1024³: blocked CPU matmul ${multiplyMs.toFixed(0)} ms; Freivalds, 2 rounds, ${checkMs.toFixed(1)} ms`);
  }, 60_000);
});
