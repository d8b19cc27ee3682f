import { sha256Ref } from '../hash/sha256-ref';
import { receiptIsIntact } from './receipt';
import type { Receipt } from '../protocol';
import { verifySignature, type Identity } from './identity';

/**
 * Host-signed receipts. A receipt is content-addressed (receiptId = SHA-256 of its other fields,
 * receipt.ts), which shows it was not altered but not who issued it: anyone can make a
 * well-formed receipt. Signed with the host's key, it shows the host accepted the result, so a
 * volunteer can prove its credit to third parties holding the host's public key.
 *
 * The signature covers a domain tag and every field in a fixed order (the receiptId's order,
 * receiptId first) as a JSON array, so it cannot be replayed as a commitment signature
 * (commitment.ts has its own tag) or for a receipt differing in any field. Verification also
 * requires the receipt to be intact, so a signed receipt whose id disagrees with its fields is
 * refused even though the host signed it.
 */

const RECEIPT_TAG = 'tabgrid/receipt/v1';

/** The bytes a receipt's signature covers. */
export function receiptBytes(r: Receipt): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([RECEIPT_TAG, r.receiptId, r.jobId, r.unitId, r.volunteer, r.credit, r.root, r.issuedAt]));
}

/** The host's signature of `receipt`, r‖s hex. */
export function signReceipt(host: Pick<Identity, 'sign'>, receipt: Receipt): Promise<string> {
  return host.sign(receiptBytes(receipt));
}

/**
 * Whether `signature` is the host's signature of `receipt` and the receipt is intact. False,
 * never a throw, for anything malformed (including a receipt with missing or mistyped fields).
 */
export async function verifyReceiptSignature(hostPublicKey: string, receipt: Receipt, signature: string): Promise<boolean> {
  let bytes: Uint8Array;
  try {
    if (!receiptIsIntact(receipt, sha256Ref)) return false;
    bytes = receiptBytes(receipt);
  } catch {
    return false;
  }
  return verifySignature(hostPublicKey, bytes, signature);
}
