import type { MatrixDtype, MatrixGrid } from '../kernels/host-kernel';
import type { JobOutput } from '../kernels/host-registry';
import type { Receipt } from '../protocol';
import type { ResultEntry } from './results-file';
import { forEachOutput, type OutputReader } from './read-outputs';

/** How the elements of C are stored: each kernel names its own (kernels/<kernel>/host.ts). */
export { MatrixDtype } from '../kernels/host-kernel';

/** Where one unit's C lies in the binary file. */
export interface MatrixSlice {
  readonly unitId: string;
  readonly index: number;
  /** Byte offset in the file; the slice is layout.unitBytes long, or `bytes` where it says otherwise. */
  readonly offset: number;
  /** A tiled product's block at C's last rows or columns: its own m×n, smaller than the layout's. */
  readonly m?: number;
  readonly n?: number;
  readonly bytes?: number;
  readonly root: string;
  readonly receipt: Receipt | null;
}

/** The binary file's description, in the results file (`layout`). */
export interface MatrixLayout {
  readonly file: string;
  readonly dtype: MatrixDtype;
  readonly m: number;
  readonly n: number;
  /** 4·n: one row of C, one Merkle leaf. */
  readonly rowBytes: number;
  /** 4·m·n: one unit's C (a tiled product's blocks at C's edges may be smaller: see each unit's `bytes`). */
  readonly unitBytes: number;
  readonly totalBytes: number;
  /** In the order they appear in the file (unit order). */
  readonly units: readonly MatrixSlice[];
  /** Accepted units whose output the host's store does not hold: they are not in the file. */
  readonly missing: readonly string[];
  readonly check: string;
}

/** The binary download's name: the job id is already restricted to [\w.-]. */
export function matrixFileName(jobId: string): string {
  return `tabgrid-${jobId}-c.bin`;
}

function checkText(m: number, n: number, dtype: MatrixDtype): string {
  return (
    `Each unit's C is m×n = ${m}×${n} little-endian 32-bit words (${dtype}), row-major, at bytes [offset, offset + unitBytes) of the file ` +
    '(a unit listing its own m, n and bytes is a smaller block at the edge of a tiled C: [offset, offset + bytes), rows of 4·n bytes). ' +
    `To check a slice, cut it into its ${m} rows of rowBytes = ${4 * n} bytes and compute the RFC 6962 Merkle tree hash over them ` +
    '(leaf = SHA-256(0x00 ‖ row), node = SHA-256(0x01 ‖ left ‖ right), split at the largest power of two below the count; src/hash/merkle.ts): ' +
    "it must equal the unit's root, which its receipt (signed by host.publicKey, see receiptCheck) names."
  );
}

/**
 * C of the accepted units in `entries` (unit order) of job `jobId`, whose kernel keeps C as
 * `output` says (its dtype and m×n), concatenated, and its layout. Outputs are read one unit at
 * a time into one buffer, so the peak is the file's size, not twice it. `grid`: a tiled product's,
 * whose blocks at C's last rows and columns are smaller than m×n.
 */
export async function matrixOutput(
  jobId: string,
  output: Extract<JobOutput, { as: 'matrix' }>,
  entries: readonly ResultEntry[],
  read: OutputReader,
  grid?: MatrixGrid,
): Promise<{ layout: MatrixLayout; c: Uint8Array }> {
  const { m, n, dtype } = output;
  const unitBytes = 4 * m * n;
  const c = new Uint8Array(unitBytes * entries.length);
  let end = 0;
  const byId = new Map(entries.map((e) => [e.unitId, e]));
  const units: MatrixSlice[] = [];
  const missing: string[] = [];
  await forEachOutput(
    entries.map((e) => e.unitId),
    read,
    (unitId, output) => {
      if (!output) return void missing.push(unitId);
      const e = byId.get(unitId)!;
      const tile = grid?.tile(e.index) ?? { m, n };
      const bytes = 4 * tile.m * tile.n;
      // Checked against its root when accepted, so another length means a damaged store.
      if (output.length !== bytes)
        throw new Error(`the stored output of ${unitId} has ${output.length} bytes, not m·n·4 = ${bytes}${grid ? ` (its block is ${tile.m}×${tile.n})` : ''}`);
      const offset = end;
      c.set(output, offset);
      end += bytes;
      const own = bytes === unitBytes ? {} : { m: tile.m, n: tile.n, bytes };
      units.push({ unitId, index: e.index, offset, ...own, root: e.root, receipt: e.receipt });
    },
  );
  const totalBytes = end;
  return {
    layout: {
      file: matrixFileName(jobId),
      dtype,
      m,
      n,
      rowBytes: 4 * n,
      unitBytes,
      totalBytes,
      units,
      missing,
      check: checkText(m, n, dtype),
    },
    c: c.subarray(0, totalBytes),
  };
}
