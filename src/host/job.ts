import { ErrorCode, TabgridError } from '../errors';
import { hostKernel, JOB_FIELDS, type JobSpec } from '../kernels/host-registry';
import { conform, isRecord } from '../kernels/spec-fields';
import { isKernel, Kernel, KERNELS } from '../kernels/units';
import { validateTrustPolicy, type TrustPolicy } from '../proof/trust';

/*
 * A job spec is its kernel's (kernels/<kernel>/spec.ts, registered in kernels/host-registry.ts);
 * the fields every job has and the policy fields are in job-spec.ts, and how the host reads the
 * policy fields in verifiers/policy.ts.
 */
export { datasetsOf, describeLayout, jobGrid, jobUnit, unitWork, type JobSpec } from '../kernels/host-registry';
export { unitDatasets } from '../kernels/units';
export { MAX_COLLECT_BYTES, type JobTrust, type MatmulVerify } from '../kernels/job-spec';
export type { Sha256JobSpec } from '../kernels/sha256-batch/spec';
export type { MatmulF32JobSpec } from '../kernels/matmul-f32/spec';
export type { MatmulModpJobSpec } from '../kernels/matmul-modp/spec';
export type { MatmulJobSpec } from '../kernels/matmul/job';
export { MIN_EXPECTED_SHARES, type PowJobSpec } from '../kernels/sha256d-pow/spec';

/**
 * The demo job `npm start` publishes: long enough to be seen working, a steady stream of units
 * for minutes. Its 32 units of 4,096 messages were done 3 s after Start on a GPU; a unit's round
 * trip (lease, result, challenge, verdict) is about 0.1 s there, so 1,024 units take a GPU tab a
 * minute or two, and a CPU tab (about 0.3 s a unit of 32,768 messages) some five minutes. Tests
 * run their own smaller jobs.
 */
export const DEMO_JOB: JobSpec = {
  id: 'demo-sha256',
  kernel: Kernel.Sha256Batch,
  units: 1024,
  messagesPerUnit: 32_768,
  messageLength: 64,
  seed: 2026,
  samples: 16,
};

/**
 * A job from anywhere (a job file, the dashboard's form or upload, a store): an object of a
 * known kernel, with that kernel's fields only, each within its limits, and its policy fields
 * consistent. Returns the same object, typed; throws TabgridError('bad-input') naming the job
 * and what is wrong. A field no kernel has is reported as unknown before the kernel is looked
 * at, so a misspelt `kernal` reads as that, not as a missing kernel.
 */
export function parseJob(raw: unknown): JobSpec {
  const bad = (what: string): never => {
    // A job without an id (or no object at all) is named "job", not "job undefined".
    const name = isRecord(raw) && raw.id !== undefined ? `job ${JSON.stringify(raw.id)}` : 'job';
    throw new TabgridError(ErrorCode.BadInput, `${name}: ${what}`);
  };
  if (!isRecord(raw))
    return bad(`a job is a JSON object, not ${Array.isArray(raw) ? 'an array (give one job per file)' : raw === null ? 'null' : `a ${typeof raw}`}`);
  for (const key of Object.keys(raw)) if (!JOB_FIELDS.has(key)) bad(`unknown field '${key}'`);
  if (!isKernel(raw.kernel)) return bad(`kernel must be one of ${KERNELS.join(', ')}`);
  conform(hostKernel(raw.kernel).spec, raw, bad);
  return raw;
}

/** The adaptive-trust policy of a job, or undefined when it verifies every result. */
export function jobTrustPolicy(spec: JobSpec): TrustPolicy | undefined {
  return spec.trust === undefined ? undefined : validateTrustPolicy(spec.trust);
}
