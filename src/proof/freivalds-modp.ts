import { checkModulus, checkShape, type MatmulShape } from '../kernels/matmul/matmul';
import { ErrorCode, TabgridError } from '../errors';
import { cryptoRandom, randomBelow, type Random } from './random';

/**
 * Freivalds' check of a claimed product C = A·B mod p (A m×k, B k×n, C m×n, row-major residues,
 * p a prime ≤ 65521): draw r uniform in Z_p^n and compare A(Br) with Cr, O(mk + kn + mn) per
 * round against O(mkn) to recompute.
 *
 * Guarantee: if C ≠ A·B, some row d of D = C − A·B is nonzero, say d_j ≠ 0; whatever the other
 * entries of r, d·r = 0 mod p for exactly one value of r_j, so a round misses with probability
 * at most 1/p + 2^-32 (the 2^-32 because `random` has 32 bits, see random.ts), and `rounds`
 * independent rounds miss with probability ≤ (1/p + 2^-32)^rounds (modpFalseAcceptBound). An
 * honest C always passes: the arithmetic below is exact.
 *
 * Exactness without BigInt: residues are < 2^16, so each product is < 2^32 and a sum of up to
 * 2^21 of them stays below 2^53, where doubles are exact integers; sums are reduced mod p every
 * `chunk` terms (for p = 65521 that is once per dot product, as every side is ≤ 16384).
 */

export interface FreivaldsOptions {
  /** Independent rounds (default 2). */
  readonly rounds?: number;
  /** Uniform in [0, 1); default crypto-strong. Pass seededRandom in tests. */
  readonly random?: Random;
}

export interface FreivaldsResult {
  readonly ok: boolean;
  /** A row of C shown to be wrong, when !ok. */
  readonly badRow?: number;
}

export const DEFAULT_FREIVALDS_ROUNDS = 2;

/** Probability that `rounds` rounds all accept a wrong product modulo p. */
export function modpFalseAcceptBound(p: number, rounds: number): number {
  return (1 / p + 2 ** -32) ** rounds;
}

export function checkRounds(rounds: number): void {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 64) throw new TabgridError(ErrorCode.BadInput, `rounds = ${rounds} is outside 1..64`);
}

export function freivaldsModp(a: Uint32Array, b: Uint32Array, c: Uint32Array, shape: MatmulShape, p: number, options: FreivaldsOptions = {}): FreivaldsResult {
  const { rounds = DEFAULT_FREIVALDS_ROUNDS, random = cryptoRandom } = options;
  checkShape(shape, a.length, b.length);
  checkModulus(p);
  checkRounds(rounds);
  const { m, n, k } = shape;
  if (c.length !== m * n) throw new TabgridError(ErrorCode.BadInput, `C has ${c.length} elements, M×N = ${m * n}`);
  const chunk = Math.floor((2 ** 53 - p) / ((p - 1) * (p - 1)));
  const r = new Float64Array(n);
  const br = new Float64Array(k);
  for (let round = 0; round < rounds; round++) {
    // The first round also checks that every element is a residue (one pass over the data, not two).
    const dot = round === 0 ? dotModChecked : dotMod;
    for (let j = 0; j < n; j++) r[j] = randomBelow(random, p);
    for (let t = 0; t < k; t++) {
      br[t] = dot(b, t * n, r, n, p, chunk);
      // A and B are the host's own operands: a non-residue there is a caller's bug, not a cheat.
      if (br[t]! < 0) throw notResidues('B', t);
    }
    for (let i = 0; i < m; i++) {
      const abr = dot(a, i * k, br, k, p, chunk);
      if (abr < 0) throw notResidues('A', i);
      // A non-residue in C is a wrong answer (and would break the exactness argument).
      if (abr !== dot(c, i * n, r, n, p, chunk)) return { ok: false, badRow: i };
    }
  }
  return { ok: true };
}

function notResidues(name: string, row: number): TabgridError {
  return new TabgridError(ErrorCode.BadInput, `row ${row} of ${name} has an element not below the modulus`);
}

/** dotMod, or −1 if some x[at + t] is not below p. */
function dotModChecked(x: Uint32Array, at: number, y: Float64Array, len: number, p: number, chunk: number): number {
  let max = 0;
  for (let t = 0; t < len; t++) max = Math.max(max, x[at + t]!);
  return max >= p ? -1 : dotMod(x, at, y, len, p, chunk);
}

/** (Σ_{t<len} x[at + t]·y[t]) mod p, exactly, for residues x, y. */
function dotMod(x: Uint32Array, at: number, y: Float64Array, len: number, p: number, chunk: number): number {
  let acc = 0;
  for (let start = 0; start < len; start += chunk) {
    const end = Math.min(len, start + chunk);
    // acc < p and each term < (p−1)², so by the choice of chunk the partial sum stays < 2^53.
    let sum = acc;
    for (let t = start; t < end; t++) sum += x[at + t]! * y[t]!;
    acc = sum % p;
  }
  return acc;
}
