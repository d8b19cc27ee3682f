import type { Pace } from '../../duty-cycle';
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import { SHA256_IV, compressWords, sha256Ref } from '../../hash/sha256-ref';

/**
 * Bitcoin-style proof of work: find nonces n for which SHA-256(SHA-256(header with n)) is at
 * most a target. Hashes and targets are 32 bytes read as little-endian 256-bit integers (byte 31
 * most significant), so a "leading zero" in the usual byte-reversed display is a zero at the end.
 *
 * Two CPU searches live here: powSearchCpu, plain and built on sha256Ref, is the reference the
 * GPU kernel (shader.ts) and powSearchCpuFast are tested against; the fast one
 * starts each nonce from the midstate (two compressions per nonce instead of three).
 */
export const HEADER_BYTES = 80;
export const TARGET_BYTES = 32;
/** The nonce is header bytes 76..79, a little-endian u32. */
export const NONCE_OFFSET = 76;
/** Nonces are u32: a range must end at or before 2^32. */
export const NONCE_END = 2 ** 32;

export interface PowResult {
  /** Nonces whose hash is ≤ the share target, ascending. */
  readonly shares: number[];
  /** Nonces whose hash is ≤ the target (a subset of shares), ascending. */
  readonly solutions: number[];
  /** How many nonces were tried: the range's count. */
  readonly searched: number;
}

export interface PowSearchOptions {
  readonly signal?: AbortSignal;
  /** Called after each chunk with the nonces searched so far. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Nonces between abort checks and progress calls. */
  readonly chunk?: number;
  /** The throttle, applied between chunks (powSearchCpuFast only). */
  readonly pace?: Pace;
}

function bad(message: string): never {
  throw new TabgridError(ErrorCode.BadInput, message);
}

function chunkOf(opts: PowSearchOptions, fallback: number): number {
  const chunk = opts.chunk ?? fallback;
  if (!Number.isSafeInteger(chunk) || chunk < 1) bad(`chunk ${chunk} must be an integer ≥ 1`);
  return chunk;
}

function checkBytes(name: string, value: unknown, length: number): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    bad(`${name} must be a Uint8Array of ${length} bytes, got ${value instanceof Uint8Array ? `${value.length} bytes` : typeof value}`);
  }
}

/** Checks a search's inputs; every search (CPU or GPU) calls it before any work. */
export function validatePowSearch(header: Uint8Array, start: number, count: number, target: Uint8Array, shareTarget: Uint8Array): void {
  checkBytes('header', header, HEADER_BYTES);
  checkBytes('target', target, TARGET_BYTES);
  checkBytes('share target', shareTarget, TARGET_BYTES);
  if (!Number.isSafeInteger(start) || start < 0) bad(`nonce start ${start} must be an integer ≥ 0`);
  if (!Number.isSafeInteger(count) || count < 0) bad(`nonce count ${count} must be an integer ≥ 0`);
  if (start + count > NONCE_END) bad(`nonce range [${start}, ${start + count}) goes past 2^32`);
  // Solutions are reported as a subset of shares, so the share target must be the easier one.
  if (!meetsTarget(target, shareTarget)) bad('the share target is below the target (it must be at least as easy)');
}

/** True when `hash` ≤ `target`, both little-endian 256-bit integers. */
export function meetsTarget(hash: Uint8Array, target: Uint8Array): boolean {
  for (let i = TARGET_BYTES - 1; i >= 0; i--) {
    if (hash[i] !== target[i]) return hash[i]! < target[i]!;
  }
  return true;
}

/**
 * The target of a compact "nBits" value: mantissa (low 23 bits) × 256^(exponent − 3), exponent
 * the top byte. Negative (sign bit 0x00800000 with a mantissa) or > 256-bit values are refused.
 */
export function targetFromBits(nBits: number): Uint8Array {
  if (!Number.isInteger(nBits) || nBits < 0 || nBits > 0xffffffff) bad(`nBits ${nBits} is not a u32`);
  const exponent = nBits >>> 24;
  const mantissa = nBits & 0x007fffff;
  if (nBits & 0x00800000 && mantissa !== 0) bad(`nBits 0x${nBits.toString(16)} encodes a negative target`);
  const out = new Uint8Array(TARGET_BYTES);
  for (let k = 0; k < 3; k++) {
    const byte = (mantissa >>> (8 * k)) & 0xff;
    const at = exponent - 3 + k;
    // Below byte 0 the mantissa is shifted out, as Bitcoin's SetCompact does.
    if (at < 0 || byte === 0) continue;
    if (at >= TARGET_BYTES) bad(`nBits 0x${nBits.toString(16)} encodes a target above 2^256`);
    out[at] = byte;
  }
  return out;
}

/** The target 2^(256 − z) − 1: a hash meets it iff its top z bits (display order) are zero. */
export function targetFromLeadingZeroBits(z: number): Uint8Array {
  if (!Number.isInteger(z) || z < 0 || z > 256) bad(`leading zero bits ${z} is outside 0..256`);
  const out = new Uint8Array(TARGET_BYTES).fill(0xff);
  const whole = Math.floor(z / 8);
  out.fill(0, TARGET_BYTES - whole);
  if (whole < TARGET_BYTES) out[TARGET_BYTES - 1 - whole] = 0xff >>> (z % 8);
  return out;
}

/** SHA-256(SHA-256(bytes)), by the reference. */
export function sha256d(bytes: Uint8Array): Uint8Array {
  return sha256Ref(sha256Ref(bytes));
}

