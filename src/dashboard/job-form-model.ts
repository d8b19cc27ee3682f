import { isTabgridError } from '../errors';
import { isJobRequest } from '../host/ingest/request';
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
  /** Where units' inputs come from: generated from the seed, or the researcher's own files. */
  readonly source: InputSource;
  /** Own files: how a records file is laid out (sha256-batch). */
  readonly recordsFormat: RecordsLayout;
  /** Own files, fixed-size records: a record's bytes. */
  readonly recordBytes: string;
  /** Own files, proof of work: units searching each header. */
  readonly unitsPerHeader: string;
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

export const InputSource = { Seeded: 'seeded', Files: 'files' } as const;
export type InputSource = (typeof InputSource)[keyof typeof InputSource];

/** A records file's layout (ingest/request.ts RecordsFormat): length-prefixed records, fixed-size records, or a folder of files, one a record. */
export const RecordsLayout = { LengthPrefixed: 'length-prefixed', Fixed: 'fixed', Directory: 'directory' } as const;
export type RecordsLayout = (typeof RecordsLayout)[keyof typeof RecordsLayout];

/** The kernels whose jobs may read the researcher's own files (host/ingest/ingest.ts). */
export const FILE_KERNELS: readonly Kernel[] = [Kernel.MatmulF32, Kernel.MatmulModp, Kernel.Sha256Batch, Kernel.Sha256dPow];

/** The file inputs: A and B (.npy, matrices), the records (one file, or a folder's files), the headers (text). */
export type FileField = 'a' | 'b' | 'records' | 'headers';

/** The files chosen so far. */
export interface FormFiles {
  readonly a?: File;
  readonly b?: File;
  readonly records?: readonly File[];
  readonly headers?: File;
}

/** The file inputs a kernel's job reads. */
export function fileFieldsFor(kernel: Kernel): FileField[] {
  switch (kernel) {
    case Kernel.MatmulF32:
    case Kernel.MatmulModp:
      return ['a', 'b'];
    case Kernel.Sha256Batch:
      return ['records'];
    case Kernel.Sha256dPow:
      return ['headers'];
    case Kernel.MatmulI8:
      return [];
  }
}

/** Fields the files decide (the units, and the sizes of the inputs), hidden when the source is files. */
const DECIDED_BY_FILES: ReadonlySet<string> = new Set(['units', 'seed', 'm', 'n', 'k', 'messageLength']);

export type JobFormField = keyof JobFormValues;
/** Field → message; `form` for errors that belong to no one field. */
export type FieldErrors = Partial<Record<JobFormField | FileField | 'form', string>>;
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
  source: InputSource.Seeded,
  recordsFormat: RecordsLayout.LengthPrefixed,
  recordBytes: '64',
  unitsPerHeader: '1',
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
export function fieldsFor(v: Pick<JobFormValues, 'kernel' | 'verify' | 'trust'> & Partial<Pick<JobFormValues, 'source' | 'recordsFormat'>>): Set<JobFormField> {
  const files = usesFiles(v);
  const f = new Set<JobFormField>(['id', 'kernel', 'units', 'seed', 'priority', 'trust']);
  if (kernelForm(v.kernel).output) f.add('collect');
  for (const { name } of formFieldsOf(v.kernel)) f.add(name);
  if (files) {
    for (const field of DECIDED_BY_FILES) f.delete(field as JobFormField);
    f.add('source');
    if (v.kernel === Kernel.Sha256Batch) f.add('recordsFormat');
    if (v.kernel === Kernel.Sha256Batch && v.recordsFormat === RecordsLayout.Fixed) f.add('recordBytes');
    if (v.kernel === Kernel.Sha256dPow) f.add('unitsPerHeader');
  }
  const choices = verifyChoices(v.kernel);
  const verify = choices.includes(v.verify) ? v.verify : MatrixVerify.Challenge;
  if (choices.length > 0) f.add('verify');
  // Replication challenges each replica from a key without an earned record, so it has samples too.
  if ((verify === MatrixVerify.Challenge || verify === MatrixVerify.Replicate) && f.has('verify')) f.add('samples');
  if (verify === MatrixVerify.Freivalds) f.add('rounds');
  if (v.trust) ['warmup', 'minCheckRate', 'decay', 'banAfter'].forEach((x) => f.add(x as JobFormField));
  return f;
}

/** Whether the form describes a job on the researcher's own files (a kernel that takes them, and the source set to files). */
export function usesFiles(v: Pick<JobFormValues, 'kernel'> & Partial<Pick<JobFormValues, 'source'>>): boolean {
  return v.source === InputSource.Files && FILE_KERNELS.includes(v.kernel);
}

const numberOf = (text: string) => (text.trim() === '' ? NaN : Number(text));

/**
 * What keeping the output costs for the values typed so far: the bytes each accepted unit
 * uploads once more and the host keeps (digests: 32 a message; C: 4 a cell), per unit and for
 * the whole job; undefined while the sizes are not numbers, or where a kernel keeps no output.
 */
export function outputSize(v: JobFormValues): { readonly perUnit: number; readonly total: number } | undefined {
  // The files decide the sizes, and they are read only when the job is created.
  if (usesFiles(v)) return undefined;
  const output = kernelForm(v.kernel).output;
  const perUnit = output ? output.bytesPerUnit((field: KernelFormField) => numberOf(v[field])) : NaN;
  const total = perUnit * numberOf(v.units);
  return Number.isFinite(total) && total >= 0 ? { perUnit, total } : undefined;
}

