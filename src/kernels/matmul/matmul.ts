import { ErrorCode, TabgridError } from '../../errors';
import { MODP_MAX } from './unit';

export { MODP_MAX };

/** C (M×N) = A (M×K) · B (K×N), all row-major. */
export interface MatmulShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/** Largest dimension accepted (keeps every index and byte size well inside u32). */
export const MATMUL_MAX_DIM = 16384;

export function checkShape(shape: MatmulShape, aLength: number, bLength: number): void {
  const { m, n, k } = shape;
  for (const [name, v] of [
    ['M', m],
    ['N', n],
    ['K', k],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MATMUL_MAX_DIM) throw new TabgridError(ErrorCode.BadInput, `${name} = ${v} is outside 1..${MATMUL_MAX_DIM}`);
  }
  if (aLength !== m * k) throw new TabgridError(ErrorCode.BadInput, `A has ${aLength} elements, M×K = ${m * k}`);
  if (bLength !== k * n) throw new TabgridError(ErrorCode.BadInput, `B has ${bLength} elements, K×N = ${k * n}`);
}

export function isPrime(p: number): boolean {
  if (!Number.isInteger(p) || p < 2) return false;
  for (let d = 2; d * d <= p; d++) if (p % d === 0) return false;
  return true;
}

export function checkModulus(p: number): void {
  if (!isPrime(p) || p > MODP_MAX) throw new TabgridError(ErrorCode.BadInput, `modulus ${p} must be a prime ≤ ${MODP_MAX}`);
}

/** Checks that every element of a modp operand is a residue in 0..p-1. */
export function checkResidues(name: string, x: Uint32Array, p: number): void {
  for (let i = 0; i < x.length; i++) {
    if (x[i]! >= p) throw new TabgridError(ErrorCode.BadInput, `${name}[${i}] = ${x[i]} is not below the modulus ${p}`);
  }
}

/**
 * Reference f32 product: the plain triple loop, accumulated in f64 and rounded once, i.e. the
 * correctly rounded dot products (tests compare GPU results to it with an error bound).
 */
export function matmulF32Ref(a: Float32Array, b: Float32Array, shape: MatmulShape): Float32Array {
  return tripleLoop(new Float32Array(shape.m * shape.n), a, b, shape);
}

/**
 * The plain triple loop every reference product is: each dot product summed in f64 and stored
 * into `c` (rounded to f32 for a Float32Array; exact for integer sums below 2^53).
 */
export function tripleLoop<C extends Float32Array | Int32Array>(c: C, a: ArrayLike<number>, b: ArrayLike<number>, shape: MatmulShape): C {
  checkShape(shape, a.length, b.length);
  const { m, n, k } = shape;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let t = 0; t < k; t++) sum += a[i * k + t]! * b[t * n + j]!;
      c[i * n + j] = sum;
    }
  }
  return c;
}

/** Reference product over the integers modulo p (exact). */
export function matmulModpRef(a: Uint32Array, b: Uint32Array, shape: MatmulShape, p: number): Uint32Array {
  checkShape(shape, a.length, b.length);
  checkModulus(p);
  const { m, n, k } = shape;
  const c = new Uint32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      // Each product < 2^32 and the sum is reduced each step, so doubles stay exact.
      for (let t = 0; t < k; t++) sum = (sum + ((a[i * k + t]! * b[t * n + j]!) % p)) % p;
      c[i * n + j] = sum;
    }
  }
  return c;
}

/**
 * A bound on |computed − exact| for each element of an f32 product with inner size K, given
 * bounds on the operands' magnitudes: γ_K·Σ|a||b| ≤ γ_K·K·maxA·maxB with γ_K = K·u/(1 − K·u),
 * u = 2^-24 (Higham, Accuracy and Stability, §3.1), doubled for devices that flush denormals
 * or fuse multiply-adds differently, plus a tiny absolute term for results near zero.
 */
export function f32ErrorBound(k: number, maxAbsA: number, maxAbsB: number): number {
  const u = 2 ** -24;
  const gamma = (k * u) / (1 - k * u);
  return 2 * gamma * k * maxAbsA * maxAbsB + 2 ** -100;
}

export function maxAbs(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

/** C's elements as the bytes of its leaves (rows), little-endian as the platform (and WebGPU) stores them. */
export function bytesOfC(c: Float32Array | Uint32Array): Uint8Array {
  return new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
}
