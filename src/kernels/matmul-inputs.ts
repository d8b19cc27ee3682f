import { Kernel, type MatmulUnit } from '../protocol';
import { mix32 } from '../work/seeded';

/**
 * The operands of a matmul unit, derived from its seed so a unit travels as a few numbers and
 * the host can rebuild any row to check it. Element e (row-major) of operand `tag` (1 = A,
 * 2 = B) comes from w = mix32(base + e), base = mix32(seed ^ mix32(tag)):
 *   f32:  w / 2^32 · 2 − 1, a value in [−1, 1) with 24 significant bits (exact in f32);
 *   modp: w mod p (a residue; the bias of at most 2^-16 does not matter for test data).
 */
function word(seed: number, tag: number) {
  const base = mix32((seed ^ mix32(tag)) >>> 0);
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

export interface MatmulOperands {
  readonly a: Float32Array | Uint32Array;
  readonly b: Float32Array | Uint32Array;
}

export function matmulOperands(unit: MatmulUnit): MatmulOperands {
  const { seed, m, n, k, p } = unit;
  return unit.kernel === Kernel.MatmulModp
    ? { a: seededResidues(seed, 1, m * k, p), b: seededResidues(seed, 2, k * n, p) }
    : { a: seededF32(seed, 1, m * k), b: seededF32(seed, 2, k * n) };
}
