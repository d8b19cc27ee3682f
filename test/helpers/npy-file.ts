import { encodeNpy, NpyDtype } from '../../src/data/npy';

/** A .npy file as a page is given one (a File), holding `data` with the given shape and dtype. */
export function npyFile(name: string, shape: readonly number[], data: Float32Array | Uint32Array | Uint16Array, dtype: NpyDtype = NpyDtype.Float32): File {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new File([encodeNpy(dtype, shape, bytes) as Uint8Array<ArrayBuffer>], name);
}

/**
 * A rows×cols matrix of small multiples of 1/8 (|x| ≤ 3/4): every product and partial sum of a
 * product with inner dimension up to ~10 000 is exact in f32, so C is the same whatever the order
 * (CPU, GPU, the test's own loop).
 */
export function exactMatrix(rows: number, cols: number, seed: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, (_, i) => (((i * 5 + seed * 11) % 13) - 6) / 8);
}

/** C = A·B, row-major, in f64 (exact for exactMatrix operands). */
export function product(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, inner: number, cols: number): number[] {
  const c: number[] = [];
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let t = 0; t < inner; t++) s += a[i * inner + t]! * b[t * cols + j]!;
      c.push(s);
    }
  return c;
}
