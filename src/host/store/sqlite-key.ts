/**
 * The Node host's signing key, kept in its SQLite file so a restarted host signs with the same
 * key and the receipts it re-sends still verify. WebCrypto can only export a key made
 * extractable, so the pair is made extractable once, written as JWK in the same file as the
 * receipts it signs (protect the file, as any server key), and used through a non-extractable
 * import of it.
 */
import type Database from 'better-sqlite3';
import { identityFromKeyPair, type Identity } from '../../proof/identity';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** Migration 4 of sqlite-store.ts: one row, the host key. */
export const HOST_KEY_TABLE = `
  CREATE TABLE host_key (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL
  ) STRICT;
`;

export async function loadOrCreateHostIdentity(db: Database.Database): Promise<Identity> {
  const subtle = globalThis.crypto.subtle;
  let row = db.prepare<[], { private_jwk: string; public_jwk: string }>('SELECT private_jwk, public_jwk FROM host_key WHERE id = 1').get();
  if (!row) {
    const made = await subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const fresh = {
      private_jwk: JSON.stringify(await subtle.exportKey('jwk', made.privateKey)),
      public_jwk: JSON.stringify(await subtle.exportKey('jwk', made.publicKey)),
    };
    // Two hosts racing on one new file: the first key written wins, and both use it.
    db.prepare('INSERT OR IGNORE INTO host_key (id, private_jwk, public_jwk) VALUES (1, @private_jwk, @public_jwk)').run(fresh);
    row = db.prepare<[], { private_jwk: string; public_jwk: string }>('SELECT private_jwk, public_jwk FROM host_key WHERE id = 1').get()!;
  }
  const privateKey = await subtle.importKey('jwk', JSON.parse(row.private_jwk) as JsonWebKey, ALGORITHM, false, ['sign']);
  const publicKey = await subtle.importKey('jwk', JSON.parse(row.public_jwk) as JsonWebKey, ALGORITHM, true, ['verify']);
  return identityFromKeyPair({ privateKey, publicKey });
}
