import type { LeafCheck } from '../kernels/host-kernel';
import { fromHex } from '../hex';
import { verifyMerklePath } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';
import { unitLeaves, type ChallengedUnit, type Opening } from '../protocol';

/**
 * Picks `samples` distinct leaf indices of a unit of `count` leaves, uniformly, with the host's
 * randomness. Called only after the volunteer has committed to its root.
 */
export function chooseChallenge(count: number, samples: number, random: () => number): number[] {
  const k = Math.min(samples, count);
  const chosen = new Set<number>();
  // Floyd's algorithm: k draws, each a fresh distinct index.
  for (let j = count - k; j < count; j++) {
    const t = Math.floor(random() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Checks the openings of a result against its committed root: one per challenged index, in
 * order, each leaf of the unit's leaf size, each audit path leading to the root, and each
 * leaf's content right by `checkLeaf`. Returns why it fails, or undefined if it passes.
 */
export function checkOpenings(
  unit: ChallengedUnit,
  rootHex: string,
  indices: readonly number[],
  openings: readonly Opening[],
  hash: Hasher,
  checkLeaf: LeafCheck,
): string | undefined {
  const root = fromHex(rootHex);
  if (!root || root.length !== 32) return 'root is not a 32-byte digest';
  if (openings.length !== indices.length) return `expected ${indices.length} openings, got ${openings.length}`;
  const { count, bytes } = unitLeaves(unit);
  for (let j = 0; j < indices.length; j++) {
    const opening = openings[j]!;
    const index = indices[j]!;
    if (opening.index !== index) return `opening ${j} is for leaf ${opening.index}, challenged ${index}`;
    const leaf = fromHex(opening.leaf);
    const path = opening.path.map(fromHex);
    if (!leaf || path.some((p) => !p)) return `opening ${j} is not hex`;
    if (leaf.length !== bytes) return `leaf ${index} has ${leaf.length} bytes, not ${bytes}`;
    if (!verifyMerklePath(root, count, index, leaf, path as Uint8Array[], hash)) {
      return `leaf ${index}: audit path does not lead to the committed root`;
    }
    // The path is checked first so a wrong root is reported as such, not as a wrong leaf.
    const wrong = checkLeaf(index, leaf);
    if (wrong) return `leaf ${index}: ${wrong}`;
  }
  return undefined;
}
