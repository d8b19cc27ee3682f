import { bytesEqual } from '../../hex';
import type { Hasher } from '../../hash/sha256-cpu';
import type { LeafCheck } from '../host-kernel';
import { sha256BatchInputs } from './inputs';
import type { Sha256BatchUnit } from './unit';

/** A sha256-batch leaf is the digest of the message the host derives itself. */
export function sha256LeafCheck(unit: Sha256BatchUnit, hash: Hasher): LeafCheck {
  const messages = sha256BatchInputs(unit);
  return (index, leaf) => (bytesEqual(leaf, hash(messages.message(index))) ? undefined : 'digest is wrong');
}
