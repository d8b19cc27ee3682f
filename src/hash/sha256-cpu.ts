import { createSHA256 } from 'hash-wasm';

/** A synchronous SHA-256 over the concatenation of its arguments. */
export type Hasher = (...parts: Uint8Array[]) => Uint8Array;

/**
 * The fast CPU SHA-256 (hash-wasm, WebAssembly), used by the host to verify and by the
 * volunteer to build Merkle trees. Creating it is async (WASM instantiation); using it is not.
 */
export async function createCpuSha256(): Promise<Hasher> {
  const h = await createSHA256();
  return (...parts) => {
    h.init();
    for (const p of parts) h.update(p);
    return h.digest('binary');
  };
}
