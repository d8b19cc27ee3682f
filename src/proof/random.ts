/**
 * Randomness for checks a volunteer must not be able to predict: which results are verified
 * (trust.ts) and the vectors of Freivalds' checks (freivalds-*.ts). Everything that draws takes
 * a `random: () => number` in [0, 1), so tests pass `seededRandom` and are reproducible; the
 * default here is crypto-strong, because a predictable check is one a cheater can dodge.
 */

/** A source of numbers uniform in [0, 1). */
export type Random = () => number;

const BATCH = 256;
let pool: Uint32Array | undefined;
let next = BATCH;

/**
 * Uniform in [0, 1) with 32 random bits, from `crypto.getRandomValues` (browsers and Node 20).
 * Words are drawn a batch at a time: one call per draw would dominate a Freivalds round.
 */
export function cryptoRandom(): number {
  if (pool === undefined || next === BATCH) {
    // Looked up on first use, not at import, so the module loads anywhere.
    pool = globalThis.crypto.getRandomValues(new Uint32Array(BATCH));
    next = 0;
  }
  return pool[next++]! / 2 ** 32;
}

/**
 * An integer uniform in 0..n-1 (n ≤ 2^32). With a 32-bit `random`, each value has probability
 * at most 1/n + 2^-32, the slack the false-accept bounds of freivalds-modp.ts carry.
 */
export function randomBelow(random: Random, n: number): number {
  // min(): a `random` that returns exactly 1 (out of contract) still gives a value below n.
  return Math.min(n - 1, Math.floor(random() * n));
}
