import { describe, expect, it } from 'vitest';
import { isTabgridError, ErrorCode } from '../../src/errors';
import { unitInputDigest, type CommitmentFields } from '../../src/proof/commitment';
import { newSessionKeyPair, type ResultKey } from '../../src/proof/result-key';
import { stepBytes } from '../../src/proof/step-mac';
import { Kernel, type MatmulUnit } from '../../src/protocol';

const unit: MatmulUnit = { kernel: Kernel.MatmulModp, jobId: 'job-1', unitId: 'u-1', seed: 42, m: 7, n: 13, k: 5, p: 65521 };
const f: CommitmentFields = { jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root: 'ab'.repeat(32) };
const NONCE = '5c'.repeat(32);

/** A volunteer's and a host's ends of one connection's result key, each made by node:crypto or WebCrypto. */
async function connection(volunteerWeb: boolean, hostWeb: boolean, nonce = NONCE): Promise<{ volunteer: ResultKey; host: ResultKey }> {
  const mine = await newSessionKeyPair({ webCrypto: volunteerWeb });
  const host = await newSessionKeyPair({ webCrypto: hostWeb });
  return { volunteer: await mine.agree(host.publicKey, nonce), host: await host.agree(mine.publicKey, nonce) };
}

describe('result keys', () => {
  for (const [volunteerWeb, hostWeb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`agree on both ends (volunteer ${volunteerWeb ? 'WebCrypto' : 'node:crypto'}, host ${hostWeb ? 'WebCrypto' : 'node:crypto'})`, async () => {
      const { volunteer, host } = await connection(volunteerWeb, hostWeb);
      const mac = volunteer.mac(f);
      expect(mac).toMatch(/^[0-9a-f]{64}$/);
      expect(host.mac(f)).toBe(mac);
      expect(host.verify(f, mac)).toBe(true);
      // A judged step's MAC (openings, rows) agrees too, and covers exactly its fields and kind.
      const openings = { type: 'openings' as const, unitId: 'u-1', openings: [{ index: 3, leaf: 'cd'.repeat(32), path: ['ef'.repeat(32)] }] };
      const stepMac = volunteer.macBytes(stepBytes(openings));
      expect(host.macBytes(stepBytes(openings))).toBe(stepMac);
      expect(host.verifyBytes(stepBytes(openings), stepMac)).toBe(true);
      expect(host.verifyBytes(stepBytes({ ...openings, openings: [{ ...openings.openings[0]!, index: 4 }] }), stepMac)).toBe(false);
      const rows = { type: 'rows' as const, unitId: 'u-1', first: 3, data: 'cd'.repeat(32) };
      expect(host.verifyBytes(stepBytes(rows), stepMac)).toBe(false);
      expect(host.verifyBytes(stepBytes(rows), volunteer.macBytes(stepBytes(rows)))).toBe(true);
      expect(host.verifyBytes(stepBytes(rows), 'not hex')).toBe(false);
    });
  }

  it("refuses another connection's MAC, and one replayed for other fields", async () => {
    const { volunteer, host } = await connection(false, true);
    const mac = volunteer.mac(f);
    // Another connection of the same two key pairs would still differ by its nonce; this is another pair altogether.
    const other = await connection(false, false);
    expect(host.verify(f, other.volunteer.mac(f))).toBe(false);
    expect(other.host.verify(f, mac)).toBe(false);
    for (const replay of [
      { ...f, unitId: 'u-2' },
      { ...f, jobId: 'job-2' },
      { ...f, root: 'cd'.repeat(32) },
      { ...f, kernel: Kernel.MatmulF32 },
      { ...f, inputDigest: unitInputDigest({ ...unit, seed: 43 }) },
    ]) {
      expect(host.verify(replay, mac), JSON.stringify(replay)).toBe(false);
    }
  });

  it('derives a different key for each nonce, with the same key pairs', async () => {
    const mine = await newSessionKeyPair();
    const host = await newSessionKeyPair({ webCrypto: true });
    const first = await mine.agree(host.publicKey, NONCE);
    const second = await host.agree(mine.publicKey, 'a7'.repeat(32));
    expect(second.verify(f, first.mac(f))).toBe(false);
  });

  it('answers false, never a throw, for a malformed MAC or fields', async () => {
    for (const web of [false, true]) {
      const { volunteer, host } = await connection(web, web);
      const mac = volunteer.mac(f);
      for (const bad of ['', mac.slice(2), mac + '00', mac.toUpperCase(), 'zz'.repeat(32), (mac[0] === '0' ? '1' : '0') + mac.slice(1)]) {
        expect(host.verify(f, bad), bad).toBe(false);
      }
      expect(host.verify({ ...f, root: 'xyz' }, mac)).toBe(false);
    }
  });

  it('refuses a peer half that is not a point on P-256', async () => {
    for (const web of [false, true]) {
      const mine = await newSessionKeyPair({ webCrypto: web });
      // x = 1 with some y is not on the curve; the rest are not even shaped like an uncompressed point.
      for (const bad of ['04' + '00'.repeat(31) + '01' + '00'.repeat(31) + '02', '02' + 'cd'.repeat(32), '04' + 'cd'.repeat(63), 'no hex']) {
        const err = await mine.agree(bad, NONCE).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isTabgridError(err, ErrorCode.BadSignature), `${web ? 'WebCrypto' : 'node:crypto'}: ${bad}`).toBe(true);
      }
    }
  });
});
