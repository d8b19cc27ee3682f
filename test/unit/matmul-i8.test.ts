import { describe, expect, it } from 'vitest';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { jobUnit, parseJob } from '../../src/host/job';
import { checksOf } from '../../src/kernels/host-registry';
import { freivaldsI8, i8FalseAcceptBound, randomPrime } from '../../src/kernels/matmul-i8/freivalds';
import { i8Operands, seededInt8 } from '../../src/kernels/matmul-i8/inputs';
import { bytesOfI32, matmulI8Ref, matmulI8Row, matmulI8Rows, packColumns, packRows } from '../../src/kernels/matmul-i8/matmul-i8';
import type { MatmulI8Unit } from '../../src/kernels/matmul-i8/unit';
import { isPrime } from '../../src/kernels/matmul/matmul';
import { seededRandom } from '../../src/work/seeded';

/** The textbook loop, written apart from the reference (j outer, BigInt sums: no shortcut to share a bug with). */
function naive(a: Int8Array, b: Int8Array, m: number, n: number, k: number): Int32Array {
  const c = new Int32Array(m * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      let sum = 0n;
      for (let t = 0; t < k; t++) sum += BigInt(a[i * k + t]!) * BigInt(b[t * n + j]!);
      c[i * n + j] = Number(sum);
    }
  }
  return c;
}

function randomI8(length: number, random: () => number): Int8Array {
  return Int8Array.from({ length }, () => Math.floor(random() * 256) - 128);
}

const SHAPES = [
  { m: 1, n: 1, k: 1 },
  { m: 37, n: 29, k: 41 },
  { m: 5, n: 7, k: 3 },
  { m: 16, n: 9, k: 64 },
  { m: 3, n: 2, k: 1027 },
];

describe('matmul-i8 reference, checked by hand', () => {
  it('multiplies small signed matrices', () => {
    // [1 −2 3; −4 5 −6]·[7 −8; −9 10; 11 −12] = [58 −64; −139 154]
    const c = matmulI8Ref(Int8Array.of(1, -2, 3, -4, 5, -6), Int8Array.of(7, -8, -9, 10, 11, -12), { m: 2, n: 2, k: 3 });
    expect([...c]).toEqual([58, -64, -139, 154]);
  });

  it('reaches the extremes exactly: −128·−128, −128·127, and a long K of them', () => {
    expect([...matmulI8Ref(Int8Array.of(-128), Int8Array.of(-128), { m: 1, n: 1, k: 1 })]).toEqual([16384]);
    expect([...matmulI8Ref(Int8Array.of(-128), Int8Array.of(127), { m: 1, n: 1, k: 1 })]).toEqual([-16256]);
    const k = 1024;
    const a = new Int8Array(2 * k).fill(-128);
    const b = new Int8Array(k * 2);
    for (let t = 0; t < k; t++) b.set([-128, 127], 2 * t);
    // 1024 · 16384 = 2^24, 1024 · −16256: the largest magnitudes a unit (k ≤ 1024) can reach.
    expect([...matmulI8Ref(a, b, { m: 2, n: 2, k })]).toEqual([2 ** 24, -16256 * k, 2 ** 24, -16256 * k]);
  });

  it('refuses operands of the wrong size', () => {
    expect(() => matmulI8Ref(new Int8Array(5), new Int8Array(6), { m: 2, n: 2, k: 3 })).toThrow(/A has 5/);
  });
});

describe('matmul-i8 CPU paths', () => {
  it('the reference, the row check and the CPU rows equal a naive BigInt loop on random inputs', () => {
    const random = seededRandom(8);
    for (const shape of SHAPES) {
      const { m, n, k } = shape;
      const a = randomI8(m * k, random);
      const b = randomI8(k * n, random);
      const want = naive(a, b, m, n, k);
      expect(matmulI8Ref(a, b, shape)).toEqual(want);
      for (let i = 0; i < m; i++) expect(matmulI8Row(a, b, shape, i)).toEqual(want.subarray(i * n, (i + 1) * n));
      // A band in the middle, into a poisoned C: the band is written, the rest left alone.
      const out = new Int32Array(m * n).fill(0x7eadbeef);
      const [from, to] = [Math.floor(m / 3), m];
      matmulI8Rows(a, b, shape, from, to, out);
      expect(out.subarray(from * n)).toEqual(want.subarray(from * n));
      expect(out.subarray(0, from * n).every((x) => x === 0x7eadbeef)).toBe(true);
    }
  });

  it('packs A by rows and B by columns, four int8 a word, zero-padded', () => {
    const a = Int8Array.of(1, -1, 2, -2, 3, /* row 1 */ -128, 127, 0, 5, 6);
    const packed = packRows(a, 2, 5);
    expect(packed.length).toBe(4);
    expect(new Int8Array(packed.buffer)).toEqual(Int8Array.of(1, -1, 2, -2, 3, 0, 0, 0, -128, 127, 0, 5, 6, 0, 0, 0));
    // B (3×2) transposed: column 0 is (1, 3, 5), column 1 (2, 4, 6).
    const bt = packColumns(Int8Array.of(1, 2, 3, 4, 5, 6), 3, 2);
    expect(new Int8Array(bt.buffer)).toEqual(Int8Array.of(1, 3, 5, 0, 2, 4, 6, 0));
  });
});

