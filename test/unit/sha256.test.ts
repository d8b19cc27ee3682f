import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/hex';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { sha256Blocks, sha256Ref } from '../../src/hash/sha256-ref';
import { seededRandom } from '../../src/work/seeded';

const text = (s: string) => new TextEncoder().encode(s);

// FIPS 180-2 appendix B and the NIST CSRC example values.
const NIST = [
  { name: 'empty string', input: text(''), digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  { name: '"abc"', input: text('abc'), digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
  {
    name: '448-bit message',
    input: text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    digest: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  },
  {
    name: '896-bit message',
    input: text('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
    digest: 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  },
  { name: "a million 'a's", input: new Uint8Array(1_000_000).fill(0x61), digest: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0' },
];

function randomBytes(length: number, random: () => number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

describe('SHA-256 reference (sha256Ref)', () => {
  for (const v of NIST) {
    it(`matches the NIST vector for the ${v.name}`, () => {
      expect(toHex(sha256Ref(v.input))).toBe(v.digest);
    });
  }

  it('hashes the concatenation of its parts', () => {
    expect(toHex(sha256Ref(text('a'), text(''), text('bc')))).toBe(NIST[1]!.digest);
  });

  it('agrees with node:crypto on every length around the block and padding boundaries', () => {
    const random = seededRandom(7);
    for (let length = 0; length <= 200; length++) {
      const input = randomBytes(length, random);
      expect(toHex(sha256Ref(input)), `length ${length}`).toBe(createHash('sha256').update(input).digest('hex'));
    }
  });

  it('counts compression blocks as the padding rule gives them', () => {
    expect([0, 55, 56, 63, 64, 119, 120].map(sha256Blocks)).toEqual([1, 1, 2, 2, 2, 2, 3]);
  });
});

describe('CPU SHA-256 (hash-wasm)', () => {
  it('matches the NIST vectors and the reference on random input', async () => {
    const hash = await createCpuSha256();
    for (const v of NIST) expect(toHex(hash(v.input))).toBe(v.digest);
    const random = seededRandom(11);
    for (let i = 0; i < 64; i++) {
      const input = randomBytes(Math.floor(random() * 300), random);
      expect(hash(input)).toEqual(sha256Ref(input));
    }
  });
});

describe('hex', () => {
  it('round-trips and refuses what is not lower-case hex', () => {
    const bytes = Uint8Array.from([0, 1, 0x7f, 0x80, 0xfe, 0xff]);
    expect(toHex(bytes)).toBe('00017f80feff');
    expect(fromHex('00017f80feff')).toEqual(bytes);
    expect(fromHex('abc')).toBeUndefined();
    expect(fromHex('0G')).toBeUndefined();
    expect(fromHex('AB')).toBeUndefined();
    expect(fromHex('')).toEqual(new Uint8Array());
  });
});
