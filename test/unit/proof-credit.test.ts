import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { makeReceipt } from '../../src/proof/receipt';
import { makeCreditStatement, verifyCreditStatement, type CreditStatement } from '../../src/proof/credit';
import type { Identity } from '../../src/proof/identity';
import { signReceipt } from '../../src/proof/receipt-signing';
import type { Receipt } from '../../src/protocol';
import { newIdentity } from '../helpers/signing';

let hash: Hasher;
let host: Identity;
let me: Identity;
let mine: Receipt[];
beforeAll(async () => {
  hash = await createCpuSha256();
  host = await newIdentity();
  me = await newIdentity();
  mine = await Promise.all([0, 1, 2].map((i) => receiptFor(me, `u/${i}`, 100 + i)));
});

async function receiptFor(v: Identity, unitId: string, credit: number, issuer = host): Promise<Receipt> {
  const r = makeReceipt({ jobId: 'j', unitId, volunteer: v.id, credit, root: 'ab'.repeat(32), issuedAt: 1_000 }, hash);
  return { ...r, signature: await signReceipt(issuer, r) };
}

describe('credit statements', () => {
  it('totals the receipts of an honest statement', async () => {
    const s = await makeCreditStatement(me, host.publicKey, mine);
    expect(await verifyCreditStatement(s, host.publicKey)).toEqual({ total: 303, units: 3, problems: [] });
    // It travels as JSON.
    expect(await verifyCreditStatement(JSON.parse(JSON.stringify(s)) as CreditStatement, host.publicKey)).toMatchObject({ total: 303 });
  });

  it('refuses a statement for another host, or not signed by its volunteer', async () => {
    const s = await makeCreditStatement(me, host.publicKey, mine);
    const other = await newIdentity();
    await expect(verifyCreditStatement(s, other.publicKey)).rejects.toThrow(/another host key/);
    // The first byte changed (always: overwriting it with a fixed '00' left 1 signature in 256 intact).
    const altered = (Number.parseInt(s.signature.slice(0, 2), 16) ^ 0xff).toString(16).padStart(2, '0') + s.signature.slice(2);
    await expect(verifyCreditStatement({ ...s, signature: altered }, host.publicKey)).rejects.toThrow(/signature does not verify/);
    await expect(verifyCreditStatement({ ...s, publicKey: 'zz' }, host.publicKey)).rejects.toThrow(/not a P-256 public key/);
    await expect(verifyCreditStatement({ ...s, version: 2 } as unknown as CreditStatement, host.publicKey)).rejects.toThrow(/version-1/);
  });

  it('does not count receipts that were altered, forged, duplicated or issued to someone else', async () => {
    const thief = await newIdentity();
    const forger = await newIdentity();
    const inflated = { ...mine[0]!, credit: 1e9 };
    const forged = await receiptFor(me, 'u/9', 500, forger);
    const stolen = await receiptFor(thief, 'u/5', 50);
    const s = await makeCreditStatement(me, host.publicKey, [...mine, inflated, forged, mine[1]!]);
    const check = await verifyCreditStatement(s, host.publicKey);
    expect(check.total).toBe(303);
    expect(check.problems).toEqual([
      expect.stringMatching(/^receipt 3 \(u\/0\): the host's signature does not verify/),
      expect.stringMatching(/^receipt 4 \(u\/9\): the host's signature does not verify/),
      expect.stringMatching(/^receipt 5 \(u\/1\): a second receipt for the same unit/),
    ]);
    // A statement cannot claim another volunteer's receipts: makeCreditStatement leaves them out,
    // and one built by hand is caught.
    expect((await makeCreditStatement(me, host.publicKey, [stolen])).receipts).toEqual([]);
    const byHand = await makeCreditStatement(thief, host.publicKey, [stolen]);
    const claimed = { ...byHand, receipts: [...byHand.receipts, mine[0]!] };
    await expect(verifyCreditStatement(claimed, host.publicKey)).rejects.toThrow(/signature does not verify/);
  });

  it("reports another volunteer's receipt inside a statement its holder signed", async () => {
    const thief = await newIdentity();
    // The thief signs a statement listing a receipt issued to me: its signature is good, the receipt is not its credit.
    const statement = await signAs(thief, { version: 1, publicKey: thief.publicKey, hostPublicKey: host.publicKey, receipts: [mine[2]!] });
    expect((await verifyCreditStatement(statement, host.publicKey)).problems).toEqual([expect.stringMatching(/issued to .*, not to this volunteer/)]);
  });
});

/** A statement over exactly `receipts`, signed by `who` (makeCreditStatement would filter them). */
async function signAs(who: Identity, s: Omit<CreditStatement, 'signature'>): Promise<CreditStatement> {
  const fake: Identity = { ...who, id: s.receipts[0]!.volunteer };
  return makeCreditStatement(fake, s.hostPublicKey, s.receipts);
}
