import type { MatrixDtype } from '../kernels/host-kernel';
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
  /** Byte offset in the file; the slice is layout.unitBytes long. */
  readonly offset: number;
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
  /** 4·m·n: one unit's C. */
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
    `Each unit's C is m×n = ${m}×${n} little-endian 32-bit words (${dtype}), row-major, at bytes [offset, offset + unitBytes) of the file. ` +
    `To check a slice, cut it into its ${m} rows of rowBytes = ${4 * n} bytes and compute the RFC 6962 Merkle tree hash over them ` +
    '(leaf = SHA-256(0x00 ‖ row), node = SHA-256(0x01 ‖ left ‖ right), split at the largest power of two below the count; src/hash/merkle.ts): ' +
    "it must equal the unit's root, which its receipt (signed by host.publicKey, see receiptCheck) names."
  );
}

/**
 * C of the accepted units in `entries` (unit order) of job `jobId`, whose kernel keeps C as
 * `output` says (its dtype and m×n), concatenated, and its layout. Outputs are read one unit at
 * a time into one buffer, so the peak is the file's size, not twice it.
 */
export async function matrixOutput(
  jobId: string,
  output: Extract<JobOutput, { as: 'matrix' }>,
  entries: readonly ResultEntry[],
  read: OutputReader,
): Promise<{ layout: MatrixLayout; c: Uint8Array }> {
  const { m, n, dtype } = output;
  const unitBytes = 4 * m * n;
  const c = new Uint8Array(unitBytes * entries.length);
  const byId = new Map(entries.map((e) => [e.unitId, e]));
  const units: MatrixSlice[] = [];
  const missing: string[] = [];
  await forEachOutput(
    entries.map((e) => e.unitId),
    read,
    (unitId, output) => {
      if (!output) return void missing.push(unitId);
      // Checked against its root when accepted, so another length means a damaged store.
      if (output.length !== unitBytes) throw new Error(`the stored output of ${unitId} has ${output.length} bytes, not m·n·4 = ${unitBytes}`);
      const e = byId.get(unitId)!;
      const offset = units.length * unitBytes;
      c.set(output, offset);
      units.push({ unitId, index: e.index, offset, root: e.root, receipt: e.receipt });
    },
  );
  const totalBytes = units.length * unitBytes;
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
