import type { Receipt } from '../protocol';

export const RECEIPTS_FILE = 'tabgrid-receipts.json';

/**
 * The volunteer's receipts as a JSON file: each is signed by its host, so the file proves the
 * credit to anyone holding the host's key. (A fuller statement format is src/proof/credit.ts's
 * job; this keeps to what the session holds.)
 */
export function receiptsJson(volunteer: string | undefined, receipts: readonly Receipt[]): string {
  return `${JSON.stringify({ volunteer: volunteer ?? null, receipts }, null, 2)}\n`;
}

/** Offers the receipts to the visitor as a download. */
export function downloadReceipts(volunteer: string | undefined, receipts: readonly Receipt[]): void {
  const url = URL.createObjectURL(new Blob([receiptsJson(volunteer, receipts)], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = RECEIPTS_FILE;
  link.click();
  // The download has its own reference once started.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
