import { Kernel } from '../../protocol';

/**
 * What a kernel's results admit, as far as the verification policies care. A policy states what
 * it needs (POLICY_NEEDS in policy.ts), a kernel what it offers (here), so neither lists the
 * other: a new kernel adds its line (with a kernel registry, this moves into each kernel's
 * module), a new policy its need.
 */
export interface KernelChecks {
  /** The host can check one leaf of a result alone by recomputing it (a digest, a row of C). */
  readonly leaves: boolean;
  /** Every device computes the same bytes, so two keys' results can be compared. */
  readonly bitExact: boolean;
  /** The output is a matrix product C = A·B. */
  readonly product: boolean;
  /** A result lists shares, each cheap to recheck (proof of work); its job file has no policy fields. */
  readonly shares: boolean;
}

export const KERNEL_CHECKS = {
  [Kernel.Sha256Batch]: { leaves: true, bitExact: true, product: false, shares: false },
  // f32 sums round differently on different devices.
  [Kernel.MatmulF32]: { leaves: true, bitExact: false, product: true, shares: false },
  [Kernel.MatmulModp]: { leaves: true, bitExact: true, product: true, shares: false },
  [Kernel.Sha256dPow]: { leaves: false, bitExact: true, product: false, shares: true },
} as const satisfies Record<Kernel, KernelChecks>;
