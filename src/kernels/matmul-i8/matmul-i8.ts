/**
 * C = A·B for int8 A (m×k) and B (k×n), exact int32 C (m×n), all row-major: the reference, the
 * CPU path, and the packing the GPU runner uploads. Every |C| ≤ 128·128·k, so for k ≤ 131071
 * (the unit's k ≤ 1024 gives ≤ 2^24) no sum can overflow int32, and JavaScript numbers, exact
 * to 2^53, compute it exactly without any care.
 */
import { ErrorCode, TabgridError } from '../../errors';
import { checkShape, tripleLoop, type MatmulShape } from '../matmul/matmul';

/** The plain triple loop: what every other path is compared with. */
export function matmulI8Ref(a: Int8Array, b: Int8Array, shape: MatmulShape): Int32Array {
  // |C| ≤ 128·128·k < 2^31 for every legal k: the f64 sums are exact and fit an int32.
  return tripleLoop(new Int32Array(shape.m * shape.n), a, b, shape);
}

/** Row i of C, exactly: what the host recomputes for a challenged leaf, O(k·n). */
export function matmulI8Row(a: Int8Array, b: Int8Array, shape: MatmulShape, i: number): Int32Array {
  const { n, k } = shape;
  const row = new Int32Array(n);
  for (let t = 0; t < k; t++) {
    const x = a[i * k + t]!;
    const bt = t * n;
    for (let j = 0; j < n; j++) row[j]! += x * b[bt + j]!;
  }
  return row;
}

/**
 * Rows [rowStart, rowEnd) of C into the same rows of `out` (m×n), the CPU path (plain JS): i-t-j
 * order, so the inner loop streams a row of B and a row of C; four steps of t at once (one load
 * and store of C per four multiply-adds). Int32 sums of small products stay small integers, which
 * V8 keeps unboxed.
 */
export function matmulI8Rows(a: Int8Array, b: Int8Array, shape: MatmulShape, rowStart: number, rowEnd: number, out: Int32Array): void {
  checkShape(shape, a.length, b.length);
  const { m, n, k } = shape;
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowStart > rowEnd || rowEnd > m) {
    throw new TabgridError(ErrorCode.BadInput, `row band ${rowStart}..${rowEnd} is not within 0..${m}`);
  }
  if (out.length !== m * n) throw new TabgridError(ErrorCode.BadInput, `C has ${out.length} elements, M×N = ${m * n}`);
  out.fill(0, rowStart * n, rowEnd * n);
  for (let i = rowStart; i < rowEnd; i++) {
    const ci = i * n;
    const ai = i * k;
    let t = 0;
    for (; t + 3 < k; t += 4) {
      const x0 = a[ai + t]!,
        x1 = a[ai + t + 1]!,
        x2 = a[ai + t + 2]!,
        x3 = a[ai + t + 3]!;
      const b0 = t * n,
        b1 = b0 + n,
        b2 = b1 + n,
        b3 = b2 + n;
      for (let j = 0; j < n; j++) out[ci + j]! += x0 * b[b0 + j]! + x1 * b[b1 + j]! + x2 * b[b2 + j]! + x3 * b[b3 + j]!;
    }
    for (; t < k; t++) {
      const x = a[ai + t]!;
      const bt = t * n;
      for (let j = 0; j < n; j++) out[ci + j]! += x * b[bt + j]!;
    }
  }
}

/** Packed u32 words per row of K int8 values: four a word, the last zero-padded (zeros add nothing to a dot product). */
export const packedWords = (k: number) => Math.ceil(k / 4);

/**
 * Rows of A (rows×k) packed four int8 a word, byte t % 4 of word t / 4 (little-endian, as
 * WebGPU reads a buffer's bytes), each row padded to whole words.
 */
export function packRows(a: Int8Array, rows: number, k: number): Uint32Array {
  const k4 = packedWords(k);
  const bytes = new Int8Array(rows * k4 * 4);
  for (let r = 0; r < rows; r++) bytes.set(a.subarray(r * k, (r + 1) * k), r * k4 * 4);
  return new Uint32Array(bytes.buffer);
}

/** B (k×n) transposed and packed along K: column j of B is row j of the result, as packRows lays rows out. */
export function packColumns(b: Int8Array, k: number, n: number): Uint32Array {
  const k4 = packedWords(k);
  const bytes = new Int8Array(n * k4 * 4);
  for (let t = 0; t < k; t++) {
    const bt = t * n;
    for (let j = 0; j < n; j++) bytes[j * k4 * 4 + t] = b[bt + j]!;
  }
  return new Uint32Array(bytes.buffer);
}

/** C's elements as the bytes of its leaves (rows of n int32, little-endian as the platform and WebGPU store them). */
export function bytesOfI32(c: Int32Array): Uint8Array {
  return new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
}
