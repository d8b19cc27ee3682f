import type { Hasher } from '../hash/sha256-cpu';
import { leafChecksOf } from '../kernels/host-registry';
import type { ChallengedUnit } from '../protocol';
import { outputRoot } from './row-collector';

/**
 * A whole unit computed by the CPU reference (its kernel's, kernels/<kernel>/host.ts): the
 * host recomputes with it when replicas all disagree; the farm and the tests check volunteers
 * against it.
 */
export { referenceLeaves } from '../kernels/host-registry';

/**
 * The Merkle root of a bit-exact unit (hashing, modp) computed by the host itself: the last
 * word when replicas all disagree (verify-replicas.ts). Hashing a unit costs the host what it
 * costs a volunteer's CPU (milliseconds); a modp product is O(m·n·k), up to seconds at the
 * largest units, which is why it is kept for the rare unresolved unit and never the rule.
 */
export function recomputedRoot(unit: ChallengedUnit, hash: Hasher): string {
  const checks = leafChecksOf(unit);
  if (!checks.bitExact) throw new Error(`${unit.kernel} results are not bit-exact; they cannot be settled by recomputing`);
  return outputRoot(unit, checks.reference(hash), hash);
}
