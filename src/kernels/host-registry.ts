/**
 * Every kernel as the host, the dashboard and the farm know it, registered once (one line per
 * kernel), and what they ask of a kernel without naming it: a job's units, a unit's credit, its
 * checks. The compute worker's half of each kernel (GPU runner, CPU path) is registered apart,
 * in worker-registry.ts, so that the host, the dashboard and the widget never carry WGSL.
 */
import type * as v from 'valibot';
import type { Hasher } from '../hash/sha256-cpu';
import type { LeafCheck } from './host-kernel';
import type { Random } from '../proof/random';
import type { FormField, HostKernel, KernelForm, MatrixDtype, MatrixGrid, ResultChecks, SearchResult } from './host-kernel';
import { matmulF32Host } from './matmul-f32/host';
import { matmulI8Host } from './matmul-i8/host';
import { matmulModpHost } from './matmul-modp/host';
import { sha256BatchHost } from './sha256-batch/host';
import { powHost } from './sha256d-pow/host';
import { Kernel, type ChallengedUnit, type UnitMap, type WorkUnit } from './units';

const HOST_MODULES = {
  [Kernel.Sha256Batch]: sha256BatchHost,
  [Kernel.MatmulF32]: matmulF32Host,
  [Kernel.MatmulModp]: matmulModpHost,
  [Kernel.Sha256dPow]: powHost,
  [Kernel.MatmulI8]: matmulI8Host,
} satisfies { [K in Kernel]: { readonly kernel: K; readonly checks: ResultChecks<UnitMap[K]> } };

type HostModules = typeof HOST_MODULES;
/** Each kernel's job spec, by kernel name. */
export type SpecMap = { [K in Kernel]: v.InferOutput<HostModules[K]['spec']> };
/** A job as a researcher describes it (the job file's JSON), parsed by host/job.ts parseJob. */
export type JobSpec = SpecMap[Kernel];
/** A kernel's own fields on the job form, and all kernels' together. */
export type FormFieldOf<K extends Kernel> = keyof HostModules[K]['form']['fields'] & string;
export type KernelFormField = { [K in Kernel]: FormFieldOf<K> }[Kernel];

const HOST_KERNELS: { readonly [K in Kernel]: HostKernel<SpecMap[K], UnitMap[K]> } = HOST_MODULES;

export function hostKernel<K extends Kernel>(kernel: K): HostKernel<SpecMap[K], UnitMap[K]> {
  return HOST_KERNELS[kernel];
}

const FORMS: { readonly [K in Kernel]: { readonly form: KernelForm<FormFieldOf<K>> } } = HOST_MODULES;

/** A kernel on the dashboard's job form, its fields named. */
export function kernelForm<K extends Kernel>(kernel: K): KernelForm<FormFieldOf<K>> {
  return FORMS[kernel].form;
}

/** A kernel's own form fields, in the order shown, each with its name. */
export function formFieldsOf(kernel: Kernel): readonly { readonly name: KernelFormField; readonly field: FormField }[] {
  const fields: Readonly<Record<string, FormField>> = HOST_KERNELS[kernel].form.fields;
  // Names of a kernel's form fields are KernelFormFields by that type's definition.
  return Object.entries(fields).map(([name, field]) => ({ name: name as KernelFormField, field }));
}

/** Every field some kernel's job spec has (a field none has is reported as unknown before the kernel is known). */
export const JOB_FIELDS: ReadonlySet<string> = new Set(Object.values(HOST_KERNELS).flatMap((k) => Object.keys(k.spec.entries)));

function unitOf<K extends Kernel>(kernel: K, spec: SpecMap[K], index: number): UnitMap[K] {
  return HOST_KERNELS[kernel].unit(spec, index);
}

/** Unit `index` of a job. */
export function jobUnit(spec: JobSpec, index: number): WorkUnit {
  return unitOf(spec.kernel, spec, index);
}

function datasetsOfKernel<K extends Kernel>(kernel: K, spec: SpecMap[K]): readonly string[] {
  return HOST_KERNELS[kernel].datasets?.(spec) ?? [];
}

/** The datasets (roots) a job reads: its host holds them before it makes the job's units. */
export function datasetsOf(spec: JobSpec): readonly string[] {
  return datasetsOfKernel(spec.kernel, spec);
}

