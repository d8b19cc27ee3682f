/**
 * The CPU reference for every kernel (its own, kernels/<kernel>/host.ts): the leaves an honest
 * volunteer computes for a unit, and the root it commits to. The farm checks each accepted
 * result against it on its own, and Node volunteers (cheaters, scaling runs) compute with it.
 */
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import type { Hasher } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { jobUnit, type JobSpec } from '../../src/host/job';
import { outputRoot } from '../../src/host/row-collector';
import { checksOf, leafChecksOf } from '../../src/kernels/host-registry';
import { sharesToLeaves } from '../../src/kernels/shares';
import { isChallenged, leafBytesOf } from '../../src/kernels/units';
import type { WorkUnit } from '../../src/protocol';

export interface ReferenceOutput {
  readonly leaves: Uint8Array;
  readonly leafBytes: number;
  /** Results that list shares (proof of work): the solutions among them. */
  readonly solutions?: readonly number[];
}

/** What an honest volunteer's CPU computes for `unit`. f32 is the CPU's rounding, not a GPU's. */
export async function referenceOutput(unit: WorkUnit, hash: Hasher, signal?: AbortSignal): Promise<ReferenceOutput> {
  const checks = checksOf(unit);
  if (checks.kind === 'leaves') return { leaves: checks.reference(hash), leafBytes: leafBytesOf(unit) };
  const found = await checks.search(signal);
  return { leaves: sharesToLeaves(found.shares), leafBytes: leafBytesOf(unit), solutions: found.solutions };
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
 * work the same solutions, and for a collected output the same bytes. Results that are not
 * bit-exact (f32) differ bit for bit across devices, so such a result is checked through its
 * collected output, every leaf by the kernel's own leaf check (its rounding tolerance), and that
 * output must hash to the accepted root; a job of theirs that does not collect is `unchecked`
 * here (the host's checks are all there is for it).
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
  if (isChallenged(unit) && !leafChecksOf(unit).bitExact) {
    if (!kept) return Recheck.Unchecked;
    if (outputRoot(unit, kept, hash) !== accepted.root) return Recheck.Wrong;
    return everyLeafPasses(unit, kept, hash) ? Recheck.Right : Recheck.Wrong;
  }
  const out = await referenceOutput(unit, hash);
  if (rootOf(out, hash) !== accepted.root) return Recheck.Wrong;
  if (kept && toHex(kept) !== toHex(out.leaves)) return Recheck.Wrong;
  if (out.solutions && JSON.stringify(out.solutions) !== JSON.stringify(accepted.solutions ?? [])) return Recheck.Wrong;
  return Recheck.Right;
}

function everyLeafPasses(unit: Parameters<typeof leafChecksOf>[0], output: Uint8Array, hash: Hasher): boolean {
  const check = leafChecksOf(unit).leafCheck(hash);
  const bytes = leafBytesOf(unit);
  for (let i = 0; i < output.length / bytes; i++) if (check(i, output.subarray(i * bytes, (i + 1) * bytes))) return false;
  return true;
}
