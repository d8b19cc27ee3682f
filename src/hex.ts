/** Lower-case hex, the form digests take on the wire and in logs. */
const alphabet = '0123456789abcdef';

/** Each byte's two hex digits: a host converts a few dozen digests a unit, so one lookup a byte, not two. */
const PAIRS = Array.from({ length: 256 }, (_, b) => alphabet[b >>> 4]! + alphabet[b & 15]!);

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += PAIRS[bytes[i]!]!;
  return out;
}

/** Each character code's value as a hex digit (lower case only); -1 for anything else. */
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) DIGIT[alphabet.charCodeAt(i)] = i;

/** Parses lower-case hex (into fresh bytes of their own buffer); returns undefined on anything else (odd length, other characters). */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (hex.length % 2 !== 0) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const a = hex.charCodeAt(2 * i);
    const b = hex.charCodeAt(2 * i + 1);
    const hi = a < 128 ? DIGIT[a]! : -1;
    const lo = b < 128 ? DIGIT[b]! : -1;
    if ((hi | lo) < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
