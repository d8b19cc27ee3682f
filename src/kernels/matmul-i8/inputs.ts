/**
 * A matmul-i8 unit's input source, the only place its operands are derived. As for the other
 * products (matmul/inputs.ts), element e (row-major) of operand `tag` (1 = A, 2 = B) comes from
 * w = mix32(base + e), base = mix32(seed ^ mix32(tag)); the int8 value is w's top byte read as
 * signed (w >> 24, −128..127, each value equally likely), so the extremes −128 and 127 occur.
 */
import { mix32 } from '../../work/seeded';
import type { MatmulI8Unit } from './unit';

export function seededInt8(seed: number, tag: number, length: number): Int8Array {
  const base = mix32((seed ^ mix32(tag)) >>> 0);
  const out = new Int8Array(length);
  // `>>` works on the word as int32, so the top byte comes out sign-extended.
  for (let e = 0; e < length; e++) out[e] = mix32((base + e) >>> 0) >> 24;
  return out;
}

export interface I8Operands {
  readonly a: Int8Array;
  readonly b: Int8Array;
}

export function i8Operands(unit: MatmulI8Unit): I8Operands {
  return { a: seededInt8(unit.seed, 1, unit.m * unit.k), b: seededInt8(unit.seed, 2, unit.k * unit.n) };
}
