import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { makeReceipt } from '../../src/proof/receipt';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import { makeCreditStatement } from '../../src/proof/credit';
import { signReceipt } from '../../src/proof/receipt-signing';
import { newIdentity } from '../helpers/signing';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgrid-credit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI; resolves to its exit code and output (a failing exit does not throw). */
async function verifyCredit(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'scripts/verify-credit.ts', ...args], { timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('npm run verify-credit', () => {
  it('verifies a statement against the key in the host database, and flags a tampered one', async () => {
    const db = join(dir, 'host.sqlite');
    const store = new SqliteHostStore(db);
    const host = await store.hostIdentity();
    await store.close();
    const hash = await createCpuSha256();
    const me = await newIdentity();
    const receipts = await Promise.all(
      [7, 11].map(async (credit, i) => {
        const r = makeReceipt({ jobId: 'j', unitId: `j/${i}`, volunteer: me.id, credit, root: 'cd'.repeat(32), issuedAt: 5 }, hash);
        return { ...r, signature: await signReceipt(host, r) };
      }),
    );
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(await makeCreditStatement(me, host.publicKey, receipts)));
    expect(await verifyCredit(good, '--host-db', db)).toMatchObject({ code: 0, out: expect.stringContaining('2 unit(s), credit 18 verified') });
    expect(await verifyCredit(good, '--host-key', host.publicKey)).toMatchObject({ code: 0 });

    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(await makeCreditStatement(me, host.publicKey, [receipts[0]!, { ...receipts[1]!, credit: 1100 }])));
    const bad = await verifyCredit(tampered, '--host-db', db);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/credit 7 verified/);
    expect(bad.out).toMatch(/not counted: receipt 1 \(j\/1\): the host's signature does not verify/);

    const other = await newIdentity();
    expect(await verifyCredit(good, '--host-key', other.publicKey)).toMatchObject({ code: 1, out: expect.stringContaining('another host key') });
    expect(await verifyCredit(good, '--host-db', join(dir, 'missing.sqlite'))).toMatchObject({ code: 1, out: expect.stringContaining('no host database') });
  }, 120_000);
});
