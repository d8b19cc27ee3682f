import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/hex';
import { seededRandom } from '../../src/work/seeded';

describe('hex', () => {
  it('agrees with Node’s own hex both ways on random bytes of odd and even lengths', () => {
    const random = seededRandom(41);
    for (const length of [0, 1, 2, 3, 31, 32, 33, 65, 257]) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(random() * 256));
      const hex = Buffer.from(bytes).toString('hex');
      expect(toHex(bytes)).toBe(hex);
      expect(fromHex(hex)).toEqual(bytes);
    }
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromHex(toHex(every))).toEqual(every);
  });

  it('refuses anything but lower-case hex pairs, wherever the bad character sits', () => {
    for (const bad of ['0', 'abc', 'AB', '0g', 'g0', 'zz', '  ', '0x00', 'aé', 'é0', 'a\u0100', '00 0', '-1', '+1', '1.0'])
      expect(fromHex(bad), JSON.stringify(bad)).toBeUndefined();
    const good = 'ab'.repeat(40);
    for (let i = 0; i < good.length; i++) expect(fromHex(good.slice(0, i) + 'G' + good.slice(i + 1))).toBeUndefined();
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });
});
