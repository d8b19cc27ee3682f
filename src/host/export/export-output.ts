/**
 * A job's output as export files, from its accepted units' kept output (StoredOutput: rows of C
 * as little-endian words, or digests) read one unit at a time: C.npy for matrix jobs, placed by
 * the kernel's grid for a tiled product or stacked [units, m, n] for independent products;
 * digests.bin and digests.npy for hashing jobs; solutions.json for proof of work. What a unit
 * lacks (not accepted, or its output not kept) stays zero and is listed as missing.
 */
import { encodeNpy, NpyDtype } from '../../data/npy';
import { ErrorCode, TabgridError } from '../../errors';
import { MatrixDtype, type MatrixGrid } from '../../kernels/host-kernel';
import { jobGrid, jobOutput } from '../../kernels/host-registry';
import { Kernel, unitLeaves, type ChallengedUnit } from '../../kernels/units';
import { jobUnit, type JobSpec } from '../job';
import { StoredUnitState, type StoredUnit } from '../store/store';
import { keepsOutput, policyOf } from '../verifiers/policy';
import { ExportOutput } from './export-manifest';

/** A unit's kept output for its accepted root (HostStore.output), or undefined when the store has none. */
export type OutputReader = (unitId: string, root: string) => Promise<Uint8Array | undefined>;

/** One file to write: its name in the export directory, its bytes, and what it holds (for the manifest). */
export interface OutputFile {
  readonly name: string;
  readonly data: Uint8Array;
  readonly holds: string;
}

export interface AssembledOutput {
  readonly output: ExportOutput;
  readonly files: readonly OutputFile[];
  /** Accepted units whose output the store does not hold. */
  readonly unkept: readonly string[];
  readonly note: string;
}

/** The .npy dtype of each way C's words are stored. */
export const NPY_OF: Record<MatrixDtype, NpyDtype> = {
  [MatrixDtype.Float32]: NpyDtype.Float32,
  [MatrixDtype.Uint32]: NpyDtype.Uint32,
  [MatrixDtype.Int32]: NpyDtype.Int32,
};

/** What kind of output files a job's export has. */
export function exportOutputOf(spec: JobSpec): ExportOutput {
  if (spec.kernel === Kernel.Sha256dPow) return ExportOutput.Solutions;
  const output = jobOutput(spec);
  if (!output || !keepsOutput(policyOf(spec))) return ExportOutput.None;
  return output.as === 'matrix' ? ExportOutput.Matrix : ExportOutput.Digests;
}

/** `units`: the job's stored units (any order). */
export async function assembleOutput(spec: JobSpec, units: readonly StoredUnit[], read: OutputReader, signal?: AbortSignal): Promise<AssembledOutput> {
  const byIndex = new Map(units.map((u) => [u.index, u]));
  const output = exportOutputOf(spec);
  switch (output) {
    case ExportOutput.Matrix:
      return matrixFiles(spec, byIndex, read, signal);
    case ExportOutput.Digests:
      return digestFiles(spec, byIndex, read, signal);
    case ExportOutput.Solutions:
      return solutionsFile(spec, byIndex);
    case ExportOutput.None:
      return {
        output,
        files: [],
        unkept: [],
        note:
          'This job did not collect its output (collect: true), so the host kept each unit’s Merkle root and signed receipt, not the output itself, which stayed with the volunteers. ' +
          'Each root commits to a unit’s whole output: recompute a unit and compare roots.',
      };
  }
}

/** The accepted unit at `index` and its kept output, checked to have the length its unit's leaves give; undefined where either is missing. */
async function keptOutput(spec: JobSpec, u: StoredUnit | undefined, read: OutputReader): Promise<Uint8Array | undefined> {
  if (u?.state !== StoredUnitState.Accepted || u.root === null) return undefined;
  const data = await read(u.unitId, u.root);
  if (!data) return undefined;
  const { count, bytes } = unitLeaves(jobUnit(spec, u.index) as ChallengedUnit);
  // Checked against its root when accepted, so another length means a damaged store.
  if (data.length !== count * bytes) {
    throw new TabgridError(ErrorCode.Storage, `the kept output of unit ${u.unitId} has ${data.length} bytes, not ${count} leaves of ${bytes} bytes`);
  }
  return data;
}

async function matrixFiles(spec: JobSpec, units: ReadonlyMap<number, StoredUnit>, read: OutputReader, signal?: AbortSignal): Promise<AssembledOutput> {
  const output = jobOutput(spec);
  if (output?.as !== 'matrix') throw new Error(`job ${spec.id} keeps no matrix`);
  const grid = jobGrid(spec);
  const { shape, place } = grid ? gridPlacement(grid) : stacked(spec.units, output.m, output.n);
  const c = new Uint8Array(shape.reduce((a, b) => a * b, 1) * 4);
  const unkept: string[] = [];
  for (let index = 0; index < spec.units; index++) {
    signal?.throwIfAborted();
    const u = units.get(index);
    const data = await keptOutput(spec, u, read);
    if (data) place(c, index, data);
    else if (u?.state === StoredUnitState.Accepted) unkept.push(u.unitId);
  }
  const dtype = NPY_OF[output.dtype];
  const holds = grid
    ? `C (${shape.join('×')}, ${dtype}, C order) of the tiled product: unit i's block at the place its tile gives (job spec); the blocks of missing units are zero.`
    : `C of every unit (${shape.join('×')}: unit, row, column; ${dtype}, C order): unit i's m×n product at [i]; missing units are zero.`;
  return {
    output: ExportOutput.Matrix,
    files: [{ name: 'C.npy', data: encodeNpy(dtype, shape, c), holds }],
    unkept,
    note: "The host kept every accepted unit's C after checking it against the unit's Merkle root (rows of C are its leaves).",
  };
}

