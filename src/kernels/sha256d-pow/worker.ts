import { ErrorCode, TabgridError } from '../../errors';
import type { KernelContext, WorkerKernel } from '../worker-kernel';
import { Sha256dPowGpu } from './gpu';
import { powInputs } from './inputs';
import { sharesToLeaves } from '../shares';
import { targetFromLeadingZeroBits } from './pow';
import { hashPoolOf } from '../cpu-hash/pool';
import type { PowUnit } from './unit';

let probe: { header: Uint8Array; target: Uint8Array; share: Uint8Array } | undefined;
/** The problem a software adapter is timed on against the CPU: 16384 nonces of a zero header. */
const calibration = () => (probe ??= { header: new Uint8Array(80), target: targetFromLeadingZeroBits(32), share: targetFromLeadingZeroBits(8) });

const gpuOf = (context: KernelContext) => context.shared('sha256d-pow/gpu', () => new Sha256dPowGpu(context.devices));

/**
 * Proof-of-work search in the compute worker: the kernel of shader.ts, or the midstate search in JS
 * on the CPU, its nonce range split across a pool of workers (cpu-hash/pool.ts). Leaves are the shares.
 */
export const powWorker: WorkerKernel<PowUnit> = {
  calibration: (context) => ({
    gpu: () => gpuOf(context).search(calibration().header, 0, 16384, calibration().target, calibration().share),
    // The CPU side as units run it, on every core: the choice compares like with like.
    cpu: () => hashPoolOf(context).powSearch(calibration().header, 0, 16384, calibration().target, calibration().share),
  }),
  run(unit, context) {
    const { header, target, shareTarget } = powInputs(unit);
    return {
      gpu: async (start, end, options) => {
        const out = await gpuOf(context).search(header, unit.nonceStart + start, end - start, target, shareTarget, options);
        if (out.overflowed > 0) throw new TabgridError(ErrorCode.BadInput, `${unit.unitId}: more shares than one result holds`);
        return sharesToLeaves(out.shares);
      },
      cpu: async (start, end, options) =>
        sharesToLeaves((await hashPoolOf(context).powSearch(header, unit.nonceStart + start, end - start, target, shareTarget, options)).shares),
    };
  },
};
