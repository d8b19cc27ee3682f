import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { openHostStore, parseStoreSpec, StoreKind } from '../../src/host/store/open-host-store';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import { verifySignature } from '../../src/proof/identity';
import { seededRandom } from '../../src/work/seeded';

const dir = mkdtempSync(join(tmpdir(), 'tabgrid-open-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The rejection of `promise`, which must be a TabgridError with `code`. */
async function refusal(promise: Promise<unknown>, code: 'bad-input' | 'storage'): Promise<string> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isTabgridError(err, code), String(err)).toBe(true);
  return (err as Error).message;
}

describe('parseStoreSpec', () => {
  it('reads memory, SQLite files and sqlite:PATH', () => {
    expect(parseStoreSpec(undefined)).toEqual({ kind: StoreKind.Memory });
    expect(parseStoreSpec('memory')).toEqual({ kind: StoreKind.Memory });
    expect(parseStoreSpec('./memory')).toEqual({ kind: StoreKind.Sqlite, path: './memory' });
    expect(parseStoreSpec('host.sqlite')).toEqual({ kind: StoreKind.Sqlite, path: 'host.sqlite' });
    expect(parseStoreSpec('sqlite:/var/lib/h.db')).toEqual({ kind: StoreKind.Sqlite, path: '/var/lib/h.db' });
    expect(parseStoreSpec(':memory:')).toEqual({ kind: StoreKind.Sqlite, path: ':memory:' });
    expect(parseStoreSpec('C:\\hosts\\h.sqlite')).toEqual({ kind: StoreKind.Sqlite, path: 'C:\\hosts\\h.sqlite' });
  });

  it('reads PostgreSQL URLs (pg-store.test.ts opens them on a real server)', () => {
    expect(parseStoreSpec('postgres://u@db/tabgrid')).toEqual({ kind: StoreKind.Postgres, url: 'postgres://u@db/tabgrid' });
    expect(parseStoreSpec('postgresql://db:5433/t?sslmode=require')).toEqual({ kind: StoreKind.Postgres, url: 'postgresql://db:5433/t?sslmode=require' });
  });

  it('refuses unknown schemes and empty names, as bad input', () => {
    for (const [spec, message] of [
      ['mysql://db/x', /unknown host store/],
      ['sqlite:', /names no file/],
      ['', /empty host store/],
    ] as const) {
      let err: unknown;
      try {
        parseStoreSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(isTabgridError(err, 'bad-input'), `${spec}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('openHostStore', () => {
  it('opens a memory store by default, each with a key of its own', async () => {
    const a = await openHostStore();
    const b = await openHostStore('memory');
    expect(a).toBeInstanceOf(MemoryHostStore);
    const key = await a.hostIdentity();
    expect((await a.hostIdentity()).publicKey).toBe(key.publicKey);
    expect((await b.hostIdentity()).publicKey).not.toBe(key.publicKey);
    const bytes = new TextEncoder().encode('receipt');
    expect(await verifySignature(key.publicKey, bytes, await key.sign(bytes))).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('opens a SQLite file by path or sqlite:PATH, the host key kept in it', async () => {
    const path = join(dir, 'host.sqlite');
    const first = await openHostStore(path);
    expect(first).toBeInstanceOf(SqliteHostStore);
    const key = (await first.hostIdentity()).publicKey;
    await first.close();
    const again = await openHostStore(`sqlite:${path}`, { existing: true });
    const identity = await again.hostIdentity();
    expect(identity.publicKey).toBe(key);
    // It signs with node:crypto: WebCrypto's verifier takes its signatures (r‖s, 64 bytes), and only for the bytes signed.
    const random = seededRandom(5);
    for (const length of [0, 1, 200]) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(random() * 256));
      const signature = await identity.sign(bytes);
      expect(signature).toMatch(/^[0-9a-f]{128}$/);
      expect(await verifySignature(key, bytes, signature)).toBe(true);
      expect(await verifySignature(key, Uint8Array.from([...bytes, 0]), signature)).toBe(false);
    }
    await again.close();
  });

  it('with `existing`, refuses to make a store: no file, or memory', async () => {
    const missing = join(dir, 'missing.sqlite');
    expect(await refusal(openHostStore(missing, { existing: true }), 'storage')).toMatch(/no host database at/);
    expect(existsSync(missing)).toBe(false);
    expect(await refusal(openHostStore('memory', { existing: true }), 'storage')).toMatch(/always new/);
  });

  it('names a PostgreSQL server it cannot reach as a storage error (pg-store.test.ts opens a real one)', async () => {
    expect(await refusal(openHostStore('postgres://u:pw@127.0.0.1:1/tabgrid'), 'storage')).toMatch(
      /cannot write host database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/tabgrid/,
    );
  });
});
