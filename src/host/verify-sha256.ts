import { bytesEqual } from '../hex';
import type { Hasher } from '../hash/sha256-cpu';
import type { Sha256BatchUnit } from '../protocol';
import { seededMessage } from '../work/seeded';
import type { LeafCheck } from './verify-openings';

/** A sha256-batch leaf is the digest of the message the host derives itself. */
export function sha256LeafCheck(unit: Sha256BatchUnit, hash: Hasher): LeafCheck {
  return (index, leaf) => (bytesEqual(leaf, hash(seededMessage(unit.seed, index, unit.messageLength))) ? undefined : 'digest is wrong');
}
