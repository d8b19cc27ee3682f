import { isTabgridError } from '../errors';
import { parseJob, type JobSpec, type JobTrust } from '../host/job';
import { policiesFor, PolicyKind } from '../host/verifiers/policy';
import { formFieldsOf, kernelForm, type KernelFormField } from '../kernels/host-registry';
import { Kernel, KERNELS } from '../kernels/units';
import { DEFAULT_TRUST_POLICY } from '../proof/trust';

/** The job form's fields, as the form holds them (text, as typed): every job's, then every kernel's own (kernels/<kernel>/form.ts). */
export type JobFormValues = CommonFormValues & { readonly [F in KernelFormField]: string };

interface CommonFormValues {
  readonly id: string;
  readonly kernel: Kernel;
  readonly units: string;
  readonly seed: string;
  readonly priority: string;
  /**
   * 'challenge' (recompute `samples` leaves or rows), 'freivalds' (matrices: `rounds` rounds) or
   * 'replicate' (bit-exact kernels: two keys must agree).
   */
  readonly verify: MatrixVerify;
  readonly samples: string;
  readonly rounds: string;
  /** Adaptive trust on (spot checks for keys with a run of valid results) or off (check all). */
  readonly trust: boolean;
  /**
   * Keep every accepted unit's output (`collect`) so it can be downloaded; on by default, not
   * offered where a kernel keeps no output (proof of work keeps its solutions).
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

/** Every kernel's fields at their initial values (a field two kernels share has one). */
function kernelInitials(): { readonly [F in KernelFormField]: string } {
  const initials: Partial<Record<KernelFormField, string>> = {};
  for (const kernel of KERNELS) for (const { name, field } of formFieldsOf(kernel)) initials[name] = field.initial;
  return initials as { readonly [F in KernelFormField]: string };
}

export const DEFAULT_FORM: JobFormValues = {
  id: 'job-1',
  kernel: Kernel.Sha256Batch,
  units: '16',
  seed: '1',
  priority: '0',
  ...kernelInitials(),
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

/**
 * The verification policies a researcher may pick for a kernel's jobs: the policies its checks
 * allow (verifiers/policy.ts policiesFor), but proof of work's, which has none to pick.
 */
export function verifyChoices(kernel: Kernel): MatrixVerify[] {
  return policiesFor(kernel).flatMap((p) => (p === PolicyKind.RecheckAll ? [] : [p]));
}

/** Which fields the form shows for a kernel (the others do not apply to it). */
export function fieldsFor(v: Pick<JobFormValues, 'kernel' | 'verify' | 'trust'>): Set<JobFormField> {
  const f = new Set<JobFormField>(['id', 'kernel', 'units', 'seed', 'priority', 'trust']);
  if (kernelForm(v.kernel).output) f.add('collect');
  for (const { name } of formFieldsOf(v.kernel)) f.add(name);
  const choices = verifyChoices(v.kernel);
  const verify = choices.includes(v.verify) ? v.verify : MatrixVerify.Challenge;
  if (choices.length > 0) f.add('verify');
  // Replication challenges each replica from a key without an earned record, so it has samples too.
  if ((verify === MatrixVerify.Challenge || verify === MatrixVerify.Replicate) && f.has('verify')) f.add('samples');
  if (verify === MatrixVerify.Freivalds) f.add('rounds');
  if (v.trust) ['warmup', 'minCheckRate', 'decay', 'banAfter'].forEach((x) => f.add(x as JobFormField));
  return f;
}

const numberOf = (text: string) => (text.trim() === '' ? NaN : Number(text));

/**
 * What keeping the output costs for the values typed so far: the bytes each accepted unit
 * uploads once more and the host keeps (digests: 32 a message; C: 4 a cell), per unit and for
 * the whole job; undefined while the sizes are not numbers, or where a kernel keeps no output.
 */
export function outputSize(v: JobFormValues): { readonly perUnit: number; readonly total: number } | undefined {
  const output = kernelForm(v.kernel).output;
  const perUnit = output ? output.bytesPerUnit((field: KernelFormField) => numberOf(v[field])) : NaN;
  const total = perUnit * numberOf(v.units);
  return Number.isFinite(total) && total >= 0 ? { perUnit, total } : undefined;
}

/**
 * The JobSpec the form describes, checked by parseJob (the host's own check), or the errors
 * keyed by the field they belong to.
 */
export function specFromForm(v: JobFormValues): Parsed {
  const errors: FieldErrors = {};
  const num = (field: JobFormField): number => {
    const value = numberOf(String(v[field]));
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
  const check = shown.has('rounds')
    ? { verify: { policy: MatrixVerify.Freivalds, rounds: num('rounds') } }
    : shown.has('samples')
      ? { samples: num('samples'), ...replicate }
      : {};
  const own = kernelForm(v.kernel).specFields((field: KernelFormField) => num(field));
  const candidate = { ...common, kernel: v.kernel, ...own, ...check, ...collect, ...trust };
  for (const field of Object.keys(errors)) if (!shown.has(field as JobFormField)) delete errors[field as JobFormField];
  if (Object.keys(errors).length > 0) return { errors };
  try {
    return { spec: parseJob(candidate) };
  } catch (err) {
    if (!isTabgridError(err)) throw err;
    const [field, message] = fieldOfError(err.message);
    return { errors: { [shown.has(field as JobFormField) ? field : 'form']: message } };
  }
}

/**
 * A job file (JSON), checked by parseJob; the error as text otherwise. The form cannot
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
    return { spec: parseJob(raw) };
  } catch (err) {
    if (!isTabgridError(err)) throw err;
    return { error: err.message };
  }
}

/** parseJob's message `job "id": <what>` → the form field <what> is about, and <what>. */
export function fieldOfError(message: string): [JobFormField | 'form', string] {
  const what = message.replace(/^job [^:]*: /, '');
  const trust = /^trust policy (warmup|minCheckRate|decay|banAfter)\b/.exec(what);
  if (trust) return [trust[1] as JobFormField, what];
  if (what.startsWith('verify.rounds') || what.startsWith('verify.')) return ['rounds', what];
  for (const kernel of KERNELS) {
    for (const [prefix, field] of kernelForm(kernel).messageFields ?? []) if (what.startsWith(prefix)) return [field as JobFormField, what];
  }
  const fields = ['id', 'units', 'seed', 'priority', 'samples', ...KERNELS.flatMap((k) => formFieldsOf(k).map(({ name }) => name))];
  const named = new RegExp(`^(${fields.join('|')})\\b`).exec(what);
  return named ? [named[1] as JobFormField, what] : ['form', what];
}
