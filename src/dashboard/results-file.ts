import type { JobSpec } from '../host/job';
import type { AcceptedResult } from '../host/host-options';
import type { Receipt } from '../protocol';

/**
 * The results a researcher can download from the dashboard. The host keeps only what it
 * verifies with, never the volunteers' output data: per accepted unit the Merkle root of its
 * output, the volunteer, the host-signed receipt and, for proof of work, the solutions. The
 * host's public key is included so anyone can check the receipts (proof/receipt-signing.ts).
 */
export const RESULTS_FORMAT = 'tabgrid-results/1';

export interface ResultsFile {
  readonly format: typeof RESULTS_FORMAT;
  readonly note: string;
  readonly host: { readonly id: string; readonly publicKey: string };
  readonly job: JobSpec;
  readonly exportedAt: string;
  readonly units: { readonly total: number; readonly accepted: number };
  readonly results: readonly ResultEntry[];
  readonly receiptCheck: string;
}

export interface ResultEntry {
  readonly unitId: string;
  readonly index: number;
  readonly root: string;
  readonly volunteer: string;
  readonly receipt: Receipt | null;
  readonly solutions?: readonly number[];
}

export interface ResultsSource {
  readonly hostId: string;
  readonly publicKey: string;
  readonly job: JobSpec;
  /** Accepted results of the job, in unit order (HostCore.results(jobId)). */
  readonly accepted: readonly AcceptedResult[];
  readonly receipt: (unitId: string) => Receipt | undefined;
  readonly now: number;
}

export const RESULTS_NOTE =
  'The host keeps Merkle roots, receipts and proof-of-work solutions, not the output data itself (digests, matrices), which stays with the volunteers. ' +
  'Each root commits to a unit\'s whole output: recompute a unit (its inputs are seeded from the job) and compare roots.';

const RECEIPT_CHECK =
  'receiptId = SHA-256 of the JSON array [jobId, unitId, volunteer, credit, root, issuedAt]; ' +
  'signature = ECDSA P-256 with SHA-256 by host.publicKey (raw uncompressed point, hex) over the JSON array ' +
  '["tabgrid/receipt/v1", receiptId, jobId, unitId, volunteer, credit, root, issuedAt], as r‖s hex.';

export function resultsFile(source: ResultsSource): ResultsFile {
  const prefix = `${source.job.id}/`;
  const results = source.accepted.map((r): ResultEntry => ({
    unitId: r.unitId,
    index: Number(r.unitId.slice(prefix.length)),
    root: r.root,
    volunteer: r.volunteer,
    receipt: source.receipt(r.unitId) ?? null,
    ...(r.solutions ? { solutions: [...r.solutions] } : {}),
  }));
  return {
    format: RESULTS_FORMAT,
    note: RESULTS_NOTE,
    host: { id: source.hostId, publicKey: source.publicKey },
    job: source.job,
    exportedAt: new Date(source.now).toISOString(),
    units: { total: source.job.units, accepted: results.length },
    results,
    receiptCheck: RECEIPT_CHECK,
  };
}

/** The download's file name: the job id is already restricted to [\w.-]. */
export function resultsFileName(jobId: string): string {
  return `tabgrid-${jobId}-results.json`;
}
