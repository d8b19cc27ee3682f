/**
 * The host's signing key in its PostgreSQL database (table host_key), as sqlite-key.ts keeps it
 * in the SQLite file: made extractable once, written as JWK, used through a non-extractable
 * import. Every host process on the database signs with this one key, so a receipt verifies
 * whichever process issued it and a volunteer moving between processes meets the same host.
 */
import type pg from 'pg';
import type { Identity } from '../../proof/identity';
import { hostIdentityFromJwk } from './sqlite-key';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

interface KeyRow {
  private_jwk: string;
  public_jwk: string;
}

export async function loadOrCreatePgHostIdentity(pool: pg.Pool): Promise<Identity> {
  const subtle = globalThis.crypto.subtle;
  const read = async () => (await pool.query<KeyRow>('SELECT private_jwk, public_jwk FROM host_key WHERE id = 1')).rows[0];
  let row = await read();
  if (!row) {
    const made = await subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const privateJwk = JSON.stringify(await subtle.exportKey('jwk', made.privateKey));
    const publicJwk = JSON.stringify(await subtle.exportKey('jwk', made.publicKey));
    // Processes racing on a new database: the first key written wins, and all use it.
    await pool.query('INSERT INTO host_key (id, private_jwk, public_jwk) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING', [privateJwk, publicJwk]);
    row = (await read())!;
  }
  return hostIdentityFromJwk(row.private_jwk, row.public_jwk);
}