function workOf<K extends Kernel>(kernel: K, unit: UnitMap[K]): number {
  return HOST_KERNELS[kernel].work(unit);
}

/** The credit a unit earns, in proportion to its work (SHA-256 compression blocks, multiply-adds). */
export function unitWork(unit: WorkUnit): number {
  return workOf(unit.kernel, unit);
}

/** A unit's result checks (host-kernel.ts), bound to the unit. */
export type UnitChecks =
  | {
      readonly kind: 'leaves';
      leafCheck(hash: Hasher): LeafCheck;
      reference(hash: Hasher): Uint8Array;
      readonly bitExact: boolean;
      readonly freivalds?: (output: Uint8Array, rounds: number, random: Random) => string | undefined;
    }
  | {
      readonly kind: 'shares';
      recheck(root: string, shares: readonly number[] | undefined, hash: Hasher): { readonly failure?: string; readonly solutions: number[] };
      search(signal?: AbortSignal): Promise<SearchResult>;
    };

function bind<K extends Kernel>(kernel: K, unit: UnitMap[K]): UnitChecks {
  const checks = HOST_KERNELS[kernel].checks;
  if (checks.kind === 'shares') {
    return { kind: checks.kind, recheck: (root, shares, hash) => checks.recheck(unit, root, shares, hash), search: (signal) => checks.search(unit, signal) };
  }
  const { freivalds } = checks;
  return {
    kind: checks.kind,
    leafCheck: (hash) => checks.leafCheck(unit, hash),
    reference: (hash) => checks.reference(unit, hash),
    bitExact: checks.bitExact,
    ...(freivalds ? { freivalds: (output: Uint8Array, rounds: number, random: Random) => freivalds(unit, output, rounds, random) } : {}),
  };
}

export function checksOf(unit: WorkUnit): UnitChecks {
  return bind(unit.kernel, unit);
}

/** The checks of a unit whose result is leaves. */
export function leafChecksOf(unit: ChallengedUnit): Extract<UnitChecks, { kind: 'leaves' }> {
  const checks = checksOf(unit);
  if (checks.kind !== 'leaves') throw new Error(`${unit.kernel} results are not checked leaf by leaf`);
  return checks;
}

/**
 * A whole unit computed by the CPU reference: what the host recomputes when replicas all
 * disagree, and what the farm and the tests check volunteers against.
 */
export function referenceLeaves(unit: ChallengedUnit, hash: Hasher): Uint8Array {
  return leafChecksOf(unit).reference(hash);
}

/** How a job's kept output is downloaded, with its matrix shape, or undefined where its kernel keeps none. */
export type JobOutput = { readonly as: 'digests' } | { readonly as: 'matrix'; readonly dtype: MatrixDtype; readonly m: number; readonly n: number };

function outputOf<K extends Kernel>(kernel: K, spec: SpecMap[K]): JobOutput | undefined {
  const output = HOST_KERNELS[kernel].output;
  if (output === undefined || output.as === 'digests') return output;
  return { as: output.as, dtype: output.dtype, ...output.shape(spec) };
}

export function jobOutput(spec: JobSpec): JobOutput | undefined {
  return outputOf(spec.kernel, spec);
}

function gridOf<K extends Kernel>(kernel: K, spec: SpecMap[K]): MatrixGrid | undefined {
  const output = HOST_KERNELS[kernel].output;
  return output?.as === 'matrix' ? output.grid?.(spec) : undefined;
}

/** Where each unit's block lies in C, for a job that tiles one big product (host-kernel.ts OutputFormat `grid`); undefined for any other job. */
export function jobGrid(spec: JobSpec): MatrixGrid | undefined {
  return gridOf(spec.kernel, spec);
}

/** A job's layout in words, for logs and the SDK: its units, and for a tiled product C's shape and the unit grid. */
export function describeLayout(spec: JobSpec): string {
  const grid = jobGrid(spec);
  if (!grid || !('m' in spec)) return `${spec.units} units`;
  const bands = Math.ceil(grid.rows / spec.m);
  return `C ${grid.rows}×${grid.cols} in ${grid.units} units (${bands} bands of ≤ ${spec.m} rows × ${grid.units / bands} panels of ≤ ${spec.n} columns, inner ${spec.k})`;
}
