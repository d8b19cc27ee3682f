import { ErrorCode, TabgridError } from '../errors';
import { sha256Ref } from '../hash/sha256-ref';
import { toHex } from '../hex';
import type { Receipt } from '../protocol';
import { identityOf, verifySignature, type Identity } from './identity';
import { verifyReceiptSignature } from './receipt-signing';

/**
 * A volunteer's proof of its credit with one host: its receipts (each signed by the host) plus
 * its own public key and signature over the whole statement. Anyone holding the host's public
 * key can then check, without asking the host, that the host accepted each listed result from
 * this volunteer and what it earned, and that the volunteer itself put the statement forward
 * (a statement over someone else's receipts fails: receipts name the volunteer's identity,
 * which is the hash of the key that must sign the statement).
 */
export interface CreditStatement {
  readonly version: 1;
  /** The volunteer's raw public key (hex); its identity is identityOf(publicKey). */
  readonly publicKey: string;
  /** The host the receipts are from. A checker compares it with the key it trusts. */
  readonly hostPublicKey: string;
  readonly receipts: readonly Receipt[];
  /** The volunteer's signature of statementBytes. */
  readonly signature: string;
}

export interface CreditCheck {
  /** Credit of the receipts that verify, counted once per unit. */
  readonly total: number;
  readonly units: number;
  /** One line per receipt (or statement field) that does not verify; empty when all is well. */
  readonly problems: readonly string[];
}

const STATEMENT_TAG = 'tabgrid/credit-statement/v1';

function statementBytes(s: Omit<CreditStatement, 'signature'>): Uint8Array {
  const ids = s.receipts.map((r) => r.receiptId);
  return new TextEncoder().encode(
    JSON.stringify([STATEMENT_TAG, s.version, s.publicKey, s.hostPublicKey, toHex(sha256Ref(new TextEncoder().encode(JSON.stringify(ids))))]),
  );
}

/** `identity`'s signed statement of the receipts it holds from the host with `hostPublicKey`. */
export async function makeCreditStatement(identity: Identity, hostPublicKey: string, receipts: readonly Receipt[]): Promise<CreditStatement> {
  const mine = receipts.filter((r) => r.volunteer === identity.id);
  const unsigned = { version: 1 as const, publicKey: identity.publicKey, hostPublicKey, receipts: mine };
  return { ...unsigned, signature: await identity.sign(statementBytes(unsigned)) };
}

/**
 * Checks `statement` against `trustedHostKey` (which the checker got from the host, not from
 * the statement). Throws BadInput when the statement as a whole is unusable (wrong shape, other
 * host, bad volunteer signature); otherwise reports every receipt that does not verify and
 * totals the rest.
 */
export async function verifyCreditStatement(statement: CreditStatement, trustedHostKey: string): Promise<CreditCheck> {
  const bad = (what: string): never => {
    throw new TabgridError(ErrorCode.BadInput, `credit statement: ${what}`);
  };
  if (typeof statement !== 'object' || statement === null || statement.version !== 1) bad('not a version-1 statement');
  if (!Array.isArray(statement.receipts) || statement.receipts.some((r) => typeof r !== 'object' || r === null || typeof r.receiptId !== 'string')) {
    bad('receipts must be a list of receipts');
  }
  if (statement.hostPublicKey !== trustedHostKey) bad('its receipts are from another host key than the one given');
  let volunteer: string;
  try {
    volunteer = identityOf(statement.publicKey);
  } catch {
    return bad('publicKey is not a P-256 public key');
  }
  const { signature, ...unsigned } = statement;
  if (typeof signature !== 'string' || !(await verifySignature(statement.publicKey, statementBytes(unsigned), signature)))
    bad("the volunteer's signature does not verify");
  const problems: string[] = [];
  const units = new Set<string>();
  let total = 0;
  for (const [i, r] of statement.receipts.entries()) {
    const name = `receipt ${i} (${String(r?.unitId)})`;
    if (typeof r !== 'object' || r === null || typeof r.signature !== 'string' || !(await verifyReceiptSignature(trustedHostKey, r, r.signature))) {
      problems.push(`${name}: the host's signature does not verify`);
    } else if (r.volunteer !== volunteer) {
      problems.push(`${name}: issued to ${r.volunteer}, not to this volunteer (${volunteer})`);
    } else if (units.has(`${r.jobId}\n${r.unitId}`)) {
      problems.push(`${name}: a second receipt for the same unit`);
    } else {
      units.add(`${r.jobId}\n${r.unitId}`);
      total += r.credit;
    }
  }
  return { total, units: units.size, problems };
}
