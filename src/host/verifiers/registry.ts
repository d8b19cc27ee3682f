import { challengeVerifier } from './challenge';
import { freivaldsVerifier } from './freivalds';
import { PolicyKind, type PolicyOf, type VerificationPolicy } from './policy';
import { recheckAllVerifier } from './recheck-all';
import { replicateVerifier } from './replicate';
import type { Verifier, VerifierTools } from './verifier';

/**
 * One verifier per policy kind, each made for its own kind of policy. Generic over the union so
 * that a union with a kind more than the registry has is seen not to satisfy it (the test in
 * host-policy.test.ts).
 */
export type VerifierRegistry<P extends { readonly kind: string } = VerificationPolicy> = {
  readonly [K in P['kind']]: (policy: Extract<P, { readonly kind: K }>, tools: VerifierTools) => Verifier;
};

/** A kind added to VerificationPolicy does not compile until it has its line here. */
export const VERIFIERS = {
  [PolicyKind.Challenge]: challengeVerifier,
  [PolicyKind.Freivalds]: freivaldsVerifier,
  [PolicyKind.Replicate]: replicateVerifier,
  [PolicyKind.RecheckAll]: recheckAllVerifier,
} as const satisfies VerifierRegistry;

/** The verifier of a job's policy. */
export function verifierFor<K extends PolicyKind>(policy: PolicyOf<K>, tools: VerifierTools): Verifier {
  const make: VerifierRegistry[K] = VERIFIERS[policy.kind];
  return make(policy, tools);
}
