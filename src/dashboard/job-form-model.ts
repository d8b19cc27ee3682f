import { isTabgridError } from '../errors';
import { validateJob, type JobSpec, type JobTrust } from '../host/job';
import { Kernel } from '../protocol';
import { DEFAULT_TRUST_POLICY } from '../proof/trust';

/** The job form's fields, as the form holds them (text, as typed). */
export interface JobFormValues {
  readonly id: string;
  readonly kernel: Kernel;
  readonly units: string;
  readonly seed: string;
  readonly priority: string;
  readonly messagesPerUnit: string;
  readonly messageLength: string;
  readonly m: string;
  readonly n: string;
  readonly k: string;
  readonly p: string;
  readonly noncesPerUnit: string;
  readonly shareBits: string;
  readonly targetBits: string;
  /**
   * 'challenge' (recompute `samples` leaves or rows), 'freivalds' (matrices: `rounds` rounds) or
   * 'replicate' (hashing and modp: two keys must agree).
   */
  readonly verify: MatrixVerify;
  readonly samples: string;
  readonly rounds: string;
  /** Adaptive trust on (spot checks for keys with a run of valid results) or off (check all). */
  readonly trust: boolean;
  /**
   * Keep every accepted unit's output (`collect`) so it can be downloaded; on by default, not
   * offered for proof of work (its solutions are always kept).
   */
  readonly collect: boolean;
  readonly warmup: string;
  readonly minCheckRate: string;
  readonly decay: string;
  readonly banAfter: string;
}

export const MatrixVerify = { Challenge: 'challenge', Freivalds: 'freivalds', Replicate: 'replicate' } as const;
export type MatrixVerify = (typeof MatrixVerify)[keyof typeof MatrixVerify];

export type JobFormField = keyof JobFormValues;
/** Field → message; `form` for errors that belong to no one field. */
export type FieldErrors = Partial<Record<JobFormField | 'form', string>>;
export type Parsed = { readonly spec: JobSpec; readonly errors?: undefined } | { readonly spec?: undefined; readonly errors: FieldErrors };

export const DEFAULT_FORM: JobFormValues = {
  id: 'job-1',
  kernel: Kernel.Sha256Batch,
  units: '16',
  seed: '1',
  priority: '0',
  messagesPerUnit: '4096',
  messageLength: '64',
  m: '256',
  n: '256',
  k: '256',
  p: '65521',
  noncesPerUnit: '1048576',
  shareBits: '14',
  targetBits: '24',
  verify: MatrixVerify.Challenge,
  samples: '16',
  rounds: '2',
  trust: false,
  collect: true,
  warmup: String(DEFAULT_TRUST_POLICY.warmup),
  minCheckRate: String(DEFAULT_TRUST_POLICY.minCheckRate),
  decay: String(DEFAULT_TRUST_POLICY.decay),
  banAfter: String(DEFAULT_TRUST_POLICY.banAfter),
};

const isMatrix = (k: Kernel) => k === Kernel.MatmulF32 || k === Kernel.MatmulModp;

/** The verification policies a kernel's jobs may choose (none for proof of work: every share is rechecked). */
export function verifyChoices(kernel: Kernel): MatrixVerify[] {
  if (kernel === Kernel.Sha256Batch) return [MatrixVerify.Challenge, MatrixVerify.Replicate];
  if (kernel === Kernel.MatmulModp) return [MatrixVerify.Challenge, MatrixVerify.Freivalds, MatrixVerify.Replicate];
  if (kernel === Kernel.MatmulF32) return [MatrixVerify.Challenge, MatrixVerify.Freivalds];
  return [];
}

/** Which fields the form shows for a kernel (the others do not apply to it). */
export function fieldsFor(v: Pick<JobFormValues, 'kernel' | 'verify' | 'trust'>): Set<JobFormField> {
  const f = new Set<JobFormField>(['id', 'kernel', 'units', 'seed', 'priority', 'trust']);
  if (v.kernel !== Kernel.Sha256dPow) f.add('collect');
  const verify = verifyChoices(v.kernel).includes(v.verify) ? v.verify : MatrixVerify.Challenge;
  if (v.kernel === Kernel.Sha256Batch) ['messagesPerUnit', 'messageLength', 'verify'].forEach((x) => f.add(x as JobFormField));
  if (isMatrix(v.kernel)) {
    ['m', 'n', 'k', 'verify'].forEach((x) => f.add(x as JobFormField));
    if (v.kernel === Kernel.MatmulModp) f.add('p');
  }
  // Replication challenges each replica from a key without an earned record, so it has samples too.
  if ((verify === MatrixVerify.Challenge || verify === MatrixVerify.Replicate) && f.has('verify')) f.add('samples');
  if (verify === MatrixVerify.Freivalds) f.add('rounds');
  if (v.kernel === Kernel.Sha256dPow) ['noncesPerUnit', 'shareBits', 'targetBits'].forEach((x) => f.add(x as JobFormField));
  if (v.trust) ['warmup', 'minCheckRate', 'decay', 'banAfter'].forEach((x) => f.add(x as JobFormField));
  return f;
}

