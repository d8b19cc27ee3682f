import { npyPreamble } from '../data/npy';
import { gridPlacement, NPY_OF } from '../host/export/export-output';
import type { JobSpec } from '../host/job';
import { keepsOutput, policyOf } from '../host/verifiers/policy';
import type { AcceptedResult } from '../host/host-options';
import { toHex } from '../hex';
import { jobGrid, jobOutput } from '../kernels/host-registry';
import { Kernel } from '../kernels/units';
import type { Receipt } from '../protocol';
import { matrixOutput, type MatrixLayout } from './matrix-output';
import { forEachOutput, type OutputReader } from './read-outputs';

/**
 * The results a researcher downloads from the dashboard: per accepted unit the Merkle root of
 * its output, the volunteer, the host-signed receipt and, for proof of work, the solutions,
 * with the host's public key so anyone can check the receipts (proof/receipt-signing.ts). For
 * a job that collects output, the output too: the digests in this file, or C in a binary file
 * this one describes (`layout`). Version 2 added `output`, `digests` and `layout`.
 */
export const RESULTS_FORMAT = 'tabgrid-results/2';

/** What of the units' output a results download holds. */
export const OutputKept = { None: 'none', Digests: 'digests', Matrix: 'matrix' } as const;
export type OutputKept = (typeof OutputKept)[keyof typeof OutputKept];

export interface ResultsFile {
  readonly format: typeof RESULTS_FORMAT;
  readonly note: string;
  readonly output: OutputKept;
  readonly host: { readonly id: string; readonly publicKey: string };
  readonly job: JobSpec;
  readonly exportedAt: string;
  readonly units: { readonly total: number; readonly accepted: number };
  readonly results: readonly ResultEntry[];
  readonly receiptCheck: string;
  /** Matrix jobs that collect: where each unit's C lies in the binary file. */
  readonly layout?: MatrixLayout;
}

export interface ResultEntry {
  readonly unitId: string;
  readonly index: number;
  readonly root: string;
  readonly volunteer: string;
  readonly receipt: Receipt | null;
  readonly solutions?: readonly number[];
  /**
   * Hashing jobs that collect: the unit's SHA-256 digests in message order, 64 hex digits each;
   * null if the host's store has no output for the unit.
   */
  readonly digests?: readonly string[] | null;
}

export interface ResultsSource {
  readonly hostId: string;
  readonly publicKey: string;
  readonly job: JobSpec;
  /** Accepted results of the job, in unit order (HostCore.results(jobId)). */
  readonly accepted: readonly AcceptedResult[];
  readonly receipt: (unitId: string) => Receipt | undefined;
  /** An accepted unit's output (HostCore.output); read only for jobs that collect, one unit at a time. */
  readonly output: OutputReader;
  readonly now: number;
}

/** The results file, and for a matrix job that collects, C of its accepted units (layout.file); for a tiled product, C assembled as one matrix too. */
export interface BuiltResults {
  readonly header: ResultsFile;
  readonly c?: Uint8Array;
  /** A tiled product's C (rows × cols, C order) as .npy, each accepted unit's block where the job's grid puts it; missing blocks are zero. */
  readonly npy?: { readonly name: string; readonly data: Uint8Array };
}

/** The .npy download's name: the job id is already restricted to [\w.-]. */
export function matrixNpyName(jobId: string): string {
  return `tabgrid-${jobId}-C.npy`;
}

/** Whether a job's download offers C as one .npy: a tiled product (its units are blocks of one C) that keeps its output. */
export function offersNpy(job: JobSpec): boolean {
  return outputKept(job) === OutputKept.Matrix && jobGrid(job) !== undefined;
}

/** A tiled product's C from its accepted units' blocks (the binary file's slices), placed by the job's grid (export-output.ts gridPlacement). */
async function assembledNpy(job: JobSpec, layout: MatrixLayout, c: Uint8Array): Promise<{ name: string; data: Uint8Array } | undefined> {
  const grid = jobGrid(job);
  if (!grid) return undefined;
  const placement = gridPlacement(grid);
  const preamble = npyPreamble(NPY_OF[layout.dtype], placement.shape);
  const out = new Uint8Array(preamble.length + grid.rows * grid.cols * 4);
  out.set(preamble);
  const write = (at: number, bytes: Uint8Array) => Promise.resolve(out.set(bytes, preamble.length + at));
  for (const u of layout.units) await placement.place(u.index, c.subarray(u.offset, u.offset + (u.bytes ?? layout.unitBytes)), write);
  return { name: matrixNpyName(job.id), data: out };
}

