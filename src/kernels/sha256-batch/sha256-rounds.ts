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
   * Statements put before round `round` (0..63); `role(r)` names the value that holds a (r = 0)
   * … h (r = 7) at that point. sha256d-pow leaves early there.
   */
  readonly before?: { readonly round: number; readonly code: (role: (r: number) => string) => string };
  /**
   * Declare the new chaining value as `let`s of these 8 names (the state words are then any
   * expressions), instead of adding it into the state's `var`s. The statements are then not
   * wrapped in a block, so `prefix` must keep the compression's own names unique in the scope.
   */
  readonly declare?: readonly string[];
  readonly prefix?: string;
}

/**
 * One compression of `words` (16 big-endian message words) into `state` (8 names of `var` u32s,
 * the chaining value a..h, updated in place; or expressions, see `declare`), as WGSL statements.
 *
 * Every value is a `let`: round t defines only the new a and e (a{t+1}, e{t+1}); the other six
 * are earlier rounds' values under their new roles. No variable is stored and reloaded, which
 * keeps weak shader compilers (software adapters) from spilling, and costs a real GPU nothing.
 * Its own names are the prefix followed by a, e, t and w with a number.
 */
export function compressBlock(state: readonly string[], words: readonly Word[], options: CompressOptions = {}): string {
  if (state.length !== 8 || words.length !== 16) throw new RangeError(`a compression takes 8 state words and 16 message words`);
  if (options.declare && (options.declare.length !== 8 || options.prefix === undefined)) throw new RangeError('declare takes 8 names and a prefix');
  const p = options.prefix ?? '';
  const out: string[] = [];
  // roles[r]: the value in role r (a = 0 … h = 7) at the current round.
  const roles = [...state];
  const w: Word[] = [];
  for (let t = 0; t < 64; t++) {
    let word: Word = t < 16 ? words[t]! : sum([apply(ssig1, 'ssig1', w[t - 2]!), w[t - 7]!, apply(ssig0, 'ssig0', w[t - 15]!), w[t - 16]!]);
    if (typeof word === 'string') {
      out.push(`let ${p}w${t} = ${word};`);
      word = `${p}w${t}`;
    }
    w.push(word);
    if (options.before?.round === t) out.push(options.before.code((r) => roles[r]!));
    const [a, b, c, d, e, f, g, h] = roles as [string, string, string, string, string, string, string, string];
    const kw = asExpr(sum([SHA256_K[t]!, word]));
    out.push(
      `let ${p}t${t} = ${h} + bsig1(${e}) + ch(${e}, ${f}, ${g}) + ${kw};`,
      `let ${p}e${t + 1} = ${d} + ${p}t${t};`,
      `let ${p}a${t + 1} = ${p}t${t} + bsig0(${a}) + maj(${a}, ${b}, ${c});`,
    );
    roles.splice(0, 8, `${p}a${t + 1}`, a, b, c, `${p}e${t + 1}`, e, f, g);
  }
  if (options.declare) {
    options.declare.forEach((n, i) => out.push(`let ${n} = ${state[i]} + ${roles[i]};`));
    return out.map((l) => `    ${l}`).join('\n');
  }
  state.forEach((n, i) => out.push(`${n} += ${roles[i]};`));
  return ['{', ...out.map((l) => `  ${l}`), '}'].join('\n');
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
