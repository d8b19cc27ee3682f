import { ErrorCode, TabgridError } from '../../errors';
import type { KernelContext, WorkerKernel } from '../worker-kernel';
import { Sha256dPowGpu } from './gpu';
import { powInputs } from './inputs';
import { sharesToLeaves } from '../shares';
import { powSearchCpuFast, targetFromLeadingZeroBits } from './pow';
import type { PowUnit } from './unit';

let probe: { header: Uint8Array; target: Uint8Array; share: Uint8Array } | undefined;
/** The problem a software adapter is timed on against the CPU: 16384 nonces of a zero header. */
const calibration = () => (probe ??= { header: new Uint8Array(80), target: targetFromLeadingZeroBits(32), share: targetFromLeadingZeroBits(8) });

const gpuOf = (context: KernelContext) => context.shared('sha256d-pow/gpu', () => new Sha256dPowGpu(context.devices));

/** Proof-of-work search in the compute worker: sha256d-pow.wgsl, or the midstate search in JS on the CPU. Leaves are the shares. */
export const powWorker: WorkerKernel<PowUnit> = {
  calibration: (context) => ({
    gpu: () => gpuOf(context).search(calibration().header, 0, 16384, calibration().target, calibration().share),
    cpu: () => powSearchCpuFast(calibration().header, 0, 16384, calibration().target, calibration().share),
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
        sharesToLeaves((await powSearchCpuFast(header, unit.nonceStart + start, end - start, target, shareTarget, options)).shares),
    };
  },
};
