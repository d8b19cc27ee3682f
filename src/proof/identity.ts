import { fromHex, toHex } from '../hex';
import { sha256Ref } from '../hash/sha256-ref';
import { ErrorCode, TabgridError } from '../errors';
import { nodeCrypto, type NodeCrypto, type NodeKeyObject } from './node-crypto';

/**
 * A volunteer's (or host's) identity: an ECDSA P-256 key pair made by WebCrypto, whose private
 * key is NOT extractable, so script on the page (or a stolen IndexedDB dump of a browser's
 * structured-clone store) can sign with it but never read it out. The public key is exported
 * as the raw uncompressed point (65 bytes, 0x04‖x‖y), hex; the short `id` derived from it names
 * the volunteer for reputation and credit, so credit follows the key, not a self-chosen name.
 *
 * Signatures are WebCrypto's raw form r‖s (64 bytes), hex. ECDSA signatures are malleable
 * ((r, s) and (r, n − s) both verify), so a signature must never be used as an identifier.
 */

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** 0x04 ‖ x ‖ y. */
const RAW_PUBLIC_KEY_BYTES = 65;
const SIGNATURE_BYTES = 64;
/** 128 bits of SHA-256: collisions need ~2^64 keys, far beyond any grid. */
const ID_HEX_CHARS = 32;

export interface Identity {
  readonly keyPair: CryptoKeyPair;
  /** The raw public key, hex (130 characters). */
  readonly publicKey: string;
  /** identityOf(publicKey). */
  readonly id: string;
  /** Signs `bytes` (ECDSA P-256, SHA-256); the signature r‖s, hex. */
  sign(bytes: Uint8Array): Promise<string>;
}

/** Where a key pair persists between sessions (IndexedDB in a browser; memory or a file in Node). */
export interface KeyPairStore {
  getKeyPair(): Promise<CryptoKeyPair | undefined>;
  putKeyPair(pair: CryptoKeyPair): Promise<void>;
}

function subtle(): SubtleCrypto {
  return globalThis.crypto.subtle;
}

/** WebCrypto's types want bytes backed by a plain ArrayBuffer; a copy is one (and is cheap here). */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** A fresh key pair; the private key cannot be exported. */
export async function createKeyPair(): Promise<CryptoKeyPair> {
  return subtle().generateKey(ALGORITHM, false, ['sign', 'verify']);
}

export async function publicKeyHex(publicKey: CryptoKey): Promise<string> {
  return toHex(new Uint8Array(await subtle().exportKey('raw', publicKey)));
}

/** The bytes of a raw uncompressed P-256 point in hex (65 bytes, 04‖x‖y), or undefined for anything else; whether it lies on the curve is left to its use. */
export function rawPublicKey(publicKey: string): Uint8Array<ArrayBuffer> | undefined {
  const raw = fromHex(publicKey);
  return raw?.length === RAW_PUBLIC_KEY_BYTES && raw[0] === 4 ? raw : undefined;
}

/** A short stable id for a public key: the first 32 hex characters of SHA-256 of its raw bytes. */
export function identityOf(publicKey: string): string {
  const raw = rawPublicKey(publicKey);
  if (raw === undefined) {
    throw new TabgridError(ErrorCode.BadInput, `public key must be ${RAW_PUBLIC_KEY_BYTES} bytes of lower-case hex starting 04`);
  }
  return toHex(sha256Ref(raw)).slice(0, ID_HEX_CHARS);
}

/** The identity whose key pair `store` holds, making and storing one on first use. */
export async function loadOrCreateIdentity(store: KeyPairStore): Promise<Identity> {
  let keyPair = await store.getKeyPair();
  if (keyPair === undefined) {
    keyPair = await createKeyPair();
    await store.putKeyPair(keyPair);
  }
  return identityFromKeyPair(keyPair);
}

export async function identityFromKeyPair(keyPair: CryptoKeyPair): Promise<Identity> {
  const publicKey = await publicKeyHex(keyPair.publicKey);
  const { privateKey } = keyPair;
  return {
    keyPair,
    publicKey,
    id: identityOf(publicKey),
    sign: async (bytes) => toHex(new Uint8Array(await subtle().sign(SIGN, privateKey, owned(bytes)))),
  };
}

/**
 * Whether `signature` (r‖s hex) is `publicKey`'s signature of `bytes`. False, never a throw,
 * for anything malformed: a key that is not a point on the curve, wrong lengths, bad hex.
 */
export async function verifySignature(publicKey: string, bytes: Uint8Array, signature: string): Promise<boolean> {
  const raw = rawPublicKey(publicKey);
  const sig = fromHex(signature);
  if (raw === undefined) return false;
  if (sig === undefined || sig.length !== SIGNATURE_BYTES) return false;
  try {
    const node = nodeCrypto();
    if (node) return node.verify('sha256', bytes, { key: nodeVerifyingKey(node, publicKey, raw), dsaEncoding: 'ieee-p1363' }, sig);
    return await subtle().verify(SIGN, await verifyingKey(publicKey, raw), sig, owned(bytes));
  } catch {
    return false;
  }
}

/** SubjectPublicKeyInfo of an uncompressed P-256 point: this DER prefix, then the 65 bytes. */
const P256_SPKI_PREFIX = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200')!;

/** Imported verifying keys, most recently used last: a host checks every result of a key with the same key. */
const verifyingKeys = new Map<string, CryptoKey>();
const nodeVerifyingKeys = new Map<string, NodeKeyObject>();
/** Bounded: past it the least recently used key goes (and is imported again if it comes back). */
const VERIFYING_KEYS = 4096;

/** The cached key under `publicKey`, moved to most recently used; undefined if none. */
function cached<K>(cache: Map<string, K>, publicKey: string): K | undefined {
  const known = cache.get(publicKey);
  if (known === undefined) return undefined;
  cache.delete(publicKey);
  cache.set(publicKey, known);
  return known;
}

/** `key` cached under `publicKey` as the most recently used; past the bound the least recent goes. */
function remember<K>(cache: Map<string, K>, publicKey: string, key: K): K {
  cache.set(publicKey, key);
  if (cache.size > VERIFYING_KEYS) cache.delete(cache.keys().next().value!);
  return key;
}

/** `raw` as node:crypto's key; a point off the curve throws (not cached). */
function nodeVerifyingKey(node: NodeCrypto, publicKey: string, raw: Uint8Array): NodeKeyObject {
  const known = cached(nodeVerifyingKeys, publicKey);
  if (known) return known;
  const der = new Uint8Array(P256_SPKI_PREFIX.length + raw.length);
  der.set(P256_SPKI_PREFIX);
  der.set(raw, P256_SPKI_PREFIX.length);
  return remember(nodeVerifyingKeys, publicKey, node.createPublicKey({ key: der, format: 'der', type: 'spki' }));
}

/**
 * `publicKey` (`raw`, its bytes) imported for verifying, once per key while it stays among the
 * VERIFYING_KEYS most recent: the import was a third of a host's verification time (a profile of
 * npm run bench -- --store). importKey refuses a point off the curve (DataError): not cached, thrown.
 */
async function verifyingKey(publicKey: string, raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return cached(verifyingKeys, publicKey) ?? remember(verifyingKeys, publicKey, await subtle().importKey('raw', raw, ALGORITHM, false, ['verify']));
}
