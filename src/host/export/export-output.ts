/**
 * A job's output as export files, from its accepted units' kept output (StoredOutput: rows of C
 * as little-endian words, or digests) read and written one unit at a time: C.npy for matrix jobs, placed by
 * the kernel's grid for a tiled product or stacked [units, m, n] for independent products;
 * digests.bin and digests.npy for hashing jobs; solutions.json for proof of work. What a unit
 * lacks (not accepted, or its output not kept) stays zero and is listed as missing.
 */
import { npyPreamble, NpyDtype } from '../../data/npy';
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

/** Where an output file's bytes go: written at byte positions; what is never written stays zero. */
export type FileSink = (position: number, data: Uint8Array) => Promise<void>;

/** One file to write: its name in the export directory, its length, and what it holds (for the manifest). */
export interface PlannedFile {
  readonly name: string;
  readonly bytes: number;
  readonly holds: string;
}

/**
 * A job's output files and how to fill them. Their bytes are streamed, one unit's output at a
 * time, to positions in files of known length (which start as zeros), so C and the digests may
 * be larger than the memory an export has.
 */
export interface OutputPlan {
  readonly output: ExportOutput;
  readonly files: readonly PlannedFile[];
  readonly note: string;
  /** Fills `files` (one sink each, in order), reading outputs through `read`; resolves to the accepted units whose output the store lacks. */
  fill(sinks: readonly FileSink[], read: OutputReader, signal?: AbortSignal): Promise<string[]>;
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
export function planOutput(spec: JobSpec, units: readonly StoredUnit[]): OutputPlan {
  const byIndex = new Map(units.map((u) => [u.index, u]));
  const output = exportOutputOf(spec);
  switch (output) {
    case ExportOutput.Matrix:
      return matrixPlan(spec, byIndex);
    case ExportOutput.Digests:
      return digestsPlan(spec, byIndex);
    case ExportOutput.Solutions:
      return solutionsPlan(spec, byIndex);
    case ExportOutput.None:
      return {
        output,
        files: [],
        note:
          'This job did not collect its output (collect: true), so the host kept each unit’s Merkle root and signed receipt, not the output itself, which stayed with the volunteers. ' +
          'Each root commits to a unit’s whole output: recompute a unit and compare roots.',
        fill: async () => [],
      };
  }
}

/**
 * Reads each unit's kept output in index order and hands it to `take`; resolves to the
 * accepted units whose output the store does not hold.
 */
async function forEachKept(
  spec: JobSpec,
  units: ReadonlyMap<number, StoredUnit>,
  read: OutputReader,
  signal: AbortSignal | undefined,
  take: (index: number, data: Uint8Array) => Promise<void>,
): Promise<string[]> {
  const unkept: string[] = [];
  for (let index = 0; index < spec.units; index++) {
    signal?.throwIfAborted();
    const u = units.get(index);
    if (u?.state !== StoredUnitState.Accepted || u.root === null) continue;
    const data = await read(u.unitId, u.root);
    if (!data) {
      unkept.push(u.unitId);
      continue;
    }
    const { count, bytes } = unitLeaves(jobUnit(spec, index) as ChallengedUnit);
    // Checked against its root when accepted, so another length means a damaged store.
    if (data.length !== count * bytes) {
      throw new TabgridError(ErrorCode.Storage, `the kept output of unit ${u.unitId} has ${data.length} bytes, not ${count} leaves of ${bytes} bytes`);
    }
    await take(index, data);
  }
  return unkept;
}

function matrixPlan(spec: JobSpec, units: ReadonlyMap<number, StoredUnit>): OutputPlan {
  const output = jobOutput(spec);
  if (output?.as !== 'matrix') throw new Error(`job ${spec.id} keeps no matrix`);
  const grid = jobGrid(spec);
  const placement = grid ? gridPlacement(grid) : stacked(spec.units, output.m, output.n);
  const dtype = NPY_OF[output.dtype];
  const preamble = npyPreamble(dtype, placement.shape);
  const holds = grid
    ? `C (${placement.shape.join('×')}, ${dtype}, C order) of the tiled product: unit i's block at the place its tile gives (job spec); the blocks of missing units are zero.`
    : `C of every unit (${placement.shape.join('×')}: unit, row, column; ${dtype}, C order): unit i's m×n product at [i]; missing units are zero.`;
  return {
    output: ExportOutput.Matrix,
    files: [{ name: 'C.npy', bytes: preamble.length + placement.shape.reduce((a, b) => a * b, 1) * 4, holds }],
    note: "The host kept every accepted unit's C after checking it against the unit's Merkle root (rows of C are its leaves).",
    async fill([c], read, signal) {
      await c!(0, preamble);
      return forEachKept(spec, units, read, signal, (index, data) => placement.place(index, data, (at, bytes) => c!(preamble.length + at, bytes)));
    },
  };
}

/** Where units' blocks go in C: its shape, and each block written through `write` (a byte offset in C's data). */
export interface Placement {
  readonly shape: number[];
  place(index: number, data: Uint8Array, write: FileSink): Promise<void>;
}

/** One big C of grid.rows × grid.cols words; unit `index`'s m×n block written row by row at (row, col). */
export function gridPlacement(grid: MatrixGrid): Placement {
  return {
    shape: [grid.rows, grid.cols],
    async place(index, data, write) {
      const t = grid.tile(index);
      if (t.m * t.n * 4 !== data.length || t.row + t.m > grid.rows || t.col + t.n > grid.cols) {
        throw new TabgridError(ErrorCode.Storage, `unit ${index}'s ${data.length} bytes are not its ${t.m}×${t.n} tile at (${t.row}, ${t.col}) of C`);
      }
      // A tile as wide as C is one contiguous run.
      if (t.n === grid.cols) return write(t.row * grid.cols * 4, data);
      for (let r = 0; r < t.m; r++) await write(((t.row + r) * grid.cols + t.col) * 4, data.subarray(r * t.n * 4, (r + 1) * t.n * 4));
    },
  };
}

/** Independent products stacked: [units, m, n]. */
function stacked(units: number, m: number, n: number): Placement {
  return {
    shape: [units, m, n],
    async place(index, data, write) {
      if (data.length !== m * n * 4) throw new TabgridError(ErrorCode.Storage, `unit ${index}'s ${data.length} bytes are not ${m}×${n} words`);
      await write(index * m * n * 4, data);
    },
  };
}

function digestsPlan(spec: JobSpec, units: ReadonlyMap<number, StoredUnit>): OutputPlan {
  // Each unit's messages follow the previous unit's, so a message's digest lies at 32 × its index in the job.
  const counts = Array.from({ length: spec.units }, (_, i) => unitLeaves(jobUnit(spec, i) as ChallengedUnit).count);
  const starts: number[] = [];
  let total = 0;
  for (const c of counts) {
    starts.push(total * 32);
    total += c;
  }
  const preamble = npyPreamble(NpyDtype.Uint8, [total, 32]);
  return {
    output: ExportOutput.Digests,
    files: [
      {
        name: 'digests.bin',
        bytes: total * 32,
        holds: `${total} SHA-256 digests of 32 bytes, in message order across units; those of missing units are zero.`,
      },
      { name: 'digests.npy', bytes: preamble.length + total * 32, holds: `The same digests as uint8[${total}, 32].` },
    ],
    note: "The host kept every accepted unit's digests after checking them against the unit's Merkle root (each digest is a leaf).",
    async fill([bin, npy], read, signal) {
      await npy!(0, preamble);
      return forEachKept(spec, units, read, signal, async (index, data) => {
        await bin!(starts[index]!, data);
        await npy!(preamble.length + starts[index]!, data);
      });
    },
  };
}

/** One output file in memory. */
export interface OutputFile {
  readonly name: string;
  readonly data: Uint8Array;
  readonly holds: string;
}

/** A job's output files, filled in memory (the SDK's `output()`); `unkept`: accepted units whose output the store lacks. */
export interface AssembledOutput {
  readonly output: ExportOutput;
  readonly files: readonly OutputFile[];
  readonly unkept: readonly string[];
  readonly note: string;
}

/** The plan's files filled in memory: for callers that want the arrays, not files (export-job.ts streams them instead). */
export async function assembleOutput(spec: JobSpec, units: readonly StoredUnit[], read: OutputReader, signal?: AbortSignal): Promise<AssembledOutput> {
  const plan = planOutput(spec, units);
  const buffers = plan.files.map((f) => new Uint8Array(f.bytes));
  const unkept = await plan.fill(
    buffers.map(
      (b): FileSink =>
        async (at, data) =>
          b.set(data, at),
    ),
    read,
    signal,
  );
  return { output: plan.output, files: plan.files.map((f, i) => ({ name: f.name, data: buffers[i]!, holds: f.holds })), unkept, note: plan.note };
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

function solutionsPlan(spec: JobSpec, units: ReadonlyMap<number, StoredUnit>): OutputPlan {
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
    files: [
      { name: 'solutions.json', bytes: data.length, holds: 'Per unit: its header, nonce range and targets, and once accepted its solutions and shares.' },
    ],
    // Solutions and shares live on the unit record: an accepted unit always has them here.
    fill: async ([file]) => {
      await file!(0, data);
      return [];
    },
    note: "Proof of work: the host rechecked every share of each accepted result (double SHA-256 of the header with the nonce at bytes 76..79, little-endian, at most the share target); the solutions are the shares at most the target. A unit's root is the Merkle root of its shares as 4-byte little-endian leaves.",
  };
}
