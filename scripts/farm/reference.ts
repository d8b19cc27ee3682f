/**
 * The CPU reference for every exact kernel: the leaves an honest volunteer computes for a unit,
 * and the root it commits to. The farm checks each accepted result against it on its own, and
 * Node volunteers (cheaters, scaling runs) compute with it.
 */
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import type { Hasher } from '../../src/hash/sha256-cpu';
import { fromHex, toHex } from '../../src/hex';
import { jobUnit, type JobSpec } from '../../src/host/job';
import { referenceLeaves } from '../../src/host/recompute';
import { outputRoot } from '../../src/host/row-collector';
import { f32ErrorBound, matmulF32Ref, maxAbs } from '../../src/kernels/matmul';
import { matmulOperands } from '../../src/kernels/matmul-inputs';
import { powSearchCpuFast, sharesToLeaves } from '../../src/kernels/sha256d-pow';
import { Kernel, unitLeaves, type MatmulUnit, type PowUnit, type WorkUnit } from '../../src/protocol';

export interface ReferenceOutput {
  readonly leaves: Uint8Array;
  readonly leafBytes: number;
  /** Proof of work: the solutions among the shares. */
  readonly solutions?: readonly number[];
}

/** Searches `count` nonces of a pow unit from its start (a cheater may search fewer). */
export async function powReference(unit: PowUnit, count = unit.nonceCount, signal?: AbortSignal): Promise<ReferenceOutput> {
  const bytes = (hex: string) => fromHex(hex)!;
  const found = await powSearchCpuFast(bytes(unit.header), unit.nonceStart, count, bytes(unit.target), bytes(unit.shareTarget), { signal });
  return { leaves: sharesToLeaves(found.shares), leafBytes: 4, solutions: found.solutions };
}

/** What an honest volunteer's CPU computes for `unit`. f32 is the CPU's rounding, not a GPU's. */
export async function referenceOutput(unit: WorkUnit, hash: Hasher, signal?: AbortSignal): Promise<ReferenceOutput> {
  switch (unit.kernel) {
    case Kernel.Sha256dPow:
      return powReference(unit, unit.nonceCount, signal);
    case Kernel.Sha256Batch:
    case Kernel.MatmulF32:
    case Kernel.MatmulModp:
      return { leaves: referenceLeaves(unit, hash), leafBytes: unitLeaves(unit).bytes };
  }
}

export function rootOf(out: ReferenceOutput, hash: Hasher): string {
  return toHex(buildMerkleTreeOfChunks(out.leaves, out.leafBytes, hash).root);
}

export const Recheck = { Right: 'right', Wrong: 'wrong', Unchecked: 'unchecked' } as const;
export type Recheck = (typeof Recheck)[keyof typeof Recheck];

/** Reads a unit's collected output from the host's store (jobs with `collect: true`). */
export type OutputReader = (unitId: string, root: string) => Promise<Uint8Array | undefined>;

/**
 * Whether an accepted result is the one the CPU reference gives: the same root, for proof of
 * work the same solutions, and for a collected output the same bytes. f32 roots differ bit for
 * bit across devices, so an f32 result is checked through its collected C, element by element
 * within the f32 error bound (and that C must hash to the accepted root); an f32 job that does
 * not collect is `unchecked` here (the host's Freivalds check is all there is for it).
 */
export async function recheck(
  spec: JobSpec,
  index: number,
  accepted: { root: string; solutions?: readonly number[] | null },
  hash: Hasher,
  output?: OutputReader,
): Promise<Recheck> {
  const unit = jobUnit(spec, index);
  const kept = await output?.(unit.unitId, accepted.root);
  if (unit.kernel === Kernel.MatmulF32) {
    if (!kept) return Recheck.Unchecked;
    if (outputRoot(unit, kept, hash) !== accepted.root) return Recheck.Wrong;
    return f32WithinBound(unit, new Float32Array(kept.slice().buffer)) ? Recheck.Right : Recheck.Wrong;
  }
  const out = await referenceOutput(unit, hash);
  if (rootOf(out, hash) !== accepted.root) return Recheck.Wrong;
  if (kept && toHex(kept) !== toHex(out.leaves)) return Recheck.Wrong;
  if (unit.kernel === Kernel.Sha256dPow && JSON.stringify(out.solutions) !== JSON.stringify(accepted.solutions ?? [])) return Recheck.Wrong;
  return Recheck.Right;
}

/** Every element of `c` within the f32 error bound of the f64-accumulated reference product. */
function f32WithinBound(unit: MatmulUnit, c: Float32Array): boolean {
  const { a, b } = matmulOperands(unit);
  const ref = matmulF32Ref(a as Float32Array, b as Float32Array, unit);
  const bound = f32ErrorBound(unit.k, maxAbs(a as Float32Array), maxAbs(b as Float32Array));
  for (let i = 0; i < ref.length; i++) if (!(Math.abs(c[i]! - ref[i]!) <= bound)) return false;
  return true;
}
