/**
 * Scalar CPU matmul kernels on a band of rows of C, for volunteers with no usable GPU (and for
 * browsers without WebAssembly SIMD; see matmul-simd.ts for the faster path).
 *
 * Both kernels share one inner block routine over Float32Array inputs, so V8 compiles a single
 * monomorphic loop: mod-p residues (< 65521 < 2^24) are exact in f32, so they are converted once
 * per call. Loop order is j-block, k-block, then i-k-j inside the block, so the innermost loop
 * streams a row of B and a row of the accumulator contiguously while the KC×NC block of B stays
 * in L2. Two rows of C are computed together (each B element loaded once feeds both) and k is
 * unrolled by 4 (one accumulator load/store per four multiply-adds).
 */
import { ErrorCode, TabgridError } from '../../errors';
import { MODP_MAX, checkModulus, checkShape, type MatmulShape } from './matmul';

/** Depth of a k-block: 128 rows of B (× NC columns × 4 bytes = 256 KiB, within L2). */
const KC = 128;
/** Width of a j-block: the two f64 accumulator rows take 8 KiB, within L1. */
const NC = 512;

/**
 * Mod p: a product of residues is < 2^32 and exact in f64, so a k-block sums up to KC·(p−1)^2
 * < 2^39 exactly and is reduced once (one % per element per k-block instead of per term). Any
 * block depth below 2^53 / 2^32 = 2^21 would do; the check documents the margin.
 */
if (KC * (MODP_MAX - 1) ** 2 >= 2 ** 53) throw new Error('KC too deep for exact f64 mod-p sums');

/** Throws BadInput unless rows [rowStart, rowEnd) lie in C and `out` is C-sized. */
export function checkBand(shape: MatmulShape, rowStart: number, rowEnd: number, outLength: number): void {
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowStart > rowEnd || rowEnd > shape.m) {
    throw new TabgridError(ErrorCode.BadInput, `row band ${rowStart}..${rowEnd} is not within 0..${shape.m}`);
  }
  if (outLength !== shape.m * shape.n) throw new TabgridError(ErrorCode.BadInput, `C has ${outLength} elements, M×N = ${shape.m * shape.n}`);
}

/**
 * acc0[0..w) = Σ_{t0≤t<t1} A[r0][t]·B[t][j0..j0+w), and likewise acc1 for row r1 (offsets of the
 * rows in `a` are ar0, ar1). Products of f32 values are exact in f64; sums round in f64.
 */
function block2(
  a: Float32Array,
  b: Float32Array,
  ar0: number,
  ar1: number,
  n: number,
  t0: number,
  t1: number,
  j0: number,
  w: number,
  acc0: Float64Array,
  acc1: Float64Array,
): void {
  acc0.fill(0, 0, w);
  acc1.fill(0, 0, w);
  let t = t0;
  for (; t + 3 < t1; t += 4) {
    const x0 = a[ar0 + t]!,
      x1 = a[ar0 + t + 1]!,
      x2 = a[ar0 + t + 2]!,
      x3 = a[ar0 + t + 3]!;
    const y0 = a[ar1 + t]!,
      y1 = a[ar1 + t + 1]!,
      y2 = a[ar1 + t + 2]!,
      y3 = a[ar1 + t + 3]!;
    const b0 = t * n + j0,
      b1 = b0 + n,
      b2 = b1 + n,
      b3 = b2 + n;
    for (let j = 0; j < w; j++) {
      const v0 = b[b0 + j]!,
        v1 = b[b1 + j]!,
        v2 = b[b2 + j]!,
        v3 = b[b3 + j]!;
      acc0[j] += x0 * v0 + x1 * v1 + x2 * v2 + x3 * v3;
      acc1[j] += y0 * v0 + y1 * v1 + y2 * v2 + y3 * v3;
    }
  }
  for (; t < t1; t++) {
    const x = a[ar0 + t]!,
      y = a[ar1 + t]!,
      bt = t * n + j0;
    for (let j = 0; j < w; j++) {
      const v = b[bt + j]!;
      acc0[j] += x * v;
      acc1[j] += y * v;
    }
  }
}

/**
 * Runs block2 over every (j-block, k-block, row pair) of the band and hands each finished row
 * block to `flush(row, j0, w, acc)`. An odd last row is paired with itself (its twin result is
 * discarded), which keeps one inner loop at the cost of at most one extra row.
 */
function bandBlocks(
  a: Float32Array,
  b: Float32Array,
  aRowOffset: number,
  n: number,
  k: number,
  rowStart: number,
  rowEnd: number,
  flush: (row: number, j0: number, w: number, acc: Float64Array) => void,
): void {
  const acc0 = new Float64Array(Math.min(NC, n));
  const acc1 = new Float64Array(Math.min(NC, n));
  for (let j0 = 0; j0 < n; j0 += NC) {
    const w = Math.min(NC, n - j0);
    for (let t0 = 0; t0 < k; t0 += KC) {
      const t1 = Math.min(k, t0 + KC);
      for (let i = rowStart; i < rowEnd; i += 2) {
        const second = i + 1 < rowEnd;
        const ar0 = (i - aRowOffset) * k;
        block2(a, b, ar0, second ? ar0 + k : ar0, n, t0, t1, j0, w, acc0, acc1);
        flush(i, j0, w, acc0);
        if (second) flush(i + 1, j0, w, acc1);
      }
    }
  }
}

/**
 * Rows [rowStart, rowEnd) of C = A·B into the same rows of `out` (M×N); other rows are left
 * alone. Within a k-block the sums are in f64 and each block's sum is rounded into the f32
 * result, so the error is a handful of f32 roundings (⌈K/128⌉ per element), well inside
 * f32ErrorBound (which allows for K sequential f32 roundings, twice over).
 */
export function matmulF32Rows(a: Float32Array, b: Float32Array, shape: MatmulShape, rowStart: number, rowEnd: number, out: Float32Array): void {
  checkShape(shape, a.length, b.length);
  checkBand(shape, rowStart, rowEnd, out.length);
  const { n, k } = shape;
  out.fill(0, rowStart * n, rowEnd * n);
  bandBlocks(a, b, 0, n, k, rowStart, rowEnd, (row, j0, w, acc) => {
    const cr = row * n + j0;
    for (let j = 0; j < w; j++) out[cr + j] += acc[j]!;
  });
}

/**
 * Rows [rowStart, rowEnd) of C = A·B mod p into `out`, bit-identical to matmulModpRef. Residues
 * must be below p (callers check with checkResidues; this O(1)-checks shape and modulus only).
 */
export function matmulModpRows(a: Uint32Array, b: Uint32Array, shape: MatmulShape, p: number, rowStart: number, rowEnd: number, out: Uint32Array): void {
  checkShape(shape, a.length, b.length);
  checkModulus(p);
  checkBand(shape, rowStart, rowEnd, out.length);
  const { n, k } = shape;
  // Only the band's rows of A are converted; its row 0 is C's row rowStart.
  const aBand = Float32Array.from(a.subarray(rowStart * k, rowEnd * k));
  const bF = Float32Array.from(b);
  out.fill(0, rowStart * n, rowEnd * n);
  bandBlocks(aBand, bF, rowStart, n, k, rowStart, rowEnd, (row, j0, w, acc) => {
    const cr = row * n + j0;
    for (let j = 0; j < w; j++) {
      // out < p and acc % p < p, so one conditional subtraction finishes the reduction.
      const s = out[cr + j]! + (acc[j]! % p);
      out[cr + j] = s >= p ? s - p : s;
    }
  });
}
