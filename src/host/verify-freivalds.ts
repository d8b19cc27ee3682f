import type { Hasher } from '../hash/sha256-cpu';
import { matmulOperands } from '../kernels/matmul-inputs';
import { freivaldsF32 } from '../proof/freivalds-f32';
import { freivaldsModp } from '../proof/freivalds-modp';
import type { Random } from '../proof/random';
import { Kernel, type MatmulUnit } from '../protocol';
import { hashesTo } from './row-collector';

/**
 * The Freivalds policy of matrix jobs: after the commitment the host asks for all of C
 * (`send-rows`), the volunteer sends it in `rows` messages, in order, and the host checks that
 * the rows hash to the committed root (so C cannot be swapped after committing) and then runs
 * Freivalds' check with its own randomness: O(mk + kn + mn) per round, against O(mkn) to
 * recompute.
 *
 * The rows arrive through row-collector.ts.
 */

/** Checks a complete C against the committed root, then by Freivalds; returns why it fails, or undefined. */
export function checkFreivalds(unit: MatmulUnit, root: string, c: Uint8Array, rounds: number, random: Random, hash: Hasher): string | undefined {
  if (!hashesTo(unit, c, root, hash)) return 'the rows do not hash to the committed root';
  const { a, b } = matmulOperands(unit);
  const shape = { m: unit.m, n: unit.n, k: unit.k };
  // Copied, so the words are aligned whatever offset the bytes had.
  const words = new Uint8Array(c).buffer;
  const check =
    unit.kernel === Kernel.MatmulModp
      ? freivaldsModp(a as Uint32Array, b as Uint32Array, new Uint32Array(words), shape, unit.p, { rounds, random })
      : freivaldsF32(a as Float32Array, b as Float32Array, new Float32Array(words), shape, { rounds, random });
  return check.ok ? undefined : `Freivalds' check failed: row ${check.badRow} of C is wrong`;
}
