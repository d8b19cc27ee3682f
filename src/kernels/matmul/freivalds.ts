import { freivaldsF32 } from '../../proof/freivalds-f32';
import { freivaldsModp } from '../../proof/freivalds-modp';
import type { Random } from '../../proof/random';
import type { MatmulF32Unit } from '../matmul-f32/unit';
import type { MatmulModpUnit } from '../matmul-modp/unit';
import { f32Operands, modpOperands } from './inputs';

/*
 * Freivalds' check of a whole C (the host asked for every row, which already hash to the
 * committed root): O(mk + kn + mn) per round, against O(mkn) to recompute. C's bytes are copied,
 * so its words are aligned whatever offset they had.
 */

const failed = (badRow: number | undefined) => `Freivalds' check failed: row ${badRow} of C is wrong`;

export function modpFreivalds(unit: MatmulModpUnit, c: Uint8Array, rounds: number, random: Random): string | undefined {
  const { a, b } = modpOperands(unit);
  const check = freivaldsModp(a, b, new Uint32Array(new Uint8Array(c).buffer), unit, unit.p, { rounds, random });
  return check.ok ? undefined : failed(check.badRow);
}

/** Within a per-row rounding tolerance (proof/freivalds-f32.ts). */
export function f32Freivalds(unit: MatmulF32Unit, c: Uint8Array, rounds: number, random: Random): string | undefined {
  const { a, b } = f32Operands(unit);
  const check = freivaldsF32(a, b, new Float32Array(new Uint8Array(c).buffer), unit, { rounds, random });
  return check.ok ? undefined : failed(check.badRow);
}
