import { bytesEqual, fromHex } from '../hex';
import { verifyMerklePath } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';
import type { Opening, Sha256BatchUnit } from '../protocol';
import { seededMessage } from '../work/seeded';

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
 * Checks the openings of a sha256-batch result against the committed root: each challenged
 * leaf must be the SHA-256 of the message the host derives itself, and its audit path must lead
 * to the root. Returns why it fails, or undefined if it passes.
 */
export function checkSha256Openings(
  unit: Sha256BatchUnit,
  rootHex: string,
  indices: readonly number[],
  openings: readonly Opening[],
  hash: Hasher,
): string | undefined {
  const root = fromHex(rootHex);
  if (!root || root.length !== 32) return 'root is not a 32-byte digest';
  if (openings.length !== indices.length) return `expected ${indices.length} openings, got ${openings.length}`;
  for (let k = 0; k < indices.length; k++) {
    const opening = openings[k]!;
    const index = indices[k]!;
    if (opening.index !== index) return `opening ${k} is for leaf ${opening.index}, challenged ${index}`;
    const expected = hash(seededMessage(unit.seed, index, unit.messageLength));
    const leaf = fromHex(opening.leaf);
    const path = opening.path.map(fromHex);
    if (!leaf || path.some((p) => !p)) return `opening ${k} is not hex`;
    if (!verifyMerklePath(root, unit.count, index, leaf, path as Uint8Array[], hash)) {
      return `leaf ${index}: audit path does not lead to the committed root`;
    }
    // The path is checked first so a wrong root is reported as such, not as a wrong digest.
    if (!bytesEqual(leaf, expected)) return `leaf ${index}: digest is wrong`;
  }
  return undefined;
}
