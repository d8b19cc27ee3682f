import { ErrorCode, TabgridError } from '../errors';
import { sha256Ref } from '../hash/sha256-ref';
import { fromHex, toHex } from '../hex';
import { MAC_HEX } from '../protocol';
import { commitmentBytes, type CommitmentFields } from './commitment';
import { rawPublicKey } from './identity';
import { nodeCrypto } from './node-crypto';

/**
 * A connection's result key (protocol 9): how a host knows each result on a connection comes
 * from the key that proved itself there, for the price of an HMAC rather than an ECDSA
 * verification a unit (49 µs of a host's CPU against 3: npm run bench -- --store).
 *
 * The welcome carries the host's ECDH P-256 public key (`session`); the volunteer makes a fresh
 * ECDH key for each connection and sends its public half in the key-proof, which its identity
 * key signs together with the host's half and the connection's nonce (proof/key-proof.ts). Both
 * sides then derive the same HMAC-SHA-256 key: HKDF-SHA-256 of the ECDH shared secret, salted
 * with the nonce. Whoever passes the messages on (a relay, a signaling server that swapped the
 * DTLS fingerprints) sees both public halves but not the secret, and cannot swap either half
 * without breaking the key-proof's signature, so it can neither forge nor replay a result's
 * MAC. A result's MAC covers the same commitment (job, unit, kernel, input digest, root) a
 * signature did (proof/commitment.ts), so a MAC made for one unit or root does not verify for
 * another. Unlike a signature it convinces only the host, which is all a result needs: the
 * host's signed receipt is what a volunteer shows others.
 */

const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;
const INFO = new TextEncoder().encode('tabgrid/result-key/v1');
const MAC_BYTES = MAC_HEX / 2;

/** One side's ECDH key: its public half for the other side, and the agreement with the other's. */
export interface SessionKeyPair {
  /** The raw uncompressed point, hex (130 characters). */
  readonly publicKey: string;
  /**
   * The result key shared with the holder of `peerPublicKey`, salted with the connection's
   * `nonce` (hex). Throws BadSignature for a peer key that is not a point on P-256.
   */
  agree(peerPublicKey: string, nonce: string): Promise<ResultKey>;
}

/**
 * Synchronous, so a volunteer's result goes out in the order it was sent, before whatever the
 * session says next (a request for the next unit must not overtake the result it follows).
 */
export interface ResultKey {
  /** The MAC of a result's commitment, hex. Throws BadInput for fields commitmentBytes refuses. */
  mac(f: CommitmentFields): string;
  /** Whether `mac` is this key's MAC of exactly these fields; false (never a throw) for anything malformed. */
  verify(f: CommitmentFields, mac: string): boolean;
  /** The MAC of `bytes` (a judged step's, proof/step-mac.ts), hex. */
  macBytes(bytes: Uint8Array): string;
  /** Whether `mac` is this key's MAC of `bytes`; false (never a throw) for anything malformed. */
  verifyBytes(bytes: Uint8Array, mac: string): boolean;
}

/**
 * A fresh ECDH key pair: a volunteer makes one a connection, a host one for its life (the nonce
 * salts each connection's key). node:crypto's where there is one, else WebCrypto's; `webCrypto`
 * asks for WebCrypto's even in Node (the tests check the two agree).
 */
