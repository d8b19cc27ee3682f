/**
 * A matmul unit's input source: its operands, derived from its seed, so a unit travels as a few
 * numbers and the host can rebuild any row to check it. Element e (row-major) of operand `tag`
 * (1 = A, 2 = B) comes from w = mix32(base + e), base = mix32(seed ^ mix32(tag)):
 *   f32:  w / 2^32 · 2 − 1, a value in [−1, 1) with 24 significant bits (exact in f32);
 *   modp: w mod p (a residue; the bias of at most 2^-16 does not matter for test data).
 * Dataset units name slices `a` and `b` instead: row-major little-endian words (f32, or u32
 * residues < p), read from the shelf (data/shelf.ts), where the host holds its jobs' datasets
 * and a compute worker the slices its volunteer fetched and verified.
 * Every user of a unit's operands (the compute worker, the host's checks, the reference) asks
 * here, so the source of a unit's operands is this file's business alone.
 */
import type { DatasetSlice } from '../../data/dataset';
import { shelf } from '../../data/shelf';
import { mix32 } from '../../work/seeded';
import type { MatmulF32Unit } from '../matmul-f32/unit';
import type { MatmulModpUnit } from '../matmul-modp/unit';
import type { MatmulUnit } from './unit';

/** The word stream's start for operand `tag` of a unit seeded `seed` (seeded-gpu.ts makes the same words on the GPU). */
export function operandBase(seed: number, tag: number): number {
  return mix32((seed ^ mix32(tag)) >>> 0);
}

function word(seed: number, tag: number) {
  const base = operandBase(seed, tag);
  return (e: number) => mix32((base + e) >>> 0);
}

export function seededF32(seed: number, tag: number, length: number): Float32Array {
  const w = word(seed, tag);
  // Keep the top 24 bits so the value is exactly representable.
  return Float32Array.from({ length }, (_, e) => ((w(e) >>> 8) / 2 ** 24) * 2 - 1);
}

export function seededResidues(seed: number, tag: number, length: number, p: number): Uint32Array {
  const w = word(seed, tag);
  return Uint32Array.from({ length }, (_, e) => w(e) % p);
}

export interface Operands<T extends Float32Array | Uint32Array> {
  readonly a: T;
  readonly b: T;
}

/** A slice's little-endian words, as `T`: a view where the bytes are aligned, else a copy. */
function words<T extends Float32Array | Uint32Array>(slice: DatasetSlice, make: (buffer: ArrayBufferLike, offset: number, length: number) => T): T {
  const bytes = shelf.slice(slice);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return make(aligned.buffer, aligned.byteOffset, aligned.length / 4);
}

export function f32Operands(unit: MatmulF32Unit): Operands<Float32Array> {
  if (unit.a && unit.b) {
    const f32 = (buffer: ArrayBufferLike, offset: number, length: number) => new Float32Array(buffer, offset, length);
    return { a: words(unit.a, f32), b: words(unit.b, f32) };
  }
  return { a: seededF32(unit.seed, 1, unit.m * unit.k), b: seededF32(unit.seed, 2, unit.k * unit.n) };
}

export function modpOperands(unit: MatmulModpUnit): Operands<Uint32Array> {
  if (unit.a && unit.b) {
    const u32 = (buffer: ArrayBufferLike, offset: number, length: number) => new Uint32Array(buffer, offset, length);
    return { a: words(unit.a, u32), b: words(unit.b, u32) };
  }
  return { a: seededResidues(unit.seed, 1, unit.m * unit.k, unit.p), b: seededResidues(unit.seed, 2, unit.k * unit.n, unit.p) };
}

/** Either kernel's operands (tests and tools that handle both). */
export function matmulOperands(unit: MatmulUnit): Operands<Float32Array> | Operands<Uint32Array> {
  return unit.kernel === 'matmul-modp' ? modpOperands(unit) : f32Operands(unit);
}

/** A unit's seed, from its job's seed and its index. */
export { unitSeed } from '../../work/seeded';
