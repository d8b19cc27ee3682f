/** Lower-case hex, the form digests take on the wire and in logs. */
const alphabet = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += alphabet[b >>> 4]! + alphabet[b & 15]!;
  }
  return out;
}

const hexPattern = /^(?:[0-9a-f]{2})*$/;

/** Parses lower-case hex; returns undefined on anything else (odd length, other characters). */
export function fromHex(hex: string): Uint8Array | undefined {
  if (!hexPattern.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