export async function newSessionKeyPair(options: { readonly webCrypto?: boolean } = {}): Promise<SessionKeyPair> {
  const node = options.webCrypto ? null : nodeCrypto();
  if (node) {
    const ecdh = node.createECDH('prime256v1');
    ecdh.generateKeys();
    return {
      publicKey: toHex(ecdh.getPublicKey()),
      agree: async (peer, nonce) => {
        let secret: Uint8Array;
        try {
          secret = ecdh.computeSecret(pointOf(peer));
        } catch (err) {
          throw notAPoint(err);
        }
        return nodeResultKey(new Uint8Array(node.hkdfSync('sha256', secret, saltOf(nonce), INFO, MAC_BYTES)));
      },
    };
  }
  const subtle = globalThis.crypto.subtle;
  const pair = await subtle.generateKey(ECDH, false, ['deriveBits']);
  return {
    publicKey: toHex(new Uint8Array(await subtle.exportKey('raw', pair.publicKey))),
    agree: async (peer, nonce) => {
      let secret: ArrayBuffer;
      try {
        const theirs = await subtle.importKey('raw', pointOf(peer), ECDH, false, []);
        secret = await subtle.deriveBits({ name: 'ECDH', public: theirs }, pair.privateKey, 256);
      } catch (err) {
        throw notAPoint(err);
      }
      const ikm = await subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
      const key = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: saltOf(nonce), info: INFO }, ikm, 8 * MAC_BYTES);
      return jsResultKey(new Uint8Array(key));
    },
  };
}

/** node:crypto's HMAC: a few microseconds a result (a host verifies one a unit). */
function nodeResultKey(key: Uint8Array): ResultKey {
  const node = nodeCrypto()!;
  const macOf = (bytes: Uint8Array) => node.createHmac('sha256', key).update(bytes).digest();
  const verifyBytes = (bytes: () => Uint8Array, mac: string) => {
    const given = macBytes(mac);
    if (!given) return false;
    try {
      return node.timingSafeEqual(macOf(bytes()), given);
    } catch {
      return false;
    }
  };
  return {
    mac: (f) => toHex(macOf(commitmentBytes(f))),
    verify: (f, mac) => verifyBytes(() => commitmentBytes(f), mac),
    macBytes: (bytes) => toHex(macOf(bytes)),
    verifyBytes: (bytes, mac) => verifyBytes(() => bytes, mac),
  };
}

/**
 * HMAC-SHA-256 in script (the reference SHA-256), where there is no node:crypto: WebCrypto's HMAC
 * is asynchronous. A commitment is a few blocks, so a MAC costs microseconds either way.
 */
function jsResultKey(key: Uint8Array): ResultKey {
  const inner = new Uint8Array(64).fill(0x36);
  const outer = new Uint8Array(64).fill(0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i]! ^= key[i]!;
    outer[i]! ^= key[i]!;
  }
  const macOf = (bytes: Uint8Array) => sha256Ref(outer, sha256Ref(inner, bytes));
  const verifyBytes = (bytes: () => Uint8Array, mac: string) => {
    const given = macBytes(mac);
    if (!given) return false;
    let mine: Uint8Array;
    try {
      mine = macOf(bytes());
    } catch {
      return false;
    }
    // Every byte compared, whatever differs first.
    let diff = 0;
    for (let i = 0; i < MAC_BYTES; i++) diff |= mine[i]! ^ given[i]!;
    return diff === 0;
  };
  return {
    mac: (f) => toHex(macOf(commitmentBytes(f))),
    verify: (f, mac) => verifyBytes(() => commitmentBytes(f), mac),
    macBytes: (bytes) => toHex(macOf(bytes)),
    verifyBytes: (bytes, mac) => verifyBytes(() => bytes, mac),
  };
}

function macBytes(mac: string): Uint8Array<ArrayBuffer> | undefined {
  const bytes = fromHex(mac);
  return bytes?.length === MAC_BYTES ? bytes : undefined;
}

function pointOf(publicKey: string): Uint8Array<ArrayBuffer> {
  const raw = rawPublicKey(publicKey);
  if (!raw) throw notAPoint();
  return raw;
}

function saltOf(nonce: string): Uint8Array<ArrayBuffer> {
  const salt = fromHex(nonce);
  if (!salt || salt.length === 0) throw new TabgridError(ErrorCode.BadInput, 'a result key needs the connection nonce, hex');
  return salt;
}

function notAPoint(cause?: unknown): TabgridError {
  return new TabgridError(ErrorCode.BadSignature, 'the session key is not a P-256 point (65 bytes, 04‖x‖y)', cause === undefined ? undefined : { cause });
}
