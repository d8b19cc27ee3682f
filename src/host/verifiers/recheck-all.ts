import { checksOf } from '../../kernels/host-registry';
import type { RecheckAllPolicy } from './policy';
import { failed, passed, SpotCheck, type Verifier, type VerifierTools } from './verifier';

/**
 * Proof of work: every share is rechecked (one double hash each), the root must be the Merkle
 * root of the shares, and their number must fit the range searched (the kernel's recheck,
 * kernels/sha256d-pow/recheck.ts). Cheap enough that trust never spares it. The solutions are kept with the accepted unit.
 */
export function recheckAllVerifier(_policy: RecheckAllPolicy, { hash }: VerifierTools): Verifier {
  return {
    spotCheck: SpotCheck.Always,
    shares: true,
    onResult: (c) => {
      const checks = checksOf(c.unit);
      if (checks.kind !== 'shares') return failed(`${c.unit.kernel} results list no shares to recheck`);
      const check = checks.recheck(c.record.root!, c.shares, hash);
      return check.failure ? failed(check.failure) : passed(check.solutions);
    },
    onPassed: (c, court, solutions) => court.accept(c.who, c.record, true, solutions),
  };
}
