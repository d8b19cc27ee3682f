/**
 * Freivalds' check of a claimed int8 product C = A·B over the integers, modulo a prime drawn
 * afresh each round after the commitment. A fixed prime would not do: a cheater who adds that
 * prime to an element of C would pass every round. Here, with D = C − A·B ≠ 0, some entry d ≠ 0
 * has |d| < 2^31 + 2^24 < 2^32 (C is int32, |A·B| ≤ 2^24), so d has at most one prime factor in
 * [2^25, 2^26) (two would exceed 2^50); q, uniform among the ≈ 1.9 million primes there,
 * divides d with probability ≤ 2^-20. When it does not, r uniform in Z_q^n misses (d·r ≡ 0 mod
 * q) with probability ≤ 1/q + 2^-32. So a round misses with probability < 2^-20 + 2^-25 + 2^-32
 * ≈ 2^-19.9 (i8FalseAcceptBound), and rounds are independent.
 *
 * Exactness without BigInt: r < 2^26 and |a|, |b| ≤ 128, so a term of Br or A(Br) is < 2^33 in
 * magnitude and a sum of up to 2^19 of them (any side here is ≤ 16384) is an exact double; C's
 * elements are reduced mod q first, so each term of Cr is < 2^52 and is reduced as it is added.
 * O(mk + kn + mn) per round against O(mkn) to recompute.
 */
import { checkRounds } from '../../proof/freivalds-modp';
import { randomBelow, type Random } from '../../proof/random';
import { isPrime } from '../matmul/matmul';
import { i8Operands } from './inputs';
import type { MatmulI8Unit } from './unit';

const LOW = 2 ** 25;

/** A prime uniform among those in [2^25, 2^26): odd candidates drawn until one is prime (about 9 tries). */
export function randomPrime(random: Random): number {
  for (;;) {
    const candidate = (LOW + randomBelow(random, LOW)) | 1;
    if (isPrime(candidate)) return candidate;
  }
}

/** Probability that `rounds` rounds all accept a wrong product (the argument above). */
export function i8FalseAcceptBound(rounds: number): number {
  return (2 ** -20 + 2 ** -25 + 2 ** -32) ** rounds;
}

const mod = (x: number, q: number) => ((x % q) + q) % q;

/** Whether C = A·B passes `rounds` rounds; the first row shown wrong otherwise. */
export function freivaldsI8(
  a: Int8Array,
  b: Int8Array,
  c: Int32Array,
  shape: { readonly m: number; readonly n: number; readonly k: number },
  rounds: number,
  random: Random,
): { readonly ok: boolean; readonly badRow?: number } {
  checkRounds(rounds);
  const { m, n, k } = shape;
  const r = new Float64Array(n);
  const br = new Float64Array(k);
  for (let round = 0; round < rounds; round++) {
    const q = randomPrime(random);
    for (let j = 0; j < n; j++) r[j] = randomBelow(random, q);
    for (let t = 0; t < k; t++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += b[t * n + j]! * r[j]!;
      br[t] = mod(sum, q);
    }
    for (let i = 0; i < m; i++) {
      let abr = 0;
      for (let t = 0; t < k; t++) abr += a[i * k + t]! * br[t]!;
      let cr = 0;
      for (let j = 0; j < n; j++) cr = (cr + mod(c[i * n + j]!, q) * r[j]!) % q;
      if (mod(abr, q) !== cr) return { ok: false, badRow: i };
    }
  }
  return { ok: true };
}

/** The host's hook: the unit's whole C (already hashed to its root), checked against its seeded operands. */
export function i8Freivalds(unit: MatmulI8Unit, output: Uint8Array, rounds: number, random: Random): string | undefined {
  const { a, b } = i8Operands(unit);
  // Copied, so the words are aligned whatever offset the bytes had.
  const check = freivaldsI8(a, b, new Int32Array(new Uint8Array(output).buffer), unit, rounds, random);
  return check.ok ? undefined : `Freivalds' check failed: row ${check.badRow} of C is wrong`;
}