export type Placement = { shape: number[]; place(c: Uint8Array, index: number, data: Uint8Array): void };

/** One big C of grid.rows × grid.cols words; unit `index`'s m×n block copied row by row to (row, col). */
export function gridPlacement(grid: MatrixGrid): Placement {
  return {
    shape: [grid.rows, grid.cols],
    place(c, index, data) {
      const t = grid.tile(index);
      if (t.m * t.n * 4 !== data.length || t.row + t.m > grid.rows || t.col + t.n > grid.cols) {
        throw new TabgridError(ErrorCode.Storage, `unit ${index}'s ${data.length} bytes are not its ${t.m}×${t.n} tile at (${t.row}, ${t.col}) of C`);
      }
      for (let r = 0; r < t.m; r++) c.set(data.subarray(r * t.n * 4, (r + 1) * t.n * 4), ((t.row + r) * grid.cols + t.col) * 4);
    },
  };
}

/** Independent products stacked: [units, m, n]. */
function stacked(units: number, m: number, n: number): Placement {
  return {
    shape: [units, m, n],
    place(c, index, data) {
      if (data.length !== m * n * 4) throw new TabgridError(ErrorCode.Storage, `unit ${index}'s ${data.length} bytes are not ${m}×${n} words`);
      c.set(data, index * m * n * 4);
    },
  };
}

async function digestFiles(spec: JobSpec, units: ReadonlyMap<number, StoredUnit>, read: OutputReader, signal?: AbortSignal): Promise<AssembledOutput> {
  // Each unit's messages follow the previous unit's, so a message's digest lies at 32 × its index in the job.
  const counts = Array.from({ length: spec.units }, (_, i) => unitLeaves(jobUnit(spec, i) as ChallengedUnit).count);
  const total = counts.reduce((a, b) => a + b, 0);
  const digests = new Uint8Array(total * 32);
  const unkept: string[] = [];
  let at = 0;
  for (let index = 0; index < spec.units; index++) {
    signal?.throwIfAborted();
    const u = units.get(index);
    const data = await keptOutput(spec, u, read);
    if (data) digests.set(data, at);
    else if (u?.state === StoredUnitState.Accepted) unkept.push(u.unitId);
    at += counts[index]! * 32;
  }
  return {
    output: ExportOutput.Digests,
    files: [
      { name: 'digests.bin', data: digests, holds: `${total} SHA-256 digests of 32 bytes, in message order across units; those of missing units are zero.` },
      { name: 'digests.npy', data: encodeNpy(NpyDtype.Uint8, [total, 32], digests), holds: `The same digests as uint8[${total}, 32].` },
    ],
    unkept,
    note: "The host kept every accepted unit's digests after checking them against the unit's Merkle root (each digest is a leaf).",
  };
}

/** One proof-of-work unit in solutions.json. */
export interface PowUnitSolutions {
  readonly unitId: string;
  readonly index: number;
  readonly state: StoredUnitState;
  /** The 80-byte block header, hex (its nonce bytes 76..79 are what the search varies, little-endian). */
  readonly header: string;
  readonly nonceStart: number;
  readonly nonceCount: number;
  /** 256-bit little-endian targets, hex. */
  readonly target: string;
  readonly shareTarget: string;
  /** Nonces meeting the target; null until accepted. */
  readonly solutions: readonly number[] | null;
  /** Every share the accepted result listed; null until accepted, and for units accepted before hosts kept shares. */
  readonly shares: readonly number[] | null;
}

function solutionsFile(spec: JobSpec, units: ReadonlyMap<number, StoredUnit>): AssembledOutput {
  const list = Array.from({ length: spec.units }, (_, index): PowUnitSolutions => {
    const unit = jobUnit(spec, index);
    if (unit.kernel !== Kernel.Sha256dPow) throw new Error(`job ${spec.id} is not a proof-of-work job`);
    const u = units.get(index);
    const accepted = u?.state === StoredUnitState.Accepted;
    return {
      unitId: unit.unitId,
      index,
      state: u?.state ?? StoredUnitState.Queued,
      header: unit.header,
      nonceStart: unit.nonceStart,
      nonceCount: unit.nonceCount,
      target: unit.target,
      shareTarget: unit.shareTarget,
      solutions: accepted ? (u.solutions ?? []) : null,
      shares: accepted ? (u.shares ?? null) : null,
    };
  });
  const data = new TextEncoder().encode(JSON.stringify({ units: list }, null, 2) + '\n');
  return {
    output: ExportOutput.Solutions,
    files: [{ name: 'solutions.json', data, holds: 'Per unit: its header, nonce range and targets, and once accepted its solutions and shares.' }],
    // Solutions and shares live on the unit record: an accepted unit always has them here.
    unkept: [],
    note: "Proof of work: the host rechecked every share of each accepted result (double SHA-256 of the header with the nonce at bytes 76..79, little-endian, at most the share target); the solutions are the shares at most the target. A unit's root is the Merkle root of its shares as 4-byte little-endian leaves.",
  };
}
