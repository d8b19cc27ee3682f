/**
 * The leaves of a result that lists shares (unit-kernel.ts, `shares`): 4-byte little-endian
 * nonces, back to back, which the result message also carries as numbers.
 */

/** A result's shares as its Merkle leaves. */
export function sharesToLeaves(shares: readonly number[]): Uint8Array {
  const leaves = new Uint8Array(4 * shares.length);
  const view = new DataView(leaves.buffer);
  shares.forEach((nonce, i) => view.setUint32(4 * i, nonce, true));
  return leaves;
}

/** The inverse of sharesToLeaves. */
export function leavesToShares(leaves: Uint8Array): number[] {
  const view = new DataView(leaves.buffer, leaves.byteOffset, leaves.byteLength);
  return Array.from({ length: leaves.length / 4 }, (_, i) => view.getUint32(4 * i, true));
}
