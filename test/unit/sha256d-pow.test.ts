import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { fromHex, toHex } from '../../src/hex';
import { sha256Ref } from '../../src/hash/sha256-ref';
import {
  PowHasher,
  meetsTarget,
  midstate,
  powSearchCpu,
  powSearchCpuFast,
  sha256d,
  targetFromBits,
  targetFromLeadingZeroBits,
  targetWords,
} from '../../src/kernels/sha256d-pow/pow';
import { seededRandom } from '../../src/work/seeded';

const GENESIS_HEADER = fromHex(
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
)!;
const GENESIS_HASH = '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';
const GENESIS_NONCE = 2083236893;

/** Bitcoin shows hashes and targets byte-reversed: most significant byte first. */
const display = (bytes: Uint8Array) => toHex(bytes.slice().reverse());

function randomHeader(random: () => number): Uint8Array {
  return Uint8Array.from({ length: 80 }, () => Math.floor(random() * 256));
}

const badInput = { code: ErrorCode.BadInput };

describe('sha256d proof-of-work reference', () => {
  it('double-hashes the Bitcoin genesis header to the genesis block hash', () => {
    expect(GENESIS_HEADER.length).toBe(80);
    expect(new DataView(GENESIS_HEADER.buffer).getUint32(76, true)).toBe(GENESIS_NONCE);
    expect(display(sha256d(GENESIS_HEADER))).toBe(GENESIS_HASH);
    expect(display(new PowHasher(GENESIS_HEADER).hash(GENESIS_NONCE))).toBe(GENESIS_HASH);
  });

  it('decodes compact nBits as Bitcoin does', () => {
    const zeros = (bytes: number) => '00'.repeat(bytes);
    expect(display(targetFromBits(0x1d00ffff))).toBe(`00000000ffff${zeros(26)}`);
    expect(display(targetFromBits(0x1b0404cb))).toBe(`00000000000404cb${zeros(24)}`);
    expect(display(targetFromBits(0x01123456))).toBe(`${zeros(31)}12`);
    expect(display(targetFromBits(0x02123456))).toBe(`${zeros(30)}1234`);
    expect(display(targetFromBits(0x03123456))).toBe(`${zeros(29)}123456`);
    expect(display(targetFromBits(0x04123456))).toBe(`${zeros(28)}12345600`);
    expect(display(targetFromBits(0x05009234))).toBe(`${zeros(28)}92340000`);
    expect(display(targetFromBits(0x20123456))).toBe(`123456${zeros(29)}`);
    expect(display(targetFromBits(0x21003456))).toBe(`3456${zeros(30)}`);
    expect(display(targetFromBits(0x00123456))).toBe(zeros(32));
    expect(display(targetFromBits(0x00800000))).toBe(zeros(32)); // sign bit without a mantissa is zero, not negative
    expect(() => targetFromBits(0x04923456)).toThrow(expect.objectContaining(badInput)); // negative
    expect(() => targetFromBits(0x21123456)).toThrow(expect.objectContaining(badInput)); // above 2^256
    expect(() => targetFromBits(2 ** 32)).toThrow(expect.objectContaining(badInput));
  });

  it('makes leading-zero-bit targets that a hash meets exactly when its top bits are zero', () => {
    expect(display(targetFromLeadingZeroBits(0))).toBe('ff'.repeat(32));
    expect(display(targetFromLeadingZeroBits(256))).toBe('00'.repeat(32));
    expect(display(targetFromLeadingZeroBits(12))).toBe(`000f${'ff'.repeat(30)}`);
    expect(display(targetFromLeadingZeroBits(32))).toBe(`00000000${'ff'.repeat(28)}`);
    // The genesis hash shows 43 leading zero bits (00000000 0019…: 32 + 11).
    const hash = sha256d(GENESIS_HEADER);
    expect(meetsTarget(hash, targetFromLeadingZeroBits(43))).toBe(true);
    expect(meetsTarget(hash, targetFromLeadingZeroBits(44))).toBe(false);
    expect(() => targetFromLeadingZeroBits(257)).toThrow(expect.objectContaining(badInput));
    expect(() => targetFromLeadingZeroBits(-1)).toThrow(expect.objectContaining(badInput));
  });

  it('compares hashes as little-endian integers, equality meeting the target', () => {
    const target = targetFromBits(0x1d00ffff);
    expect(meetsTarget(target, target)).toBe(true);
    const above = target.slice();
    above[0] = 1; // least significant byte: just above
    expect(meetsTarget(above, target)).toBe(false);
    const below = target.slice();
    below[26] = 0xfe;
    below.fill(0xff, 0, 26); // lower bytes do not matter once a higher byte is smaller
    expect(meetsTarget(below, target)).toBe(true);
    // Words, as the kernel and PowHasher compare them, agree with the bytes.
    expect(targetWords(target)[6]).toBe(0xffff0000); // display 00000000 ffff0000 …
    expect(targetWords(target)[7]).toBe(0);
  });

  it('computes the midstate as the state after the first block', () => {
    // With "abc" plus its padding as the first block, the state after it is SHA-256("abc").
    const header = new Uint8Array(80).fill(0x5a);
    header.fill(0, 0, 64);
    header.set([0x61, 0x62, 0x63, 0x80]);
    header[63] = 24;
    const words = Array.from(midstate(header), (w) => w.toString(16).padStart(8, '0')).join('');
    expect(words).toBe(toHex(sha256Ref(new TextEncoder().encode('abc'))));
  });

  it('finds the genesis nonce as the one solution in a range around it', async () => {
    const target = targetFromBits(0x1d00ffff);
    const shareTarget = targetFromLeadingZeroBits(8);
    const result = powSearchCpu(GENESIS_HEADER, GENESIS_NONCE - 1000, 2001, target, shareTarget);
    expect(result.solutions).toEqual([GENESIS_NONCE]);
    expect(result.searched).toBe(2001);
    expect(result.shares).toContain(GENESIS_NONCE);
    expect(result.shares.length).toBeGreaterThan(1); // about 2001/256 shares expected
    expect(result.shares).toEqual([...result.shares].sort((a, b) => a - b));
    const missed = powSearchCpu(GENESIS_HEADER, GENESIS_NONCE + 1, 500, target, shareTarget);
    expect(missed.solutions).toEqual([]);
    // A hash equal to the target meets it, in both searches.
    const exact = sha256d(GENESIS_HEADER);
    const tight = { shares: [GENESIS_NONCE], solutions: [GENESIS_NONCE], searched: 200 };
    expect(powSearchCpu(GENESIS_HEADER, GENESIS_NONCE - 100, 200, exact, exact)).toEqual(tight);
    expect(await powSearchCpuFast(GENESIS_HEADER, GENESIS_NONCE - 100, 200, exact, exact)).toEqual(tight);
  });

  it('fast search equals the reference on random headers, including the top of the nonce range', async () => {
    const random = seededRandom(2024);
    const shareTarget = targetFromLeadingZeroBits(8);
    const target = targetFromLeadingZeroBits(11);
    const ranges = [
      [0, 3000],
      [123_456_789, 2999],
      [2 ** 32 - 1500, 1500], // ends exactly at 2^32: nonce 0xffffffff is tried
      [0x7fffff00, 700], // crosses 2^31, where a signed word would go negative
    ] as const;
    let shares = 0;
    for (const [start, count] of ranges) {
      const header = randomHeader(random);
      const ref = powSearchCpu(header, start, count, target, shareTarget);
      const fast = await powSearchCpuFast(header, start, count, target, shareTarget, { chunk: 777 });
      expect(fast, `range ${start}+${count}`).toEqual(ref);
      shares += ref.shares.length;
      for (const nonce of ref.shares.slice(0, 3)) {
        const withNonce = header.slice();
        new DataView(withNonce.buffer).setUint32(76, nonce, true);
        expect(new PowHasher(header).hash(nonce)).toEqual(sha256d(withNonce));
      }
    }
    expect(shares).toBeGreaterThan(10); // the comparison covered real shares, not just empty lists
  });

  it('reports progress to the end and stops when aborted', async () => {
    const random = seededRandom(3);
    const header = randomHeader(random);
    const easy = targetFromLeadingZeroBits(4);
    const progress: number[] = [];
    await powSearchCpuFast(header, 10, 1000, easy, easy, { chunk: 300, onProgress: (done) => progress.push(done) });
    expect(progress).toEqual([300, 600, 900, 1000]);
    const controller = new AbortController();
    const run = powSearchCpuFast(header, 0, 10_000, easy, easy, {
      chunk: 100,
      signal: controller.signal,
      onProgress: (done) => done >= 200 && controller.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    // An abort from elsewhere (a timer here, a worker message in use) gets in between chunks.
    const later = new AbortController();
    setTimeout(() => later.abort(), 0);
    let reached = 0;
    const timed = powSearchCpuFast(header, 0, 200_000, easy, easy, { chunk: 1000, signal: later.signal, onProgress: (done) => (reached = done) });
    await expect(timed).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(reached).toBeLessThan(200_000);
    expect(() => powSearchCpu(header, 0, 10, easy, easy, { signal: controller.signal })).toThrow(expect.objectContaining({ code: ErrorCode.Aborted }));
  });

  it('refuses bad headers, targets and ranges with bad-input', async () => {
    const header = new Uint8Array(80);
    const t = targetFromLeadingZeroBits(20);
    const easy = targetFromLeadingZeroBits(8);
    const cases: [string, () => unknown][] = [
      ['short header', () => powSearchCpu(new Uint8Array(79), 0, 1, t, easy)],
      ['long header', () => powSearchCpu(new Uint8Array(81), 0, 1, t, easy)],
      ['short target', () => powSearchCpu(header, 0, 1, new Uint8Array(31), easy)],
      ['short share target', () => powSearchCpu(header, 0, 1, t, new Uint8Array(33))],
      ['range past 2^32', () => powSearchCpu(header, 2 ** 32 - 10, 11, t, easy)],
      ['negative start', () => powSearchCpu(header, -1, 1, t, easy)],
      ['fractional count', () => powSearchCpu(header, 0, 1.5, t, easy)],
      ['share target below target', () => powSearchCpu(header, 0, 1, easy, t)],
      ['zero chunk', () => powSearchCpu(header, 0, 1, t, easy, { chunk: 0 })],
      ['midstate of a short header', () => midstate(new Uint8Array(64))],
    ];
    for (const [name, run] of cases) expect(run, name).toThrow(expect.objectContaining(badInput));
    await expect(powSearchCpuFast(header, 2 ** 32, 1, t, easy)).rejects.toMatchObject(badInput);
    // Edges that are fine: an empty range, a range ending at 2^32, equal targets.
    expect(powSearchCpu(header, 2 ** 32, 0, t, t)).toEqual({ shares: [], solutions: [], searched: 0 });
  });
});
