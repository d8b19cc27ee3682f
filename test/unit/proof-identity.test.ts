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
});
