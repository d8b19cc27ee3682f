/**
 * What an export says about a job (manifest.json, written by export-job.ts): the job, every
 * unit with its root, the key whose result was accepted, the receipt the host signed for it and
 * what computed it, which units the output files lack, and the host's public key, so anyone can
 * check the receipts (proof/receipt-signing.ts) and, through each root, the output.
 */
import type { Backend, Receipt } from '../../protocol';
import type { JobSpec } from '../job';
import { StoredUnitState, type StoredReceipt, type StoredUnit } from '../store/store';

/** The manifest's format; a change a reader must know of bumps it. */
export const EXPORT_FORMAT = 'tabgrid-export/1';

/** What the export's output files hold. */
export const ExportOutput = {
  /** C.npy: the accepted units' blocks of C (jobs that collect). */
  Matrix: 'matrix',
  /** digests.bin and digests.npy: every message's SHA-256 (jobs that collect). */
  Digests: 'digests',
  /** solutions.json: each proof-of-work unit's solutions and shares (always kept). */
  Solutions: 'solutions',
  /** No output file: the job did not collect its output, which stayed with the volunteers. */
  None: 'none',
} as const;
export type ExportOutput = (typeof ExportOutput)[keyof typeof ExportOutput];

export const ExportState = {
  /** Every unit accepted, and every output the job keeps is in the files. */
  Complete: 'complete',
  /** Some unit is not accepted yet, or its output is not in the store: listed in `missing`. */
  Partial: 'partial',
} as const;
export type ExportState = (typeof ExportState)[keyof typeof ExportState];

export interface ExportedUnit {
  readonly unitId: string;
  readonly index: number;
  readonly state: StoredUnitState;
  /** The accepted result's Merkle root; null until the unit is accepted. */
  readonly root: string | null;
  /** The key whose result was accepted (the unit's holder); null until accepted. */
  readonly volunteer: string | null;
  /** The receipt the host signed for the accepted result; null until accepted (or for a store that lost it). */
  readonly receipt: Receipt | null;
  /** What computed the accepted result, as its volunteer reported it (never checked); null when not said. */
  readonly backend: Backend | null;
  readonly adapter: string | null;
  /** Epoch ms. */
  readonly acceptedAt: number | null;
}

/** One output file, as the manifest describes it. */
export interface ExportedFile {
  readonly name: string;
  readonly bytes: number;
  /** What it holds and how to read it. */
  readonly holds: string;
}

export interface ExportManifest {
  readonly format: typeof EXPORT_FORMAT;
  readonly job: { readonly id: string; readonly kernel: JobSpec['kernel']; readonly spec: JobSpec };
  readonly state: ExportState;
  readonly output: ExportOutput;
  readonly note: string;
  /** ISO 8601. */
  readonly exportedAt: string;
  readonly host: { readonly publicKey: string };
  readonly units: { readonly total: number; readonly accepted: number; readonly list: readonly ExportedUnit[] };
  /** Units not accepted, or accepted whose output the store does not hold: absent from (zero in) the output files. */
  readonly missing: readonly string[];
  readonly files: readonly ExportedFile[];
  readonly receiptCheck: string;
}

export const RECEIPT_CHECK =
  'receiptId = SHA-256 of the JSON array [jobId, unitId, volunteer, credit, root, issuedAt]; ' +
  'signature = ECDSA P-256 with SHA-256 by host.publicKey (raw uncompressed point, hex) over the JSON array ' +
  '["tabgrid/receipt/v1", receiptId, jobId, unitId, volunteer, credit, root, issuedAt], as r‖s hex (proof/receipt-signing.ts).';

/** A job's units as the manifest lists them, in index order, each accepted one with its holder's receipt. */
export function exportedUnits(units: readonly StoredUnit[], receipts: readonly StoredReceipt[]): ExportedUnit[] {
  const receiptOf = new Map(receipts.map((r) => [`${r.unitId}\n${r.volunteer}`, r]));
  return [...units]
    .sort((a, b) => a.index - b.index)
    .map((u): ExportedUnit => {
      const accepted = u.state === StoredUnitState.Accepted;
      return {
        unitId: u.unitId,
        index: u.index,
        state: u.state,
        root: accepted ? u.root : null,
        volunteer: accepted ? u.holder : null,
        receipt: (accepted && u.holder !== null ? receiptOf.get(`${u.unitId}\n${u.holder}`) : undefined) ?? null,
        backend: accepted ? (u.backend ?? null) : null,
        adapter: accepted ? (u.adapter ?? null) : null,
        acceptedAt: accepted ? u.acceptedAt : null,
      };
    });
}
