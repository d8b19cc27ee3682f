import type { JobSpec } from '../../src/host/job';
import { PolicyKind, policyOf } from '../../src/host/verifiers/policy';
import { Kernel } from '../../src/protocol';

/** The ways a farm cheater lies (see cheater.ts). */
export const CheatKind = {
  /** Matrix unit: one element of C changed; commits and answers honestly from the wrong C. */
  WrongElement: 'wrong-element',
  /** sha256-batch: one digest wrong, otherwise honest. */
  WrongDigest: 'wrong-digest',
  /** sha256d-pow: searches only the first half of its nonce range. */
  SkippedRange: 'skipped-range',
  /** An honest result whose MAC is made with a key other than its connection's result key. */
  ForgedMac: 'forged-mac',
  /** Re-sends the root and MAC of a result accepted for one unit as the result of another it holds. */
  Replay: 'replay',
  /** An honest, well-authenticated result for a unit it was never leased. */
  NeverLeased: 'never-leased',
  /**
   * Two keys of one cheater that report the same made-up result on every unit (the same element
   * or digest changed the same way, the same half range searched), hoping to be each other's
   * second replica in replicated jobs. Used where the jobs include a replicated one.
   */
  ColludingPair: 'colluding-pair',
} as const;
export type CheatKind = (typeof CheatKind)[keyof typeof CheatKind];

export const CHEAT_KINDS: readonly CheatKind[] = Object.values(CheatKind);

export function isCheatKind(value: string): value is CheatKind {
  return (CHEAT_KINDS as readonly string[]).includes(value);
}

/** The kernels a kind can cheat on (undefined: any). */
export function cheatKernels(kind: CheatKind): readonly Kernel[] | undefined {
  switch (kind) {
    case CheatKind.WrongElement:
      return [Kernel.MatmulModp, Kernel.MatmulF32, Kernel.MatmulI8];
    case CheatKind.WrongDigest:
      return [Kernel.Sha256Batch];
    case CheatKind.SkippedRange:
      return [Kernel.Sha256dPow];
    case CheatKind.ColludingPair:
      return [Kernel.Sha256Batch, Kernel.MatmulModp, Kernel.MatmulF32, Kernel.MatmulI8, Kernel.Sha256dPow];
    case CheatKind.ForgedMac:
    case CheatKind.Replay:
    case CheatKind.NeverLeased:
      return undefined;
  }
}

/** Whether a kind has something to lie about in these jobs. */
export function usableIn(kind: CheatKind, jobs: readonly JobSpec[]): boolean {
  const kernels = cheatKernels(kind);
  // A colluding pair needs replicated units to agree on.
  const fit = (j: JobSpec) => (kernels?.includes(j.kernel) ?? true) && (kind !== CheatKind.ColludingPair || policyOf(j).kind === PolicyKind.Replicate);
  return jobs.some(fit);
}
