import { ErrorCode, TabgridError } from '../errors';
import { Kernel, MAX_UNIT_MESSAGES, MAX_UNIT_MESSAGE_BYTES, MAX_CHALLENGE, type WorkUnit } from '../protocol';
import { sha256Blocks } from '../hash/sha256-ref';
import { mix32 } from '../work/seeded';

/** A job as a researcher describes it (the job file's JSON). */
export interface JobSpec {
  readonly id: string;
  readonly kernel: typeof Kernel.Sha256Batch;
  /** Number of work units. */
  readonly units: number;
  /** Messages per unit and their length in bytes. */
  readonly messagesPerUnit: number;
  readonly messageLength: number;
  /** Seed of the whole job; each unit's seed derives from it. */
  readonly seed: number;
  /** Leaves the host challenges per result: a volunteer faking a fraction f of a unit is caught with probability 1 − (1 − f)^samples. */
  readonly samples: number;
  /** Jobs with a higher priority are leased first (default 0). */
  readonly priority?: number;
}

/** The demo job `npm start` publishes: small enough for a CPU adapter to finish in a minute or two. */
export const DEMO_JOB: JobSpec = {
  id: 'demo-sha256',
  kernel: Kernel.Sha256Batch,
  units: 32,
  messagesPerUnit: 4096,
  messageLength: 64,
  seed: 2026,
  samples: 16,
};

export function validateJob(spec: JobSpec): JobSpec {
  const bad = (what: string) => {
    throw new TabgridError(ErrorCode.BadInput, `job ${JSON.stringify(spec.id)}: ${what}`);
  };
  if (typeof spec.id !== 'string' || !/^[\w.-]{1,64}$/.test(spec.id)) bad('id must be 1..64 letters, digits, . _ or -');
  if (spec.kernel !== Kernel.Sha256Batch) bad(`kernel must be ${Kernel.Sha256Batch}`);
  const intIn = (v: number, lo: number, hi: number, name: string) => {
    if (!Number.isInteger(v) || v < lo || v > hi) bad(`${name} must be an integer in ${lo}..${hi}`);
  };
  intIn(spec.units, 1, 1_000_000, 'units');
  intIn(spec.messagesPerUnit, 1, MAX_UNIT_MESSAGES, 'messagesPerUnit');
  intIn(spec.messageLength, 0, MAX_UNIT_MESSAGE_BYTES, 'messageLength');
  intIn(spec.seed, 0, 0xffffffff, 'seed');
  intIn(spec.samples, 1, MAX_CHALLENGE, 'samples');
  if (spec.priority !== undefined) intIn(spec.priority, -1000, 1000, 'priority');
  const known = new Set(['id', 'kernel', 'units', 'messagesPerUnit', 'messageLength', 'seed', 'samples', 'priority']);
  for (const key of Object.keys(spec)) if (!known.has(key)) bad(`unknown field '${key}'`);
  return spec;
}

/** Unit i of a job. Unit seeds are decorrelated from each other by mix32. */
export function jobUnit(spec: JobSpec, index: number): WorkUnit {
  return {
    kernel: spec.kernel,
    jobId: spec.id,
    unitId: `${spec.id}/${index}`,
    seed: mix32((spec.seed ^ mix32(index + 1)) >>> 0),
    count: spec.messagesPerUnit,
    messageLength: spec.messageLength,
  };
}

/** Work in SHA-256 compression blocks, the unit of credit for hashing kernels. */
export function unitWork(unit: WorkUnit): number {
  return unit.count * sha256Blocks(unit.messageLength);
}
