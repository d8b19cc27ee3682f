import { describe, expect, it } from 'vitest';
import { sha256Ref } from '../../src/hash/sha256-ref';
import { makeReceipt } from '../../src/proof/receipt';
import type { Receipt } from '../../src/protocol';
import { commitmentBytes } from '../../src/proof/commitment';
import { createKeyPair, identityFromKeyPair } from '../../src/proof/identity';
import { receiptBytes, signReceipt, verifyReceiptSignature } from '../../src/proof/receipt-signing';

const receipt = makeReceipt(
  { jobId: 'job-1', unitId: 'u-3', volunteer: '0123456789abcdef0123456789abcdef', credit: 12.5, root: 'ef'.repeat(32), issuedAt: 1_700_000_000_000 },
  sha256Ref,
);

describe('host-signed receipts', () => {
  it("verifies the host's signature of an intact receipt, and nothing else", async () => {
    const host = await identityFromKeyPair(await createKeyPair());
    const impostor = await identityFromKeyPair(await createKeyPair());
    const sig = await signReceipt(host, receipt);
    expect(await verifyReceiptSignature(host.publicKey, receipt, sig)).toBe(true);
    expect(await verifyReceiptSignature(impostor.publicKey, receipt, sig)).toBe(false);
    expect(await verifyReceiptSignature(host.publicKey, receipt, await signReceipt(impostor, receipt))).toBe(false);
    expect(await verifyReceiptSignature(host.publicKey, receipt, 'ab'.repeat(64))).toBe(false);
    expect(await verifyReceiptSignature('04', receipt, sig)).toBe(false);
  });

  it('rejects a receipt changed in any field, re-addressed or not', async () => {
    const host = await identityFromKeyPair(await createKeyPair());
    const sig = await signReceipt(host, receipt);
    const { receiptId: _, ...fields } = receipt;
    const changes: Partial<Receipt>[] = [
      { credit: 125 },
      { volunteer: 'f'.repeat(32) },
      { unitId: 'u-4' },
      { jobId: 'job-2' },
      { root: '00'.repeat(32) },
      { issuedAt: 1 },
    ];
    for (const change of changes) {
      // Altered but keeping the old id: not intact.
      expect(await verifyReceiptSignature(host.publicKey, { ...receipt, ...change }, sig)).toBe(false);
      // Altered and re-addressed, so intact: the signature no longer matches.
      const forged = makeReceipt({ ...fields, ...change }, sha256Ref);
      expect(await verifyReceiptSignature(host.publicKey, forged, sig)).toBe(false);
    }
  });

  it('refuses a host-signed receipt whose id disagrees with its fields', async () => {
    const host = await identityFromKeyPair(await createKeyPair());
    const broken = { ...receipt, receiptId: '00'.repeat(32) };
    expect(await verifyReceiptSignature(host.publicKey, broken, await signReceipt(host, broken))).toBe(false);
  });

  it("does not accept the host's signature of other bytes it signs (a commitment's) as a receipt's", async () => {
    const host = await identityFromKeyPair(await createKeyPair());
    const commitmentSig = await host.sign(
      commitmentBytes({ jobId: receipt.jobId, unitId: receipt.unitId, kernel: 'matmul-modp', inputDigest: '12'.repeat(32), root: receipt.root }),
    );
    expect(await verifyReceiptSignature(host.publicKey, receipt, commitmentSig)).toBe(false);
    expect(new TextDecoder().decode(receiptBytes(receipt))).toMatch(/^\["tabgrid\/receipt\/v1","/);
  });
});