export function outputKept(job: JobSpec): OutputKept {
  const output = jobOutput(job);
  if (!keepsOutput(policyOf(job)) || !output) return OutputKept.None;
  return output.as === 'digests' ? OutputKept.Digests : OutputKept.Matrix;
}

const ROOTS_ONLY =
  'The host did not keep this job\'s output data (digests, matrices): the job was created without "collect": true, so that output stayed with the volunteers, and the host kept each unit\'s Merkle root and signed receipt. ' +
  "Each root commits to a unit's whole output: recompute a unit (its inputs are seeded from the job) and compare roots.";

// A proof-of-work job has nothing more to collect: its results are the solutions themselves.
const SOLUTIONS =
  "A proof-of-work job's results are the solutions and shares its volunteers found, which the host checked again and lists here for every unit, with the unit's Merkle root and signed receipt. " +
  'There is no other output to collect.';

/** What a job's results file holds, said in its `note` and on the dashboard. */
export function resultsNote(job: JobSpec): string {
  switch (outputKept(job)) {
    case OutputKept.Digests:
      return "The host kept every accepted unit's output after checking it against the unit's Merkle root: each result lists its digests (SHA-256 of the unit's messages, in message order), with the root they hash to and the signed receipt.";
    case OutputKept.Matrix:
      return "The host kept every accepted unit's C after checking it against the unit's Merkle root: the binary file named in layout.file holds them one after another, and layout says where each lies, with its root and signed receipt.";
    case OutputKept.None:
      return job.kernel === Kernel.Sha256dPow ? SOLUTIONS : ROOTS_ONLY;
  }
}

const RECEIPT_CHECK =
  'receiptId = SHA-256 of the JSON array [jobId, unitId, volunteer, credit, root, issuedAt]; ' +
  'signature = ECDSA P-256 with SHA-256 by host.publicKey (raw uncompressed point, hex) over the JSON array ' +
  '["tabgrid/receipt/v1", receiptId, jobId, unitId, volunteer, credit, root, issuedAt], as r‖s hex.';

/** 32-byte digests as 64-hex strings. */
function digestsOf(output: Uint8Array): string[] {
  const out: string[] = new Array(output.length / 32);
  for (let i = 0; i < out.length; i++) out[i] = toHex(output.subarray(32 * i, 32 * (i + 1)));
  return out;
}

/** Builds a job's results from one snapshot of its accepted units, reading outputs one unit at a time. */
export async function buildResults(source: ResultsSource): Promise<BuiltResults> {
  const prefix = `${source.job.id}/`;
  let results = source.accepted.map((r): ResultEntry => ({
    unitId: r.unitId,
    index: Number(r.unitId.slice(prefix.length)),
    root: r.root,
    volunteer: r.volunteer,
    receipt: source.receipt(r.unitId) ?? null,
    ...(r.solutions ? { solutions: [...r.solutions] } : {}),
  }));
  const kept = outputKept(source.job);
  const output = jobOutput(source.job);
  let matrix: Awaited<ReturnType<typeof matrixOutput>> | undefined;
  if (kept === OutputKept.Digests) {
    const digests = new Map<string, string[] | null>();
    await forEachOutput(
      results.map((r) => r.unitId),
      source.output,
      (id, output) => digests.set(id, output ? digestsOf(output) : null),
    );
    results = results.map((r) => ({ ...r, digests: digests.get(r.unitId) ?? null }));
  } else if (kept === OutputKept.Matrix && output?.as === 'matrix') {
    matrix = await matrixOutput(source.job.id, output, results, source.output, jobGrid(source.job));
  }
  const header: ResultsFile = {
    format: RESULTS_FORMAT,
    note: resultsNote(source.job),
    output: kept,
    host: { id: source.hostId, publicKey: source.publicKey },
    job: source.job,
    exportedAt: new Date(source.now).toISOString(),
    units: { total: source.job.units, accepted: results.length },
    results,
    receiptCheck: RECEIPT_CHECK,
    ...(matrix ? { layout: matrix.layout } : {}),
  };
  if (!matrix) return { header };
  const npy = await assembledNpy(source.job, matrix.layout, matrix.c);
  return npy ? { header, c: matrix.c, npy } : { header, c: matrix.c };
}

/** The download's file name: the job id is already restricted to [\w.-]. */
export function resultsFileName(jobId: string): string {
  return `tabgrid-${jobId}-results.json`;
}
