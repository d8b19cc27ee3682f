/**
 * Writes SHA-256 compressions as straight-line WGSL, for sha256-batch and sha256d-pow.
 *
 * WGSL has no unroll pragma, and a loop over 64 rounds that indexes K[t] and a 16-word schedule
 * window with a run-time index makes the driver keep both arrays in private memory (on GPUs
 * usually spilled to local memory, per invocation). Written out here, every index is a constant:
 * the state and the schedule are plain `let`/`var` scalars, in registers.
 *
 * A message word is either a number, known when the shader is generated (padding, a fixed length,
 * zeros), or a WGSL expression evaluated per invocation. Known words are folded: the schedule
 * words that depend only on them, and K[t] + W[t], become literals, so a block of pure padding
 * costs its 64 rounds and no schedule at all (the padding precomputed, as hashcat does).
 */
import { SHA256_K } from '../../hash/sha256-ref';

/** A message word: a u32 known at generation, or a WGSL u32 expression. */
export type Word = number | string;

/** The WGSL helpers the generated statements call. */
export const SHA256_WGSL_HELPERS = `
fn rotr(x: u32, n: u32) -> u32 {
  return (x >> n) | (x << (32u - n));
}
fn bsig0(x: u32) -> u32 {
  return rotr(x, 2u) ^ rotr(x, 13u) ^ rotr(x, 22u);
}
fn bsig1(x: u32) -> u32 {
  return rotr(x, 6u) ^ rotr(x, 11u) ^ rotr(x, 25u);
}
fn ssig0(x: u32) -> u32 {
  return rotr(x, 7u) ^ rotr(x, 18u) ^ (x >> 3u);
}
fn ssig1(x: u32) -> u32 {
  return rotr(x, 17u) ^ rotr(x, 19u) ^ (x >> 10u);
}
fn ch(e: u32, f: u32, g: u32) -> u32 {
  return g ^ (e & (f ^ g));
}
fn maj(a: u32, b: u32, c: u32) -> u32 {
  return (a & b) | (c & (a | b));
}
// SHA-256 words are big-endian; storage words are read little-endian.
fn bswap(x: u32) -> u32 {
  return (x << 24u) | ((x << 8u) & 0x00ff0000u) | ((x >> 8u) & 0x0000ff00u) | (x >> 24u);
}
`;

const rotr = (x: number, n: number) => ((x >>> n) | (x << (32 - n))) >>> 0;
const ssig0 = (x: number) => (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) >>> 0;
const ssig1 = (x: number) => (rotr(x, 17) ^ rotr(x, 19) ^ (x >>> 10)) >>> 0;

/** A u32 literal. */
export const u32 = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}u`;

/** The sum of some words mod 2^32: the known ones added here, the rest left to the kernel. */
function sum(terms: readonly Word[]): Word {
  let known = 0;
  const exprs: string[] = [];
  for (const t of terms) {
    if (typeof t === 'number') known = (known + t) >>> 0;
    else exprs.push(t);
  }
  if (exprs.length === 0) return known;
  if (known !== 0) exprs.push(u32(known));
  return exprs.join(' + ');
}

const apply = (f: (x: number) => number, name: string, w: Word): Word => (typeof w === 'number' ? f(w) : `${name}(${w})`);
const asExpr = (w: Word) => (typeof w === 'number' ? u32(w) : w);

export interface CompressOptions {
  /**
   * Statements put before round `round` (0..63); `role(r)` names the working variable that holds
   * a (r = 0) … h (r = 7) at that point. sha256d-pow leaves early there.
   */
  readonly before?: { readonly round: number; readonly code: (role: (r: number) => string) => string };
}

/**
 * One compression of `words` (16 big-endian message words) into `state` (the names of 8 `var`
 * u32s, a..h of the chaining value), as a WGSL compound statement. It declares a..h, t1 and
 * w0..w63 in its own scope: word expressions must not name those.
 */
export function compressBlock(state: readonly string[], words: readonly Word[], options: CompressOptions = {}): string {
  if (state.length !== 8 || words.length !== 16) throw new RangeError(`a compression takes 8 state words and 16 message words`);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  // Round t's role r (a = 0 … h = 7) lives in names[(r - t) mod 8]: the variables rotate, no copies.
  const role = (t: number) => (r: number) => names[(((r - t) % 8) + 8) % 8]!;
  const out: string[] = ['{'];
  names.forEach((n, i) => out.push(`  var ${n} = ${state[i]};`));
  const w: Word[] = [];
  for (let t = 0; t < 64; t++) {
    let word: Word = t < 16 ? words[t]! : sum([apply(ssig1, 'ssig1', w[t - 2]!), w[t - 7]!, apply(ssig0, 'ssig0', w[t - 15]!), w[t - 16]!]);
    if (typeof word === 'string') {
      out.push(`  let w${t} = ${word};`);
      word = `w${t}`;
    }
    w.push(word);
    if (options.before?.round === t) out.push(options.before.code(role(t)));
    const v = role(t);
    const kw = asExpr(sum([SHA256_K[t]!, word]));
    out.push(
      `  { let t1 = ${v(7)} + bsig1(${v(4)}) + ch(${v(4)}, ${v(5)}, ${v(6)}) + ${kw}; ${v(3)} += t1; ${v(7)} = t1 + bsig0(${v(0)}) + maj(${v(0)}, ${v(1)}, ${v(2)}); }`,
    );
  }
  // After 64 rounds (a multiple of 8) every role is back in its own variable.
  names.forEach((n, i) => out.push(`  ${state[i]} += ${n};`));
  out.push('}');
  return out.join('\n');
}

/**
 * The 16 words of block `block` of a message of `length` bytes after padding (FIPS 180-4 5.1.1),
 * for a length known at generation. `word(k)` is the expression of message word k (big-endian,
 * bytes 4k..4k+3), called only for words holding message bytes; the last one is masked to the
 * message's bytes and gets the 0x80 marker.
 */
export function paddedBlockWords(length: number, block: number, word: (k: number) => string): Word[] {
  const blocks = Math.floor((length + 8) / 64) + 1;
  if (block < 0 || block >= blocks) throw new RangeError(`block ${block} is outside the ${blocks} of a ${length}-byte message`);
  const bits = length * 8;
  return Array.from({ length: 16 }, (_, t): Word => {
    const p = block * 64 + 4 * t;
    if (block === blocks - 1 && t === 14) return Math.floor(bits / 2 ** 32) >>> 0;
    if (block === blocks - 1 && t === 15) return bits >>> 0;
    if (p + 4 <= length) return word(p / 4);
    if (p > length) return 0;
    const r = length - p; // 0..3 message bytes, then the marker
    const marker = (0x80 << (24 - 8 * r)) >>> 0;
    return r === 0 ? marker : `((${word(p / 4)} & ${u32(~(0xffffffff >>> (8 * r)))}) | ${u32(marker)})`;
  });
}

/** Blocks of a padded message of `length` bytes. */
export const paddedBlocks = (length: number) => Math.floor((length + 8) / 64) + 1;
