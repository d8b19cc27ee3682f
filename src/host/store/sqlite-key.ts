/**
 * The Node host's signing key, kept in its SQLite file so a restarted host signs with the same
 * key and the receipts it re-sends still verify. WebCrypto can only export a key made
 * extractable, so the pair is made extractable once, written as JWK in the same file as the
 * receipts it signs (protect the file, as any server key), and used through a non-extractable
 * import of it.
 */
import { createPrivateKey, sign } from 'node:crypto';
import type Database from 'better-sqlite3';
import { toHex } from '../../hex';
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
  return hostIdentityFromJwk(row.private_jwk, row.public_jwk);
}

/**
 * The host's identity from its stored JWKs (SQLite's or PostgreSQL's host_key row). It signs
 * with node:crypto, synchronously, in WebCrypto's form (ECDSA P-256 over SHA-256, r‖s): the same
 * signatures, every verifier unchanged, for half the CPU of WebCrypto's sign (0.022 ms against
 * 0.042 here), which a host pays once per receipt.
 */
export async function hostIdentityFromJwk(privateJwk: string, publicJwk: string): Promise<Identity> {
  const subtle = globalThis.crypto.subtle;
  const jwk = JSON.parse(privateJwk) as JsonWebKey;
  const privateKey = await subtle.importKey('jwk', jwk, ALGORITHM, false, ['sign']);
  const publicKey = await subtle.importKey('jwk', JSON.parse(publicJwk) as JsonWebKey, ALGORITHM, true, ['verify']);
  const key = createPrivateKey({ key: { ...jwk }, format: 'jwk' });
  const identity = await identityFromKeyPair({ privateKey, publicKey });
  return { ...identity, sign: (bytes) => Promise.resolve(toHex(sign('sha256', bytes, { key, dsaEncoding: 'ieee-p1363' }))) };
}
