import type { Hasher } from '../../hash/sha256-cpu';
import type { Random } from '../../proof/random';
import { leafChecksOf } from '../../kernels/host-registry';
import { unitLeaves, type ChallengedUnit, type Opening } from '../../protocol';
import { checkOpenings, chooseChallenge } from '../verify-openings';
import type { ChallengePolicy } from './policy';
import { failed, passed, SpotCheck, StepKind, TRUSTED, type Case, type Step, type Verifier, type VerifierTools } from './verifier';

/**
 * The challenge policy: after the commitment the host picks `samples` leaves at random
 * (verify-openings.ts), the volunteer opens them, and the host recomputes each. A volunteer
 * faking a fraction f of a unit is caught with probability 1 − (1 − f)^samples. A trusted key
 * spared by the spot-check step is accepted on its commitment.
 */
export function challengeVerifier(policy: ChallengePolicy, { hash, random }: VerifierTools): Verifier {
  return {
    spotCheck: SpotCheck.WhenDrawn,
    shares: false,
    onResult: (c) => (c.trusted ? TRUSTED : challenge(c, policy.samples, random)),
    onOpenings: (c, openings) => openedRight(c, openings, hash),
    onPassed: (c, court) => court.accept(c.who, c.record, true),
  };
}

/** `samples` leaves of the unit, picked now (after the commitment) with the host's randomness. */
export function challenge(c: Case, samples: number, random: Random): Step {
  return { kind: StepKind.Challenge, indices: chooseChallenge(unitLeaves(c.unit as ChallengedUnit).count, samples, random) };
}

/** Whether the openings answer the unit's challenge: paths to the committed root, and each leaf right. */
export function openedRight(c: Case, openings: readonly Opening[], hash: Hasher): Step {
  const unit = c.unit as ChallengedUnit;
  // Each leaf is checked by its kernel's own leaf check (kernels/<kernel>/host.ts).
  const failure = checkOpenings(unit, c.record.root!, c.record.challenge!, openings, hash, leafChecksOf(unit).leafCheck(hash));
  return failure ? failed(failure) : passed();
}
