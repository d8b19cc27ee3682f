import { hostKernel } from '../../kernels/host-registry';
import type { Kernel } from '../../protocol';

/**
 * What a kernel's results admit, as far as the verification policies care. A policy states what
 * it needs (POLICY_NEEDS in policy.ts), a kernel what it offers (its checks, in its module:
 * kernels/<kernel>/host.ts), so neither lists the other: a new kernel brings its checks, a new
 * policy its need.
 */
export interface KernelChecks {
  /** The host can check one leaf of a result alone by recomputing it (a digest, a row of C). */
  readonly leaves: boolean;
  /** Every device computes the same bytes, so two keys' results can be compared. */
  readonly bitExact: boolean;
  /** The output is a matrix product C = A·B: the kernel has a Freivalds check. */
  readonly product: boolean;
  /** A result lists shares, each cheap to recheck (proof of work); its job file has no policy fields. */
  readonly shares: boolean;
}

export function kernelChecks(kernel: Kernel): KernelChecks {
  const checks = hostKernel(kernel).checks;
  if (checks.kind === 'shares') return { leaves: false, bitExact: true, product: false, shares: true };
  return { leaves: true, bitExact: checks.bitExact, product: checks.freivalds !== undefined, shares: false };
}
