import { describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { matmulF32Ref, type MatmulShape } from '../../src/kernels/matmul/matmul';
import { matmulF32Rows } from '../../src/kernels/matmul/matmul-cpu';
import { seededF32 } from '../../src/kernels/matmul/inputs';
import { createSimdMatmul } from '../../src/kernels/matmul/matmul-simd';
import { f32DetectableDelta, freivaldsF32 } from '../../src/proof/freivalds-f32';
import { seededRandom } from '../../src/work/seeded';

const f = Math.fround;

/** Values of both signs spread over 2^-20..2^20, with a few exact zeros. */
function mixed(seed: number, length: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => {
    const x = random();
    if (x < 0.02) return 0;
    return (x < 0.5 ? -1 : 1) * (1 + random()) * 2 ** Math.floor(random() * 41 - 20);
  });
}

/** Like mixed, but a third of the values are tiny (down to subnormal), so products underflow. */
function tiny(seed: number, length: number): Float32Array {
  const random = seededRandom(seed);
  const base = mixed(seed + 1, length);
  return base.map((x) => (random() < 0.33 ? f(x * 2 ** -130) : x));
}

/** c moved by more than |delta| in the direction of `sign`, as little beyond as f32 rounding allows. */
function beyond(c: number, delta: number, sign: number): number {
  let x = f(c + sign * delta);
  for (let more = 2 ** -20; !(Math.abs(x - c) > delta); more *= 2) x = f(c + sign * delta * (1 + more));
  return x;
}

type Product = (a: Float32Array, b: Float32Array, s: MatmulShape) => Float32Array;

/** An f32 product with a given order of accumulation, each step rounded as a device would. */
function ordered(order: (k: number) => number[], step: (sum: number, x: number, y: number) => number): Product {
  return (a, b, { m, n, k }) => {
    const c = new Float32Array(m * n);
    const ts = order(k);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (const t of ts) sum = step(sum, a[i * k + t]!, b[t * n + j]!);
        c[i * n + j] = sum;
      }
    }
    return c;
  };
}

const forward = (k: number) => Array.from({ length: k }, (_, t) => t);
const separate = (s: number, x: number, y: number) => f(s + f(x * y));
/** Fused multiply-add: x·y is exact in f64, so one rounding of the f64 sum is an FMA. */
const fused = (s: number, x: number, y: number) => f(s + x * y);
/** Flush-to-zero: subnormal inputs and results become 0, as some GPUs do. */
const ftz = (x: number) => (Math.abs(x) < 2 ** -126 ? 0 : x);
const flushing = (s: number, x: number, y: number) => ftz(f(s + ftz(f(ftz(x) * ftz(y)))));

/** Blocks of 16 summed in f32, then the block sums added in f32 (a GPU's tiled reduction). */
const blocked: Product = (a, b, { m, n, k }) => {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let total = 0;
      for (let t0 = 0; t0 < k; t0 += 16) {
        let part = 0;
        for (let t = t0; t < Math.min(k, t0 + 16); t++) part = f(part + f(a[i * k + t]! * b[t * n + j]!));
        total = f(total + part);
      }
      c[i * n + j] = total;
    }
  }
  return c;
};

const simd = createSimdMatmul();
const honest: Record<string, Product> = {
  'f64 rounded once (reference)': matmulF32Ref,
  'f32 forward': ordered(forward, separate),
  'f32 reversed': ordered((k) => forward(k).reverse(), separate),
  'f32 fused multiply-add': ordered(forward, fused),
  'f32 blocked by 16': blocked,
  'f32 flushing subnormals': ordered(forward, flushing),
  'f64 per 128-block (CPU kernel)': (a, b, s) => {
    const c = new Float32Array(s.m * s.n);
    matmulF32Rows(a, b, s, 0, s.m, c);
    return c;
  },
  ...(simd && {
    'f32 SIMD lanes (CPU kernel)': (a: Float32Array, b: Float32Array, s: MatmulShape) => {
      const c = new Float32Array(s.m * s.n);
      simd.matmulF32Rows(a, b, s, 0, s.m, c);
      return c;
    },
  }),
};

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [64, 64, 1024],
  [128, 200, 96],
  [3, 1, 257],
];
const inputs: Record<string, (seed: number, length: number, operand: 'A' | 'B') => Float32Array> = {
  'uniform [-1, 1)': (seed, length) => seededF32(seed, 1, length),
  'mixed signs and magnitudes': mixed,
  'with subnormal-range values': tiny,
  // Every product is subnormal, so a flushing device returns 0 where the exact value is not:
  // only the tolerance's absolute (flush) term lets that honest result through.
  'A subnormal, B normal': (seed, length, operand) => (operand === 'A' ? mixed(seed, length).map((x) => f(x * 2 ** -140)) : seededF32(seed, 2, length)),
};

