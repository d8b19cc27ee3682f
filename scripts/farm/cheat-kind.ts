import { Kernel } from '../../src/protocol';

/** The ways a farm cheater lies (see cheater.ts). */
export const CheatKind = {
  /** Matrix unit: one element of C changed; commits, signs and answers honestly from the wrong C. */
  WrongElement: 'wrong-element',
  /** sha256-batch: one digest wrong, otherwise honest. */
  WrongDigest: 'wrong-digest',
  /** sha256d-pow: searches only the first half of its nonce range. */
  SkippedRange: 'skipped-range',
  /** An honest result whose signature is another key's. */
  ForgedSignature: 'forged-signature',
  /** Re-sends the root and signature of a result accepted for one unit as the result of another it holds. */
  Replay: 'replay',
  /** A well-signed honest result for a unit it was never leased. */
  NeverLeased: 'never-leased',
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
      return [Kernel.MatmulModp, Kernel.MatmulF32];
    case CheatKind.WrongDigest:
      return [Kernel.Sha256Batch];
    case CheatKind.SkippedRange:
      return [Kernel.Sha256dPow];
    default:
      return undefined;
  }
}
