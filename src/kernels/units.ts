/**
 * Every kernel's unit, registered once: the kernel names, the units on the wire (WorkUnit and
 * its schema), and the leaf layout of their results. This is the part of the kernel registry the
 * protocol, the volunteer and the widget read; the host's part is host-registry.ts, the compute
 * worker's worker-registry.ts.
 */
import * as v from 'valibot';
import type { DatasetSlice } from '../data/dataset';
import { ErrorCode, TabgridError } from '../errors';
import { matmulF32Unit } from './matmul-f32/unit';
import { matmulI8Unit } from './matmul-i8/unit';
import { matmulModpUnit } from './matmul-modp/unit';
import { sha256BatchUnit } from './sha256-batch/unit';
import { powUnit } from './sha256d-pow/unit';
import { UnitOutput, type UnitKernel } from './unit-kernel';

export const Kernel = {
  Sha256Batch: 'sha256-batch',
  MatmulF32: 'matmul-f32',
  MatmulModp: 'matmul-modp',
  Sha256dPow: 'sha256d-pow',
  MatmulI8: 'matmul-i8',
} as const;
export type Kernel = (typeof Kernel)[keyof typeof Kernel];

/** One line per kernel. A kernel missing here fails to compile (satisfies). */
const UNIT_KERNELS = {
  [Kernel.Sha256Batch]: sha256BatchUnit,
  [Kernel.MatmulF32]: matmulF32Unit,
  [Kernel.MatmulModp]: matmulModpUnit,
  [Kernel.Sha256dPow]: powUnit,
  [Kernel.MatmulI8]: matmulI8Unit,
} satisfies { [K in Kernel]: { readonly kernel: K } };

type UnitKernels = typeof UNIT_KERNELS;
/** Each kernel's unit type, by kernel name. */
export type UnitMap = { [K in Kernel]: v.InferOutput<UnitKernels[K]['schema']> };
export type UnitOf<K extends Kernel> = UnitMap[K];
export type WorkUnit = UnitMap[Kernel];
/** Units whose result is a Merkle tree of fixed-size leaves the host can challenge (every kernel's but proof of work's). */
export type ChallengedUnit = { [K in Kernel]: UnitKernels[K]['output'] extends typeof UnitOutput.Leaves ? UnitMap[K] : never }[Kernel];

const UNITS: { readonly [K in Kernel]: UnitKernel<UnitMap[K]> } = UNIT_KERNELS;

export function isKernel(value: unknown): value is Kernel {
  return typeof value === 'string' && Object.hasOwn(UNIT_KERNELS, value);
}

/** The kernel names, in the order Kernel lists them. */
export const KERNELS: readonly Kernel[] = Object.values(Kernel);

export function unitKernel<K extends Kernel>(kernel: K): UnitKernel<UnitMap[K]> {
  return UNITS[kernel];
}

/** What a volunteer is told a kernel computes, or undefined for a name no kernel has. */
export function kernelName(kernel: string): string | undefined {
  return isKernel(kernel) ? UNITS[kernel].name : undefined;
}

/**
 * The unit of a `unit` message (protocol/work-unit.ts): an object of a known kernel, every field
 * within that kernel's limits, no other field.
 */
export const workUnitSchema: v.GenericSchema<unknown, WorkUnit> = v.variant(
  'kernel',
  Object.values(UNIT_KERNELS).map((k) => k.schema),
  (issue) => (issue.path ? `must be one of ${KERNELS.join(', ')}` : 'is not a JSON object'),
);

function layout<K extends Kernel>(kernel: K, unit: UnitMap[K]) {
  const k = UNITS[kernel];
  return { bytes: k.leafBytes(unit), count: k.leafCount(unit), size: k.size(unit), output: k.output };
}

/** What a unit's progress counts up to: leaves, or nonces for proof of work. */
export function unitSize(unit: WorkUnit): number {
  return layout(unit.kernel, unit).size;
}

/** The bytes of one Merkle leaf of a unit's result: a digest, a row of C, a 4-byte share. */
export function leafBytesOf(unit: WorkUnit): number {
  return layout(unit.kernel, unit).bytes;
}

export function isChallenged(unit: WorkUnit): unit is ChallengedUnit {
  return layout(unit.kernel, unit).output === UnitOutput.Leaves;
}

/** Whether a result lists its leaves as `shares` beside the root (proof of work). */
export function listsShares(unit: WorkUnit): boolean {
  return layout(unit.kernel, unit).output === UnitOutput.Shares;
}

/** How many leaves (challengeable outputs) a unit's result has, and the bytes of each. */
export function unitLeaves(unit: ChallengedUnit): { count: number; bytes: number } {
  const { count, bytes } = layout(unit.kernel, unit);
  if (count === undefined) throw new TabgridError(ErrorCode.BadInput, `${unit.kernel} results have no fixed leaf count`);
  return { count, bytes };
}

/** The dataset slices a unit reads (a and b of a product, a hashing unit's records): none for a seeded unit. */
export function unitSlices(unit: WorkUnit): DatasetSlice[] {
  switch (unit.kernel) {
    case Kernel.MatmulF32:
    case Kernel.MatmulModp:
    case Kernel.MatmulI8:
      return unit.a && unit.b ? [unit.a, unit.b] : [];
    case Kernel.Sha256Batch:
      return unit.records ? [unit.records] : [];
    case Kernel.Sha256dPow:
      return [];
  }
}

/** The datasets (roots) a unit reads. */
export function unitDatasets(unit: WorkUnit): string[] {
  return unitSlices(unit).map((s) => s.root);
}
