import { toHex } from '../hex';
import type { Hasher } from '../hash/sha256-cpu';
import type { Receipt } from '../protocol';

/**
 * A receipt's id is the SHA-256 of its other fields in a fixed order, so anyone holding the
 * receipt can check it was not altered, and host and volunteer name it the same way. Who issued
 * it is the host's signature's to show (receipt-signing.ts).
 */
export function receiptId(r: Omit<Receipt, 'receiptId'>, hash: Hasher): string {
  const canonical = JSON.stringify([r.jobId, r.unitId, r.volunteer, r.credit, r.root, r.issuedAt]);
  return toHex(hash(new TextEncoder().encode(canonical)));
}

export function makeReceipt(fields: Omit<Receipt, 'receiptId'>, hash: Hasher): Receipt {
  return { receiptId: receiptId(fields, hash), ...fields };
}

export function receiptIsIntact(r: Receipt, hash: Hasher): boolean {
  return receiptId(r, hash) === r.receiptId;
}
