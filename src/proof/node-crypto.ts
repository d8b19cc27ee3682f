/**
 * node:crypto where this runs in Node (process.getBuiltinModule, Node ≥ 20.16), else null: the
 * host's per-unit cryptography (verifying signatures, result MACs) is synchronous there and costs
 * a fraction of WebCrypto's CPU (whose every call is a job on libuv's pool plus promise plumbing
 * on the main thread; npm run bench -- --store), with the same answers. Found at run time rather
 * than imported, so the pages' bundle never names a Node module.
 */
export function nodeCrypto(): NodeCrypto | null {
  if (nodeCryptoModule === undefined) {
    const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    nodeCryptoModule = (process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined) ?? null;
  }
  return nodeCryptoModule;
}

let nodeCryptoModule: NodeCrypto | null | undefined;

/** The parts of node:crypto this project uses (a structural type: this module is in the pages' bundle too). */
export interface NodeCrypto {
  createPublicKey(key: { key: Uint8Array; format: 'der'; type: 'spki' }): NodeKeyObject;
  verify(algorithm: string, data: Uint8Array, key: { key: NodeKeyObject; dsaEncoding: 'ieee-p1363' }, signature: Uint8Array): boolean;
  createECDH(curve: 'prime256v1'): NodeEcdh;
  hkdfSync(digest: 'sha256', ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): ArrayBuffer;
  createHmac(algorithm: 'sha256', key: Uint8Array): { update(data: Uint8Array): { digest(): Uint8Array } };
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}

export type NodeKeyObject = object;

export interface NodeEcdh {
  generateKeys(): Uint8Array;
  getPublicKey(): Uint8Array;
  /** Throws for a point that is not on the curve. */
  computeSecret(otherPublicKey: Uint8Array): Uint8Array;
}
