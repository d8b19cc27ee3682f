import { verifySignature, type Identity } from './identity';

/**
 * Proof that whoever says hello with a public key holds its private key. `hello` alone names a
 * key anyone can copy (public keys travel in receipts and through relays), and the host grants
 * leases, counts invalid results and bans by that key: without the proof, a stranger could take
 * a volunteer's leases or get its key banned with results signed badly on purpose.
 *
 * The host's welcome carries a fresh random nonce and the host's half of the connection's result
 * key (proof/result-key.ts); the volunteer signs a domain tag, the host's id, the host's public
 * key, the nonce, and both halves of the result key. A proof cannot be replayed to another
 * connection (another nonce) or another host, nor mistaken for a commitment or receipt signature
 * (other tags), and whoever passes it on cannot swap a half of the result key for its own.
 */

const KEY_PROOF_TAG = 'tabgrid/key-proof/v2';

export interface KeyProofFields {
  readonly hostId: string;
  readonly hostPublicKey: string;
  readonly nonce: string;
  /** The host's ECDH public key, from the welcome. */
  readonly hostSession: string;
  /** The volunteer's ECDH public key for this connection, sent with the proof. */
  readonly session: string;
}

export function keyProofBytes(f: KeyProofFields): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([KEY_PROOF_TAG, f.hostId, f.hostPublicKey, f.nonce, f.hostSession, f.session]));
}

export function signKeyProof(identity: Pick<Identity, 'sign'>, f: KeyProofFields): Promise<string> {
  return identity.sign(keyProofBytes(f));
}

/** False, never a throw, for anything malformed. */
export function verifyKeyProof(publicKey: string, f: KeyProofFields, signature: string): Promise<boolean> {
  return verifySignature(publicKey, keyProofBytes(f), signature);
}

/** A fresh nonce, 32 random bytes as hex. */
export function newNonce(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
