import { toHex } from '../../hex';
import type { HostKernel } from '../host-kernel';
import { powForm } from './form';
import { powHeader, powInputs, type PowInputs } from './inputs';
import { powSearchCpuFast, targetFromLeadingZeroBits } from './pow';
import { checkPowResult } from './recheck';
import { powSpecSchema, unitsPerHeader, type PowJobSpec } from './spec';
import type { PowUnit } from './unit';

/** Bitcoin-style proof of work, as the host, the dashboard and the farm know it: every share rechecked, nothing sampled. */
function headerOf(headers: readonly string[], i: number): string {
  const header = headers[i];
  if (header === undefined) throw new RangeError(`no header ${i} of ${headers.length}`);
  return header;
}

export const powHost = {
  kernel: 'sha256d-pow',
  spec: powSpecSchema,
  unit: (spec, index) => ({
    kernel: 'sha256d-pow',
    jobId: spec.id,
    unitId: `${spec.id}/${index}`,
    header: spec.headers ? headerOf(spec.headers, Math.floor(index / unitsPerHeader(spec))) : powHeader(spec),
    nonceStart: (spec.nonceStart ?? 0) + (index % unitsPerHeader(spec)) * spec.noncesPerUnit,
    nonceCount: spec.noncesPerUnit,
    target: toHex(targetFromLeadingZeroBits(spec.targetBits)),
    shareTarget: toHex(targetFromLeadingZeroBits(spec.shareBits)),
  }),
  inputsOf: powInputs,
  // Double SHA-256 of an 80-byte header: two compression blocks, then one.
  work: (unit) => unit.nonceCount * 3,
  checks: {
    kind: 'shares',
    recheck: checkPowResult,
    search: async (unit, signal) => {
      const { header, target, shareTarget } = powInputs(unit);
      const found = await powSearchCpuFast(header, unit.nonceStart, unit.nonceCount, target, shareTarget, { signal });
      return { shares: found.shares, solutions: found.solutions };
    },
  },
  form: powForm,
} as const satisfies HostKernel<PowJobSpec, PowUnit, PowInputs>;