const bswap = (x: number) => ((x << 24) | ((x << 8) & 0xff0000) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/** Big-endian word i of the header, as SHA-256 reads it. */
const headerWord = (header: Uint8Array, i: number) =>
  ((header[4 * i]! << 24) | (header[4 * i + 1]! << 16) | (header[4 * i + 2]! << 8) | header[4 * i + 3]!) >>> 0;

/** The SHA-256 state after the header's first 64-byte block: the same for every nonce. */
export function midstate(header: Uint8Array): Uint32Array {
  checkBytes('header', header, HEADER_BYTES);
  const w = new Uint32Array(64);
  for (let i = 0; i < 16; i++) w[i] = headerWord(header, i);
  const out = new Uint32Array(8);
  compressWords(SHA256_IV, w, out);
  return out;
}

/** A target as 8 u32 words, word 0 the least significant (the kernel compares words, not bytes). */
export function targetWords(target: Uint8Array): Uint32Array {
  checkBytes('target', target, TARGET_BYTES);
  const view = new DataView(target.buffer, target.byteOffset, TARGET_BYTES);
  return Uint32Array.from({ length: 8 }, (_, i) => view.getUint32(4 * i, true));
}

/**
 * Double SHA-256 of one header at any nonce, from its midstate. The digest stays in SHA-256's
 * state words; digest byte 4i+j is byte j of word i big-endian, so the little-endian 256-bit
 * integer's word i (word 0 least significant) is bswap(state[i]).
 */
export class PowHasher {
  private readonly mid: Uint32Array;
  private readonly w1 = new Uint32Array(64);
  private readonly w2 = new Uint32Array(64);
  readonly state = new Uint32Array(8);

  constructor(header: Uint8Array) {
    this.mid = midstate(header);
    // Second block: header words 16..18, the nonce word, then padding for an 80-byte message.
    for (let i = 0; i < 3; i++) this.w1[i] = headerWord(header, 16 + i);
    this.w1[4] = 0x80000000;
    this.w1[15] = HEADER_BYTES * 8;
    // The outer hash's one block: the 32-byte inner digest, then padding for 32 bytes.
    this.w2[8] = 0x80000000;
    this.w2[15] = 256;
  }

  /** Hashes at `nonce`, leaving the digest words in `state`. */
  run(nonce: number): Uint32Array {
    this.w1[3] = bswap(nonce); // the nonce is little-endian in the header, words are big-endian
    compressWords(this.mid, this.w1, this.w2);
    compressWords(SHA256_IV, this.w2, this.state);
    return this.state;
  }

  /** True when the last run's digest is ≤ the target given as targetWords(). */
  meets(target: Uint32Array): boolean {
    for (let i = 7; i >= 0; i--) {
      const h = bswap(this.state[i]!);
      if (h !== target[i]) return h < target[i]!;
    }
    return true;
  }

  /** The digest bytes at `nonce`, as sha256d(header with nonce) returns them. */
  hash(nonce: number): Uint8Array {
    const words = this.run(nonce);
    const out = new Uint8Array(32);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) view.setUint32(4 * i, words[i]!);
    return out;
  }
}

/** The reference search: writes each nonce into a copy of the header and double-hashes it. */
export function powSearchCpu(
  header: Uint8Array,
  start: number,
  count: number,
  target: Uint8Array,
  shareTarget: Uint8Array,
  opts: PowSearchOptions = {},
): PowResult {
  validatePowSearch(header, start, count, target, shareTarget);
  const work = header.slice();
  const view = new DataView(work.buffer);
  const shares: number[] = [];
  const solutions: number[] = [];
  const chunk = chunkOf(opts, 4096);
  for (let done = 0; done < count;) {
    throwIfAborted(opts.signal);
    const end = Math.min(count, done + chunk);
    for (; done < end; done++) {
      const nonce = start + done;
      view.setUint32(NONCE_OFFSET, nonce, true);
      const hash = sha256d(work);
      if (meetsTarget(hash, shareTarget)) shares.push(nonce);
      if (meetsTarget(hash, target)) solutions.push(nonce);
    }
    opts.onProgress?.(done, count);
  }
  return { shares, solutions, searched: count };
}

/**
 * The same search from the midstate, yielding to the event loop between chunks so that an
 * abort (or a worker message) gets through; the CPU fallback when there is no GPU.
 */
export async function powSearchCpuFast(
  header: Uint8Array,
  start: number,
  count: number,
  target: Uint8Array,
  shareTarget: Uint8Array,
  opts: PowSearchOptions = {},
): Promise<PowResult> {
  validatePowSearch(header, start, count, target, shareTarget);
  const hasher = new PowHasher(header);
  const tw = targetWords(target);
  const sw = targetWords(shareTarget);
  const shares: number[] = [];
  const solutions: number[] = [];
  const chunk = chunkOf(opts, 65536);
  let started = performance.now();
  for (let done = 0; done < count;) {
    if (done > 0) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      await opts.pace?.rest(performance.now() - started, opts.signal);
      started = performance.now();
    }
    throwIfAborted(opts.signal);
    const end = Math.min(count, done + chunk);
    for (; done < end; done++) {
      const nonce = start + done;
      hasher.run(nonce);
      if (!hasher.meets(sw)) continue;
      shares.push(nonce);
      if (hasher.meets(tw)) solutions.push(nonce);
    }
    opts.onProgress?.(done, count);
  }
  await opts.pace?.rest(performance.now() - started, opts.signal);
  return { shares, solutions, searched: count };
}
