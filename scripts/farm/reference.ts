/**
 * The CPU reference for every exact kernel: the leaves an honest volunteer computes for a unit,
 * and the root it commits to. The farm checks each accepted result against it on its own, and
 * Node volunteers (cheaters, scaling runs) compute with it.
 */
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import type { Hasher } from '../../src/hash/sha256-cpu';
import { fromHex, toHex } from '../../src/hex';
import { jobUnit, type JobSpec } from '../../src/host/job';
import { matmulF32Ref, matmulModpRef } from '../../src/kernels/matmul';
import { matmulOperands } from '../../src/kernels/matmul-inputs';
import { seededBatch, sha256BatchCpu } from '../../src/kernels/sha256-batch';
import { powSearchCpuFast, sharesToLeaves } from '../../src/kernels/sha256d-pow';
import { Kernel, type PowUnit, type WorkUnit } from '../../src/protocol';

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
    case Kernel.Sha256Batch:
      return { leaves: sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash), leafBytes: 32 };
    case Kernel.Sha256dPow:
      return powReference(unit, unit.nonceCount, signal);
    default: {
      const { a, b } = matmulOperands(unit);
      const shape = { m: unit.m, n: unit.n, k: unit.k };
      const c = unit.kernel === Kernel.MatmulModp ? matmulModpRef(a as Uint32Array, b as Uint32Array, shape, unit.p) : matmulF32Ref(a as Float32Array, b as Float32Array, shape);
      return { leaves: new Uint8Array(c.buffer, c.byteOffset, c.byteLength), leafBytes: 4 * unit.n };
    }
  }
}

export function rootOf(out: ReferenceOutput, hash: Hasher): string {
  return toHex(buildMerkleTreeOfChunks(out.leaves, out.leafBytes, hash).root);
}

export const Recheck = { Right: 'right', Wrong: 'wrong', Unchecked: 'unchecked' } as const;
export type Recheck = (typeof Recheck)[keyof typeof Recheck];

/**
 * Whether an accepted result is the one the CPU reference gives: the same root, and for proof
 * of work the same solutions. f32 roots differ bit for bit across devices, so they are
 * `unchecked` here (the host's Freivalds check is all there is for them).
 */
export async function recheck(spec: JobSpec, index: number, accepted: { root: string; solutions?: readonly number[] | null }, hash: Hasher): Promise<Recheck> {
  const unit = jobUnit(spec, index);
  if (unit.kernel === Kernel.MatmulF32) return Recheck.Unchecked;
  const out = await referenceOutput(unit, hash);
  if (rootOf(out, hash) !== accepted.root) return Recheck.Wrong;
  if (unit.kernel === Kernel.Sha256dPow && JSON.stringify(out.solutions) !== JSON.stringify(accepted.solutions ?? [])) return Recheck.Wrong;
  return Recheck.Right;
}