/** The job the form's fields describe, before parseJob: its fields, or the errors of the fields shown. */
function candidateOf(v: JobFormValues): { readonly candidate: Record<string, unknown>; readonly errors: FieldErrors; readonly shown: Set<JobFormField> } {
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
  return { candidate, errors, shown };
}

/** parseJob's error as the form shows it: next to the field it is about, or under the form. */
function errorsOf(err: unknown, shown: Set<JobFormField>): FieldErrors {
  if (!isTabgridError(err)) throw err;
  const [field, message] = fieldOfError(err.message);
  return { [shown.has(field as JobFormField) ? field : 'form']: message };
}

/**
 * The JobSpec the form describes, checked by parseJob (the host's own check), or the errors
 * keyed by the field they belong to.
 */
export function specFromForm(v: JobFormValues): Parsed {
  const { candidate, errors, shown } = candidateOf(v);
  if (Object.keys(errors).length > 0) return { errors };
  try {
    return { spec: parseJob(candidate) };
  } catch (err) {
    return { errors: errorsOf(err, shown) };
  }
}

export type ParsedRequest =
  { readonly request: Record<string, unknown>; readonly errors?: undefined } | { readonly request?: undefined; readonly errors: FieldErrors };

const FILE_MISSING: Record<FileField, string> = {
  a: 'choose A, a .npy file',
  b: 'choose B, a .npy file',
  records: 'choose the records file (or folder)',
  headers: 'choose the headers file',
};

/** Files in code-unit order of their path in the folder (as Node reads a records directory: load-node.ts). */
function inNameOrder(files: readonly File[]): File[] {
  const key = (f: File) => f.webkitRelativePath || f.name;
  return [...files].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
}

/**
 * The job request (host/ingest/request.ts) the form and its files describe: the policy fields
 * as a seeded job has them, the inputs as Files; the units and sizes are the files' to decide.
 * The files are not read here: ingestion reads and checks them when the job is created.
 */
export function requestFromForm(v: JobFormValues, files: FormFiles): ParsedRequest {
  const { candidate, errors } = candidateOf(v);
  if (!usesFiles(v)) return { errors: { form: `${v.kernel} jobs take seeded inputs only` } };
  const num = (field: JobFormField): number => {
    const value = numberOf(String(v[field]));
    if (!Number.isSafeInteger(value) || value < 1) errors[field] = 'enter a whole number ≥ 1';
    return value;
  };
  const inputs: Record<string, unknown> = {};
  for (const field of fileFieldsFor(v.kernel)) {
    const chosen = files[field];
    if (!chosen || (Array.isArray(chosen) && chosen.length === 0)) errors[field] = FILE_MISSING[field];
  }
  switch (v.kernel) {
    case Kernel.MatmulF32:
    case Kernel.MatmulModp:
      Object.assign(inputs, { a: files.a, b: files.b });
      break;
    case Kernel.Sha256Batch: {
      const list = files.records ?? [];
      if (v.recordsFormat === RecordsLayout.Directory) inputs.records = inNameOrder(list);
      else if (list.length > 1) errors.records = 'choose one file (or lay the records out as a folder of files)';
      else inputs.records = list[0];
      if (v.recordsFormat === RecordsLayout.Fixed) inputs.format = { fixed: num('recordBytes') };
      else if (v.recordsFormat === RecordsLayout.LengthPrefixed) inputs.format = 'length-prefixed';
      break;
    }
    case Kernel.Sha256dPow:
      Object.assign(inputs, { headers: files.headers, unitsPerHeader: num('unitsPerHeader') });
      break;
    case Kernel.MatmulI8:
      break;
  }
  if (Object.keys(errors).length > 0) return { errors };
  const options = Object.fromEntries(Object.entries(candidate).filter(([k]) => !DECIDED_BY_FILES.has(k)));
  return { request: { ...options, ...inputs } };
}

/** The file input an ingestion error is about: its message starts with the file's name (data/: "A.npy: …", "headers.txt:3: …", "A.npy is 2×3 and …"). */
export function fileFieldOf(message: string, files: FormFiles): FileField | undefined {
  const names: [FileField, string][] = [];
  for (const field of ['a', 'b', 'headers'] as const) if (files[field]) names.push([field, files[field].name]);
  for (const f of files.records ?? []) names.push(['records', f.name]);
  // The longest name first, so "A.npy.bak" is not taken for "A.npy".
  names.sort((x, y) => y[1].length - x[1].length);
  return names.find(([, name]) => message.startsWith(`${name}:`) || message.startsWith(`${name} `))?.[0];
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
  if (isJobRequest(raw))
    return { error: 'this job file names its own input files, which a page cannot read by path: choose "Your own data" under Inputs and pick the files' };
  try {
    return { spec: parseJob(raw) };
  } catch (err) {
    if (!isTabgridError(err)) throw err;
    return { error: err.message };
  }
}

/** parseJob's message `job "id": <what>` → the form field <what> is about, and <what>. */
export function fieldOfError(message: string): [JobFormField | 'form', string] {
  const what = message.replace(/^job(?: [^:]*)?: /, '');
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
