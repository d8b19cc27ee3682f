import type { Hasher } from '../hash/sha256-cpu';
import { leafChecksOf } from '../kernels/host-registry';
import type { Random } from '../proof/random';
import type { ChallengedUnit } from '../protocol';
import { hashesTo } from './row-collector';

/**
 * The Freivalds policy of matrix jobs: after the commitment the host asks for all of C
 * (`send-rows`), the volunteer sends it in `rows` messages, in order, and the host checks that
 * the rows hash to the committed root (so C cannot be swapped after committing) and then runs
 * the kernel's Freivalds check with its own randomness: O(mk + kn + mn) per round, against
 * O(mkn) to recompute.
 *
 * The rows arrive through row-collector.ts.
 */

/** Checks a complete C against the committed root, then by Freivalds; returns why it fails, or undefined. */
export function checkFreivalds(unit: ChallengedUnit, root: string, c: Uint8Array, rounds: number, random: Random, hash: Hasher): string | undefined {
  if (!hashesTo(unit, c, root, hash)) return 'the rows do not hash to the committed root';
  const freivalds = leafChecksOf(unit).freivalds;
  if (!freivalds) return `${unit.kernel} results have no Freivalds check`;
  return freivalds(c, rounds, random);
}
