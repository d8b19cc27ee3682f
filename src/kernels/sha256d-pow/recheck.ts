import { buildMerkleTreeOfChunks } from '../../hash/merkle';
import type { Hasher } from '../../hash/sha256-cpu';
import { toHex } from '../../hex';
import { powInputs } from './inputs';
import { sharesToLeaves } from '../shares';
import { PowHasher, meetsTarget } from './pow';
import type { PowUnit } from './unit';

/**
 * Checking a proof-of-work result costs one double hash per share, never a search:
 *
 * 1. The root must be the Merkle root of the listed shares (4-byte little-endian leaves), so
 *    the result is bound to exactly this list.
 * 2. Every share must lie in the unit's range and hash to at most the share target.
 * 3. The count must be consistent with the range. Each nonce is a share independently with
 *    probability q = (shareTarget + 1) / 2^256, so an honest count is Binomial(N, q) ≈
 *    Poisson(λ = N·q). A count whose lower tail P(X ≤ count) is below SKIP_ALPHA is rejected:
 *    an honest volunteer is wrongly rejected at most once in 10^9 results. The cut-off sits about
 *    5.6 standard deviations below λ, so one that searched only a fraction 1 − f of its range
 *    (expecting (1 − f)·λ shares) is caught half the time once f·√λ ≈ 6 and almost surely once
 *    f·√λ ≥ 8: with λ = 256 the cut-off is 165 shares, and skipping half the range is caught.
 *
 * Solutions are the shares that also meet the target. Withholding a solution while reporting its
 * share cannot be detected by any check of this kind (Bitcoin pools live with the same gap).
 */
export const SKIP_ALPHA = 1e-9;

export interface PowCheck {
  /** Why the result is rejected, or undefined when it is accepted. */
  readonly failure?: string;
  readonly solutions: number[];
}

/** The Merkle root a volunteer commits to for a list of shares (SHA-256() when there are none). */
export function sharesRoot(shares: readonly number[], hash: Hasher): string {
  return toHex(buildMerkleTreeOfChunks(sharesToLeaves(shares), 4, hash).root);
}

/** 256-bit little-endian target + 1, divided by 2^256, as a double. */
export function targetProbability(target: Uint8Array): number {
  let p = 0;
  for (let i = target.length - 1; i >= 0; i--) p += target[i]! * 2 ** (8 * (i - 32));
  return Math.min(1, p + 2 ** -256);
}

/** P(X ≤ k) for X ~ Poisson(λ), summed in log space so large λ does not underflow early. */
export function poissonLowerTail(k: number, lambda: number): number {
  if (k < 0) return 0;
  let logTerm = -lambda; // log P(X = 0)
  let sum = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log(lambda / i);
    sum += Math.exp(logTerm);
  }
  return Math.min(1, sum);
}

export function checkPowResult(unit: PowUnit, root: string, shares: readonly number[] | undefined, hash: Hasher): PowCheck {
  const none = (failure: string): PowCheck => ({ failure, solutions: [] });
  if (shares === undefined) return none('a proof-of-work result must list its shares');
  if (sharesRoot(shares, hash) !== root) return none('the root is not the Merkle root of the listed shares');
  const { header, target, shareTarget } = powInputs(unit);
  const end = unit.nonceStart + unit.nonceCount;
  const hasher = new PowHasher(header);
  const solutions: number[] = [];
  for (const nonce of shares) {
    if (nonce < unit.nonceStart || nonce >= end) return none(`share ${nonce} is outside the range [${unit.nonceStart}, ${end})`);
    const digest = hasher.hash(nonce);
    if (!meetsTarget(digest, shareTarget)) return none(`nonce ${nonce} is not a share: its hash is above the share target`);
    if (meetsTarget(digest, target)) solutions.push(nonce);
  }
  const lambda = unit.nonceCount * targetProbability(shareTarget);
  const tail = poissonLowerTail(shares.length, lambda);
  if (tail < SKIP_ALPHA) {
    return none(`${shares.length} shares where ${lambda.toFixed(1)} were expected (P = ${tail.toExponential(1)}): most of the range was not searched`);
  }
  return { solutions };
}
