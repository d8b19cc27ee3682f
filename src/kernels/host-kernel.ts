import type * as v from 'valibot';
import type { Hasher } from '../hash/sha256-cpu';
import type { Random } from '../proof/random';
import type { ChallengedUnit, WorkUnit } from './units';

/** Checks one opened leaf's content; returns why it is wrong, or undefined. */
export type LeafCheck = (index: number, leaf: Uint8Array) => string | undefined;

/**
 * How the host checks the results of a kernel whose result is leaves (unit-kernel.ts): by
 * opening some (challenges, and replicas from keys without an earned record), by comparing
 * roots (replication, where bit-exact), or by Freivalds' check of the whole output (matrices).
 * The verification policies a job may choose follow from these hooks.
 */
export interface LeafChecks<U> {
  readonly kind: 'leaves';
  /** Checks one opened leaf against the unit's inputs. */
  leafCheck(unit: U, hash: Hasher): LeafCheck;
  /** The whole output by the CPU reference: the host's own computation, the farm's recheck, tests. */
  reference(unit: U, hash: Hasher): Uint8Array;
  /**
   * Whether every device computes the same bytes: replication compares roots, and replicas that
   * all disagree are settled by the reference. False for floats, whose rounding differs.
   */
  readonly bitExact: boolean;
  /** Freivalds' check of a whole output, where the kernel has one: why it fails, or undefined. */
  readonly freivalds?: (unit: U, output: Uint8Array, rounds: number, random: Random) => string | undefined;
}

/** What a proof-of-work search reports: every share, and the solutions among them. */
export interface SearchResult {
  readonly shares: readonly number[];
  readonly solutions: readonly number[];
}

/** The check of a result that lists its shares: every share is rechecked, so no policy applies. */
export interface ShareRecheck<U> {
  readonly kind: 'shares';
  /** Why the result is rejected, or the solutions among its shares. */
  recheck(unit: U, root: string, shares: readonly number[] | undefined, hash: Hasher): { readonly failure?: string; readonly solutions: number[] };
  /** The search an honest volunteer's CPU makes (the farm's volunteers and recheck). */
  search(unit: U, signal?: AbortSignal): Promise<SearchResult>;
}

/** The checks that fit a unit: leaf checks where its result is leaves, a recheck where it lists shares. */
export type ResultChecks<U extends WorkUnit> = U extends ChallengedUnit ? LeafChecks<U> : ShareRecheck<U>;

/**
 * Every type a 32-bit little-endian word of a kept matrix may have, as the download's layout
 * names it. Listed here once, whole, so that a kernel picks its own and neither the registry
 * nor the dashboard names any kernel's.
 */
export const MatrixDtype = { Float32: 'float32-le', Int32: 'int32-le', Uint32: 'uint32-le' } as const;
export type MatrixDtype = (typeof MatrixDtype)[keyof typeof MatrixDtype];

/**
 * How a job's kept output (`collect`) is downloaded from the dashboard: its leaves listed in
 * the results file as hex (`digests`), or one binary file of m×n little-endian words per unit
 * (`matrix`, its dtype as the file's layout names it).
 */
export type OutputFormat<S> =
  | { readonly as: 'digests' }
  | {
      readonly as: 'matrix';
      readonly dtype: MatrixDtype;
      shape(spec: S): { m: number; n: number };
      /**
       * Jobs that tile one big product (dataset inputs): C's shape and where unit `index`'s
       * m×n block goes in it. Undefined for jobs whose units are independent products (seeded).
       */
      grid?(spec: S): MatrixGrid | undefined;
    };

/** A big C = A·B cut into units: C is rows×cols; unit `index` computes the block at (row, col) of m×n. */
export interface MatrixGrid {
  readonly rows: number;
  readonly cols: number;
  readonly units: number;
  tile(index: number): { readonly row: number; readonly col: number; readonly m: number; readonly n: number };
}

/** One of a kernel's fields on the dashboard's job form. */
export interface FormField {
  readonly label: string;
  readonly help?: string;
  /** What the field holds until the researcher types. */
  readonly initial: string;
}

/** A kernel on the dashboard's job form: its own fields, and how they make its part of a spec. */
export interface KernelForm<F extends string = string> {
  /** The kernel select's option. */
  readonly label: string;
  /** The kernel's own fields, in the order shown (a field two kernels share has one meaning and one default). */
  readonly fields: { readonly [name in F]: FormField };
  /** The kernel's fields of a spec, from the numbers typed (the job's parse judges them). */
  specFields(num: (field: F) => number): Record<string, number>;
  /** With collect: the output in words ("digests") and its bytes per unit for the numbers typed. */
  readonly output?: { readonly what: string; bytesPerUnit(num: (field: F) => number): number };
  /** Said under Verification where there is no policy to choose. */
  readonly note?: string;
  /** Spec messages that start with no field's name, and the field they belong to. */
  readonly messageFields?: readonly (readonly [prefix: string, field: string])[];
}

/**
 * A kernel as the host, the dashboard and the farm know it (kernels/<kernel>/host.ts): its
 * job specs, how a job becomes units and a unit its inputs, how results are checked and
 * credited, and its job form. Never its WGSL or GPU runner (worker-kernel.ts): the host and the
 * dashboard do not carry those.
 */
export interface HostKernel<S extends { readonly kernel: string }, U extends WorkUnit, I = unknown> {
  readonly kernel: S['kernel'];
  /** The job spec: its fields, limits and rules (spec.ts). */
  readonly spec: v.GenericSchema<S> & { readonly entries: v.ObjectEntries };
  /** Unit `index` of a job. */
  unit(spec: S, index: number): U;
  /** Where a unit's inputs come from (inputs.ts): derived from its seed today, the one place that derivation happens. */
  inputsOf(unit: U): I;
  /** The datasets (roots) a job reads, which its host must hold before it makes the job's units; none for seeded jobs. */
  datasets?(spec: S): readonly string[];
  /** The credit a unit earns, in proportion to its work. */
  work(unit: U): number;
  /** Which of the two fits the unit's output is checked where the kernel is registered (host-registry.ts). */
  readonly checks: LeafChecks<U> | ShareRecheck<U>;
  /** How kept output is downloaded; absent where a kernel keeps none. */
  readonly output?: OutputFormat<S>;
  readonly form: KernelForm;
}
