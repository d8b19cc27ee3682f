import { ErrorCode, TabgridError } from '../errors';
import { fromHex, toHex } from '../hex';

/**
 * Proof that an observer (the dashboard watching a Node host) holds the token the host printed
 * at start. The token itself never crosses the wire: the host sends a fresh nonce for each
 * observer connection, and the observer answers HMAC-SHA-256 keyed by the token over a domain
 * tag, the host's id and the nonce. A proof cannot be replayed on another connection (another
 * nonce) or to another host (another id), and a relay or a recorded session learns nothing
 * that lets it observe later. DTLS already hides the channel from the network; the HMAC keeps
 * the token from anyone who can read the channel's plain text (a relaying peer, a debug log).
 */

const OBSERVE_TAG = 'tabgrid/observe/v1';
/** Shorter tokens are refused: the token is the only thing between a stranger and the host's results. */
export const MIN_OBSERVER_TOKEN_CHARS = 16;
export const MAX_OBSERVER_TOKEN_CHARS = 256;

/** A fresh token: 32 random bytes as hex (URL-safe as it is). */
export function newObserverToken(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/** Returns `token` if it may be one (16..256 visible ASCII characters, no spaces); throws bad-input naming `where` otherwise. */
export function checkObserverToken(token: string, where: string): string {
  if (token.length < MIN_OBSERVER_TOKEN_CHARS || token.length > MAX_OBSERVER_TOKEN_CHARS || !/^[\x21-\x7e]+$/.test(token)) {
    throw new TabgridError(
      ErrorCode.BadInput,
      `${where}: an observer token is ${MIN_OBSERVER_TOKEN_CHARS}..${MAX_OBSERVER_TOKEN_CHARS} visible ASCII characters without spaces (got ${token.length} characters)`,
    );
  }
  return token;
}

function proofBytes(hostId: string, nonce: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify([OBSERVE_TAG, hostId, nonce]));
}

function hmacKey(token: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', new TextEncoder().encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

/** The observer's answer to the host's nonce: HMAC-SHA-256(token, JSON ["tabgrid/observe/v1", hostId, nonce]), hex. */
export async function observerProof(token: string, hostId: string, nonce: string): Promise<string> {
  const mac = await globalThis.crypto.subtle.sign('HMAC', await hmacKey(token, 'sign'), proofBytes(hostId, nonce));
  return toHex(new Uint8Array(mac));
}

/** Whether `proof` answers `nonce` for `token` (compared in constant time by WebCrypto). False, never a throw, for anything malformed. */
export async function verifyObserverProof(token: string, hostId: string, nonce: string, proof: string): Promise<boolean> {
  const mac = fromHex(proof);
  if (!mac || mac.length !== 32) return false;
  return globalThis.crypto.subtle.verify('HMAC', await hmacKey(token, 'verify'), mac as Uint8Array<ArrayBuffer>, proofBytes(hostId, nonce));
}