/**
 * What keeping the output costs for the values typed so far: the bytes each accepted unit
 * uploads once more and the host keeps (digests: 32 a message; C: 4 a cell), per unit and for
 * the whole job; undefined while the sizes are not numbers, or for proof of work.
 */
export function outputSize(v: JobFormValues): { readonly perUnit: number; readonly total: number } | undefined {
  const n = (text: string) => (text.trim() === '' ? NaN : Number(text));
  const perUnit = v.kernel === Kernel.Sha256Batch ? 32 * n(v.messagesPerUnit) : isMatrix(v.kernel) ? 4 * n(v.m) * n(v.n) : NaN;
  const total = perUnit * n(v.units);
  return Number.isFinite(total) && total >= 0 ? { perUnit, total } : undefined;
}

/**
 * The JobSpec the form describes, checked by validateJob (the host's own check), or the
 * errors keyed by the field they belong to.
 */
export function specFromForm(v: JobFormValues): Parsed {
  const errors: FieldErrors = {};
  const num = (field: JobFormField): number => {
    const text = String(v[field]).trim();
    const value = text === '' ? NaN : Number(text);
    if (!Number.isFinite(value)) errors[field] = 'enter a number';
    return value;
  };
  const shown = fieldsFor(v);
  // A policy left over from another kernel falls back to the challenge, as the form shows it.
  const replicate = verifyChoices(v.kernel).includes(v.verify) && v.verify === MatrixVerify.Replicate ? { replicate: true } : {};
  const common = { id: v.id.trim(), units: num('units'), seed: num('seed'), ...(num('priority') !== 0 ? { priority: num('priority') } : {}) };
  const trust: { trust?: JobTrust } = v.trust
    ? { trust: { warmup: num('warmup'), minCheckRate: num('minCheckRate'), decay: num('decay'), banAfter: num('banAfter') } }
    : {};
  // Off is the spec's default, so it is left out: the spec stays what a job file would say.
  const collect: { collect?: true } = shown.has('collect') && v.collect ? { collect: true } : {};
  let spec: JobSpec;
  if (v.kernel === Kernel.Sha256Batch) {
    const check = { samples: num('samples'), ...replicate };
    spec = { ...common, kernel: v.kernel, messagesPerUnit: num('messagesPerUnit'), messageLength: num('messageLength'), ...check, ...collect, ...trust };
  } else if (v.kernel === Kernel.Sha256dPow) {
    spec = { ...common, kernel: v.kernel, noncesPerUnit: num('noncesPerUnit'), shareBits: num('shareBits'), targetBits: num('targetBits'), ...trust };
  } else {
    const check = shown.has('rounds') ? { verify: { policy: MatrixVerify.Freivalds, rounds: num('rounds') } } : { samples: num('samples'), ...replicate };
    spec = {
      ...common,
      kernel: v.kernel,
      m: num('m'),
      n: num('n'),
      k: num('k'),
      ...(v.kernel === Kernel.MatmulModp ? { p: num('p') } : {}),
      ...check,
      ...collect,
      ...trust,
    };
  }
  for (const field of Object.keys(errors)) if (!shown.has(field as JobFormField)) delete errors[field as JobFormField];
  if (Object.keys(errors).length > 0) return { errors };
  try {
    return { spec: validateJob(spec) };
  } catch (err) {
    if (!isTabgridError(err)) throw err;
    const [field, message] = fieldOfError(err.message);
    return { errors: { [shown.has(field as JobFormField) ? field : 'form']: message } };
  }
}

/**
 * A job file (JSON), checked by validateJob; the error as text otherwise. The form cannot
 * express every spec (e.g. a proof-of-work header), a file can.
 */
export function specFromFile(text: string): { spec: JobSpec; error?: undefined } | { spec?: undefined; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  try {
    return { spec: validateJob(raw as JobSpec) };
  } catch (err) {
    if (!isTabgridError(err)) throw err;
    return { error: err.message };
  }
}

/** validateJob's message `job "id": <what>` → the form field <what> is about, and <what>. */
export function fieldOfError(message: string): [JobFormField | 'form', string] {
  const what = message.replace(/^job [^:]*: /, '');
  const trust = /^trust policy (warmup|minCheckRate|decay|banAfter)\b/.exec(what);
  if (trust) return [trust[1] as JobFormField, what];
  if (what.startsWith('verify.rounds') || what.startsWith('verify.')) return ['rounds', what];
  if (what.startsWith('the nonce ranges')) return ['units', what];
  if (what.startsWith('samples × row size')) return ['samples', what];
  const named = /^(id|units|seed|priority|samples|messagesPerUnit|messageLength|noncesPerUnit|shareBits|targetBits|m|n|k|p)\b/.exec(what);
  return named ? [named[1] as JobFormField, what] : ['form', what];
}