describe('Freivalds for f32', () => {
  it('accepts honest products from every summation order, shape and input kind, even with margin 1', () => {
    let seed = 1;
    for (const [m, n, k] of shapes) {
      const shape = { m, n, k };
      for (const [inputName, make] of Object.entries(inputs)) {
        // The largest shape is costly to multiply eight ways; one input kind shows it.
        if (m * n * k > 1e6 && inputName !== 'mixed signs and magnitudes') continue;
        const a = make(seed++, m * k, 'A');
        const b = make(seed++, k * n, 'B');
        for (const [name, product] of Object.entries(honest)) {
          const c = product(a, b, shape);
          for (const margin of [1, 2]) {
            expect(
              freivaldsF32(a, b, c, shape, { random: seededRandom(seed), margin, rounds: 3 }),
              `${name}, ${m}×${n}×${k}, ${inputName}, margin ${margin}`,
            ).toEqual({ ok: true });
          }
        }
      }
    }
  });

  it('rejects one element changed beyond f32DetectableDelta, at several positions, both signs, every round', () => {
    for (const [m, n, k] of [
      [1, 1, 1],
      [7, 13, 5],
      [64, 64, 1024],
      [128, 200, 96],
    ] as const) {
      const shape = { m, n, k };
      const a = mixed(m + n, m * k);
      const b = mixed(k + 1, k * n);
      const c = matmulF32Ref(a, b, shape);
      const random = seededRandom(m * n * k);
      const positions = [0, m * n - 1, Math.floor((m * n) / 2), n - 1, (m - 1) * n, Math.floor(random() * m * n)];
      for (const e of positions) {
        const row = Math.floor(e / n);
        const delta = f32DetectableDelta(a, b, c, shape, row);
        for (const sign of [1, -1]) {
          const wrong = c.slice();
          wrong[e] = beyond(c[e]!, delta, sign);
          // Not far beyond (1%, or an ulp where the bound is a few ulps): the bound itself is tested.
          const ulp = 2 ** (Math.floor(Math.log2(Math.abs(c[e]!) || 2 ** -126)) - 23);
          expect(Math.abs(wrong[e]! - c[e]!)).toBeLessThanOrEqual(Math.max(1.01 * delta, delta + 2 * ulp));
          expect(freivaldsF32(a, b, wrong, shape, { random, rounds: 1 }), `${m}×${n}×${k} at ${e}`).toEqual({ ok: false, badRow: row });
        }
      }
    }
  });

  it('catches skipped work: the last 3% of K left out, or 16 columns never computed', () => {
    const shape = { m: 64, n: 64, k: 1024 };
    const a = seededF32(9, 1, 64 * 1024);
    const b = seededF32(9, 2, 1024 * 64);
    const c = matmulF32Ref(a, b, shape);
    const short = matmulF32Ref(
      a.filter((_, e) => e % 1024 < 993),
      b.subarray(0, 993 * 64),
      { m: 64, n: 64, k: 993 },
    );
    const holes = c.map((x, e) => (e % 64 < 16 ? 0 : x));
    const random = seededRandom(10);
    for (let trial = 0; trial < 20; trial++) {
      expect(freivaldsF32(a, b, short, shape, { random, rounds: 1 }).ok).toBe(false);
      expect(freivaldsF32(a, b, holes, shape, { random, rounds: 1 }).ok).toBe(false);
    }
  });

  it('passes a change of one ulp: the check is a tolerance, not bitwise', () => {
    const shape = { m: 7, n: 13, k: 5 };
    const a = seededF32(3, 1, 35);
    const b = seededF32(3, 2, 65);
    const c = matmulF32Ref(a, b, shape);
    c[20] = f(c[20]! * (1 + 2 ** -23));
    expect(freivaldsF32(a, b, c, shape, { random: seededRandom(5) }).ok).toBe(true);
  });

  it('catches errors arranged to cancel for r = ±1 (δ and −δ in one row)', () => {
    const shape = { m: 16, n: 32, k: 64 };
    const a = seededF32(7, 1, 16 * 64);
    const b = seededF32(7, 2, 64 * 32);
    const c = matmulF32Ref(a, b, shape);
    const random = seededRandom(8);
    for (let row = 0; row < 16; row++) {
      const delta = 100 * f32DetectableDelta(a, b, c, shape, row);
      const wrong = c.slice();
      wrong[row * 32 + 3] = f(c[row * 32 + 3]! + delta);
      wrong[row * 32 + 30] = f(c[row * 32 + 30]! - delta);
      expect(freivaldsF32(a, b, wrong, shape, { random, rounds: 1 }).badRow).toBe(row);
    }
  });

  it('rejects NaN and ±Infinity anywhere in C', () => {
    const shape = { m: 7, n: 13, k: 5 };
    const a = mixed(1, 35);
    const b = mixed(2, 65);
    const c = matmulF32Ref(a, b, shape);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const e of [0, 40, 90]) {
        const wrong = c.slice();
        wrong[e] = bad;
        expect(freivaldsF32(a, b, wrong, shape, { random: seededRandom(e) })).toEqual({ ok: false, badRow: Math.floor(e / 13) });
      }
    }
  });

  it('refuses bad inputs with BadInput', () => {
    const shape = { m: 2, n: 2, k: 2 };
    const a = Float32Array.of(1, 2, 3, 4);
    const c = matmulF32Ref(a, a, shape);
    const refused = (run: () => unknown) => {
      try {
        run();
        return false;
      } catch (e) {
        return isTabgridError(e, 'bad-input');
      }
    };
    expect(refused(() => freivaldsF32(a, a, c.subarray(1), shape))).toBe(true);
    expect(refused(() => freivaldsF32(a, a, c, shape, { margin: 0.5 }))).toBe(true);
    expect(refused(() => freivaldsF32(a, a, c, shape, { rounds: 1.5 }))).toBe(true);
    expect(refused(() => freivaldsF32(Float32Array.of(1, NaN, 3, 4), a, c, shape))).toBe(true);
    expect(refused(() => f32DetectableDelta(a, a, c, shape, 2))).toBe(true);
  });

  it('checks a 1024² product in a small fraction of the time of computing it (logged, not asserted)', () => {
    const side = 1024;
    const shape = { m: side, n: side, k: side };
    const a = seededF32(31, 1, side * side);
    const b = seededF32(31, 2, side * side);
    const c = new Float32Array(side * side);
    let t = performance.now();
    matmulF32Rows(a, b, shape, 0, side, c);
    const multiplyMs = performance.now() - t;
    freivaldsF32(a, b, c, shape, { random: seededRandom(1) }); // warm up
    t = performance.now();
    const result = freivaldsF32(a, b, c, shape, { random: seededRandom(2), rounds: 2 });
    const checkMs = performance.now() - t;
    expect(result).toEqual({ ok: true });
    const delta = f32DetectableDelta(a, b, c, shape, 500);
    const typical = Math.abs(c[500 * side + 7]!);
    console.log(
      `f32 1024³: blocked CPU matmul ${multiplyMs.toFixed(0)} ms; Freivalds, 2 rounds, ${checkMs.toFixed(1)} ms; ` +
        `one element is always caught beyond ${delta.toFixed(2)} (|C| there ${typical.toFixed(2)})`,
    );
  }, 60_000);
});
