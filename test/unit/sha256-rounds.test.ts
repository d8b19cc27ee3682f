/**
 * The WGSL generator of the SHA-256 kernels (sha256-rounds.ts), checked on the CPU: its statements
 * use only lets, u32 literals, +, and the helper functions, so they translate line by line to
 * JavaScript and run here against the plain TS reference. The GPU tests (browser, dawn) run the
 * same statements as WGSL.
 */
import { describe, expect, it } from 'vitest';
import { SHA256_IV, compressWords, sha256Ref } from '../../src/hash/sha256-ref';
import { compressBlock, paddedBlocks, paddedBlockWords, type CompressOptions, type Word } from '../../src/kernels/sha256-batch/sha256-rounds';
import { seededRandom } from '../../src/work/seeded';

const rotr = (x: number, n: number) => ((x >>> n) | (x << (32 - n))) >>> 0;
const helpers = {
  bsig0: (x: number) => (rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22)) >>> 0,
  bsig1: (x: number) => (rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25)) >>> 0,
  ssig0: (x: number) => (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) >>> 0,
  ssig1: (x: number) => (rotr(x, 17) ^ rotr(x, 19) ^ (x >>> 10)) >>> 0,
  ch: (e: number, f: number, g: number) => (g ^ (e & (f ^ g))) >>> 0,
  maj: (a: number, b: number, c: number) => ((a & b) | (c & (a | b))) >>> 0,
};

/** The generated WGSL statements as JavaScript: u32 literals unsuffixed, every let and += reduced mod 2^32. */
function toJs(wgsl: string): string {
  return wgsl
    .replace(/\b(0x[0-9a-f]+)u\b/g, '$1')
    .replace(/\blet (\w+) = (.*);/g, 'const $1 = ($2) >>> 0;')
    .replace(/^(\s*)(\w+) \+= (\w+);/gm, '$1$2 = ($2 + $3) >>> 0;');
}

/** Runs compressBlock's statements on `state` and message words `m` (words refer to them as m[k]). */
function run(words: readonly Word[], state: Uint32Array, m: Uint32Array, options: CompressOptions = {}): { state: Uint32Array; seen: number[] } {
  const names = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'];
  const body = toJs(compressBlock(names, words, options));
  const seen: number[] = [];
  const code = `let [${names.join(', ')}] = state;\n${body}\nreturn [${names.join(', ')}];`;
  const f = new Function('state', 'm', 'seen', ...Object.keys(helpers), code) as (...args: unknown[]) => number[];
  return { state: Uint32Array.from(f(state, m, seen, ...Object.values(helpers))), seen };
}

const bigEndianWords = (bytes: Uint8Array) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i));
};

describe('sha256-rounds.ts', () => {
  it('one compression of run-time words equals the reference, from any state', () => {
    const random = seededRandom(1);
    for (let trial = 0; trial < 5; trial++) {
      const state = Uint32Array.from({ length: 8 }, () => Math.floor(random() * 2 ** 32));
      const m = Uint32Array.from({ length: 16 }, () => Math.floor(random() * 2 ** 32));
      const want = new Uint32Array(8);
      const w = new Uint32Array(64);
      w.set(m);
      compressWords(state, w, want);
      expect(
        run(
          Array.from({ length: 16 }, (_, t) => `m[${t}]`),
          state,
          m,
        ).state,
      ).toEqual(want);
      // The same block with its words known at generation: everything folds to literals.
      expect(run(Array.from(m), state, m).state).toEqual(want);
    }
  });

  it('padded blocks, words past the message masked, equal the reference digest at every boundary length', () => {
    const random = seededRandom(2);
    for (const length of [0, 1, 2, 3, 4, 5, 54, 55, 56, 57, 63, 64, 65, 118, 119, 120, 121, 127, 128, 129, 200]) {
      const message = Uint8Array.from({ length }, () => Math.floor(random() * 256));
      // Garbage after the message, in the words the kernel reads: the padding must mask it.
      const stored = Uint8Array.from({ length: Math.ceil(length / 4) * 4 + 4 }, (_, i) => (i < length ? message[i]! : 0xa5));
      const m = bigEndianWords(stored);
      let state: Uint32Array = Uint32Array.from(SHA256_IV);
      for (let b = 0; b < paddedBlocks(length); b++)
        state = run(
          paddedBlockWords(length, b, (k) => `m[${k}]`),
          state,
          m,
        ).state;
      const digest = new Uint8Array(32);
      state.forEach((s, i) => new DataView(digest.buffer).setUint32(4 * i, s));
      expect(digest, `${length} bytes`).toEqual(sha256Ref(message));
    }
  });

  it('the value in role e before round 61 is the final word 7 less the chaining value (the early exit of sha256d-pow)', () => {
    const random = seededRandom(3);
    const m = Uint32Array.from({ length: 16 }, () => Math.floor(random() * 2 ** 32));
    const words = Array.from({ length: 16 }, (_, t) => `m[${t}]`);
    const before = { round: 61, code: (role: (r: number) => string) => `seen.push((s7 + ${role(4)}) >>> 0);` };
    const { state, seen } = run(words, Uint32Array.from(SHA256_IV), m, { before });
    expect(seen).toEqual([state[7]]);
  });
});
