/**
 * Unit inputs derived from a seed, so a unit travels as a few numbers and the host can rebuild
 * any single message to check it without storing the batch.
 *
 * Message `i` of a unit with seed `s` and length `L` is the first L bytes of the words
 * w_j = mix32(mix32(s ^ mix32(i)) + j), j = 0, 1, …, each written little-endian.
 * mix32 is the "lowbias32" integer hash (Chris Wellons' hash-prospector), a bijection on u32.
 */

export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Writes message `index` of the stream `seed` into `out` (its whole length). */
export function fillSeededMessage(seed: number, index: number, out: Uint8Array): void {
  const base = mix32((seed ^ mix32(index)) >>> 0);
  let j = 0;
  for (let at = 0; at < out.length; at += 4, j++) {
    const w = mix32((base + j) >>> 0);
    out[at] = w & 0xff;
    if (at + 1 < out.length) out[at + 1] = (w >>> 8) & 0xff;
    if (at + 2 < out.length) out[at + 2] = (w >>> 16) & 0xff;
    if (at + 3 < out.length) out[at + 3] = w >>> 24;
  }
}

export function seededMessage(seed: number, index: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  fillSeededMessage(seed, index, out);
  return out;
}

/** The seed of unit `index` of a job seeded `jobSeed`: unit seeds are decorrelated from each other by mix32. */
export function unitSeed(jobSeed: number, index: number): number {
  return mix32((jobSeed ^ mix32(index + 1)) >>> 0);
}

/** A small seeded PRNG for tests and sampling that must be reproducible (not for secrets). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix32(state) / 2 ** 32;
  };
}