describe('matmul-i8 inputs', () => {
  it('derive int8 values from the seed, reproducibly, over the whole range', () => {
    const x = seededInt8(5, 1, 65536);
    expect(seededInt8(5, 1, 65536)).toEqual(x);
    expect(seededInt8(5, 2, 16)).not.toEqual(x.subarray(0, 16));
    expect(Math.min(...x)).toBe(-128);
    expect(Math.max(...x)).toBe(127);
    // Each of the 256 values about 256 times.
    const counts = new Map<number, number>();
    for (const v of x) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect(counts.size).toBe(256);
    expect(Math.min(...counts.values())).toBeGreaterThan(180);
  });
});

describe("matmul-i8 Freivalds' check (modulo a fresh random prime)", () => {
  const shape = { m: 37, n: 29, k: 41 };
  const random = seededRandom(3);
  const a = randomI8(shape.m * shape.k, random);
  const b = randomI8(shape.k * shape.n, random);
  const c = matmulI8Ref(a, b, shape);

  it('draws primes in [2^25, 2^26)', () => {
    const r = seededRandom(1);
    for (let i = 0; i < 20; i++) {
      const q = randomPrime(r);
      expect(isPrime(q) && q >= 2 ** 25 && q < 2 ** 26).toBe(true);
    }
    expect(i8FalseAcceptBound(2)).toBeLessThan(2 ** -39);
  });

  it('accepts the honest product and rejects a wrong element, even one off by a multiple of a prime', () => {
    expect(freivaldsI8(a, b, c, shape, 2, seededRandom(4))).toEqual({ ok: true });
    for (const delta of [1, -1, 65521, 2 ** 25 + 1, 2 ** 31 - 1 - c[40]!]) {
      const wrong = c.slice();
      wrong[40] = wrong[40]! + delta;
      expect(freivaldsI8(a, b, wrong, shape, 1, seededRandom(5)), `delta ${delta}`).toEqual({ ok: false, badRow: 1 });
    }
  });
});

describe('matmul-i8 as the host knows it', () => {
  const job = { id: 'q', kernel: 'matmul-i8', units: 2, m: 12, n: 10, k: 9, seed: 4, samples: 4 } as const;

  it('parses jobs with every bit-exact policy and refuses a modulus', () => {
    expect(parseJob(job)).toBe(job);
    const { samples: _, ...rest } = job;
    expect(() => parseJob({ ...rest, replicate: true })).not.toThrow();
    expect(() => parseJob({ ...rest, verify: { policy: 'freivalds', rounds: 3 } })).not.toThrow();
    expect(() => parseJob({ ...job, p: 7 })).toThrow(/p is for matmul-modp only/);
    expect(() => parseJob({ ...job, k: 1025 })).toThrow(/k must be an integer in 1..1024/);
  });

  it("checks leaves and whole outputs against the unit's seeded operands", async () => {
    const hash = await createCpuSha256();
    const unit = jobUnit(job, 1) as MatmulI8Unit;
    const checks = checksOf(unit);
    if (checks.kind !== 'leaves') throw new Error('leaves expected');
    const { a, b } = i8Operands(unit);
    const c = matmulI8Ref(a, b, unit);
    expect(checks.reference(hash)).toEqual(bytesOfI32(c));
    const check = checks.leafCheck(hash);
    const row = (i: number, x: Int32Array) => bytesOfI32(x.slice(i * unit.n, (i + 1) * unit.n));
    expect(check(3, row(3, c))).toBeUndefined();
    const wrong = c.slice();
    wrong[3 * unit.n + 2] = wrong[3 * unit.n + 2]! - 1;
    expect(check(3, row(3, wrong))).toBe(`C[3][2] = ${wrong[3 * unit.n + 2]}, expected ${c[3 * unit.n + 2]}`);
    expect(checks.freivalds?.(bytesOfI32(c), 2, seededRandom(1))).toBeUndefined();
    expect(checks.freivalds?.(bytesOfI32(wrong), 2, seededRandom(1))).toMatch(/row 3 of C is wrong/);
  });
});
