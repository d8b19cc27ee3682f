import { describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { createKeyPair, identityOf, loadOrCreateIdentity, publicKeyHex, verifySignature, type KeyPairStore } from '../../src/proof/identity';

function memoryStore(): KeyPairStore & { puts: number } {
  let pair: CryptoKeyPair | undefined;
  const store = {
    puts: 0,
    getKeyPair: async () => pair,
    putKeyPair: async (p: CryptoKeyPair) => {
      pair = p;
      store.puts++;
    },
  };
  return store;
}

const message = new TextEncoder().encode('result for unit u-7');

describe('volunteer identity', () => {
  it('makes a P-256 key whose private half cannot be exported', async () => {
    const pair = await createKeyPair();
    expect(pair.privateKey.extractable).toBe(false);
    await expect(globalThis.crypto.subtle.exportKey('pkcs8', pair.privateKey)).rejects.toThrow();
    const pub = await publicKeyHex(pair.publicKey);
    expect(pub).toMatch(/^04[0-9a-f]{128}$/);
  });

  it('creates an identity once, then loads the same one', async () => {
    const store = memoryStore();
    const first = await loadOrCreateIdentity(store);
    const second = await loadOrCreateIdentity(store);
    expect(store.puts).toBe(1);
    expect(second.publicKey).toBe(first.publicKey);
    expect(second.id).toBe(first.id);
    expect(first.id).toBe(identityOf(first.publicKey));
    expect(first.id).toMatch(/^[0-9a-f]{32}$/);
    const other = await loadOrCreateIdentity(memoryStore());
    expect(other.id).not.toBe(first.id);
  });

  it('signs 64-byte r‖s signatures that verify under its key only, for those bytes only', async () => {
    const me = await loadOrCreateIdentity(memoryStore());
    const other = await loadOrCreateIdentity(memoryStore());
    const sig = await me.sign(message);
    expect(sig).toMatch(/^[0-9a-f]{128}$/);
    expect(await verifySignature(me.publicKey, message, sig)).toBe(true);
    expect(await verifySignature(other.publicKey, message, sig)).toBe(false);
    const altered = message.slice();
    altered[0]! ^= 1;
    expect(await verifySignature(me.publicKey, altered, sig)).toBe(false);
    // Every single-bit flip of the signature is refused (a sample of positions in r and in s).
    for (const byte of [0, 17, 31, 32, 50, 63]) {
      const bytes = Buffer.from(sig, 'hex');
      bytes[byte]! ^= 0x10;
      expect(await verifySignature(me.publicKey, message, bytes.toString('hex'))).toBe(false);
    }
  });

  it('answers false, never throws, for malformed keys and signatures', async () => {
    const me = await loadOrCreateIdentity(memoryStore());
    const sig = await me.sign(message);
    const offCurve = me.publicKey.slice(0, 128) + (me.publicKey.slice(128) === '00' ? '01' : '00');
    const cases: [string, string][] = [
      ['', sig],
      ['04', sig],
      [me.publicKey.toUpperCase(), sig],
      ['02' + me.publicKey.slice(2, 66), sig], // compressed form is not accepted
      [offCurve, sig],
      [me.publicKey, ''],
      [me.publicKey, sig.slice(2)],
      [me.publicKey, sig + '00'],
      [me.publicKey, 'zz' + sig.slice(2)],
      [me.publicKey, '00'.repeat(64)],
    ];
    for (const [key, s] of cases) expect(await verifySignature(key, message, s), `${key.slice(0, 8)}… / ${s.slice(0, 8)}…`).toBe(false);
  });

  it('refuses to name a malformed public key', () => {
    for (const key of ['', '04', '05' + '00'.repeat(64), 'not hex']) {
      expect(() => identityOf(key)).toThrow();
      try {
        identityOf(key);
      } catch (e) {
        expect(isTabgridError(e, 'bad-input')).toBe(true);
      }
    }
  });

  it('answers as WebCrypto does where Node verifies with node:crypto (high s, zero and out-of-range r or s, other keys and bytes)', async () => {
    // P-256's group order n: (r, n − s) verifies as (r, s) does (ECDSA's malleability); r or s ≥ n never does.
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const hex32 = (x: bigint) => x.toString(16).padStart(64, '0');
    const keys = [await loadOrCreateIdentity(memoryStore()), await loadOrCreateIdentity(memoryStore())];
    let agreed = 0;
    let valid = 0;
    for (let i = 0; i < 12; i++) {
      const signer = keys[i % 2]!;
      const bytes = new TextEncoder().encode(`unit ${i}`);
      const sig = await signer.sign(bytes);
      const [r, s] = [BigInt('0x' + sig.slice(0, 64)), BigInt('0x' + sig.slice(64))];
      const variants = [
        sig,
        hex32(r) + hex32(n - s),
        hex32(0n) + hex32(s),
        hex32(r) + hex32(0n),
        hex32(r + n) + hex32(s),
        hex32(r) + hex32(s + n),
        hex32(n) + hex32(s),
      ];
      for (const key of keys)
        for (const variant of variants) {
          if (variant.length !== 128) continue;
          const imported = await globalThis.crypto.subtle.importKey('raw', Buffer.from(key.publicKey, 'hex'), { name: 'ECDSA', namedCurve: 'P-256' }, false, [
            'verify',
          ]);
          const web = await globalThis.crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, imported, Buffer.from(variant, 'hex'), bytes);
          expect(await verifySignature(key.publicKey, bytes, variant), `${i} ${variant.slice(0, 8)}`).toBe(web);
          agreed++;
          if (web) valid++;
        }
    }
    // The originals and their (r, n − s) twins verified under the signer's key: the comparison saw both answers.
    expect(agreed).toBeGreaterThan(100);
    expect(valid).toBe(24);
  });
});
