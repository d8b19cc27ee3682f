import type { MatmulUnit } from '../../protocol';
import { checkFreivalds } from '../verify-freivalds';
import type { FreivaldsPolicy } from './policy';
import { failed, passed, SEND_ROWS, SpotCheck, TRUSTED, type Verifier, type VerifierTools } from './verifier';

/**
 * The Freivalds policy of matrix jobs: the volunteer sends all of C (`send-rows`), which must
 * hash to its committed root, and the host runs `rounds` rounds of Freivalds' check with its own
 * randomness (verify-freivalds.ts). A trusted key spared by the spot-check step is accepted on
 * its commitment.
 */
export function freivaldsVerifier(policy: FreivaldsPolicy, { hash, random }: VerifierTools): Verifier {
  return {
    spotCheck: SpotCheck.WhenDrawn,
    shares: false,
    onResult: (c) => (c.trusted ? TRUSTED : SEND_ROWS),
    onRows: (c, data) => {
      const failure = checkFreivalds(c.unit as MatmulUnit, c.record.root!, data, policy.rounds, random, hash);
      return failure ? failed(failure) : passed();
    },
    onPassed: (c, court) => court.accept(c.who, c.record, true),
  };
}
