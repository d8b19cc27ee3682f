import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/hex';
import { batchMessage, packMessages, validateBatch } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { mix32, seededMessage, seededRandom } from '../../src/work/seeded';

describe('seeded unit inputs', () => {
  it('mix32 equals lowbias32 computed in exact BigInt arithmetic', () => {
    const M = (1n << 32n) - 1n;
    const ref = (v: number) => {
      let x = BigInt(v);
      x ^= x >> 16n;
      x = (x * 0x7feb352dn) & M;
      x ^= x >> 15n;
      x = (x * 0x846ca68bn) & M;
      x ^= x >> 16n;
      return Number(x);
    };
    const random = seededRandom(1);
    for (const v of [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff]) expect(mix32(v)).toBe(ref(v));
    for (let i = 0; i < 2000; i++) {
      const v = Math.floor(random() * 2 ** 32);
      expect(mix32(v)).toBe(ref(v));
    }
  });

  it('are pinned: the host and every volunteer derive the same bytes forever', () => {
    // Changing these bytes changes every job's data: that needs a protocol version bump.
    expect(toHex(seededMessage(2026, 7, 10))).toBe('06f6119c73c4553cf7fe');
  });

  it('give each message its own bytes, and a prefix for a shorter length', () => {
    const a = seededMessage(1, 0, 64);
    const b = seededMessage(1, 1, 64);
    const c = seededMessage(2, 0, 64);
    expect(toHex(a)).not.toBe(toHex(b));
    expect(toHex(a)).not.toBe(toHex(c));
    expect(toHex(seededMessage(1, 0, 13))).toBe(toHex(a.subarray(0, 13)));
  });

  it('mix32 is a bijection on a sample (no collisions in 200k values)', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200_000; i++) seen.add(mix32(i * 2654435761));
    expect(seen.size).toBe(200_000);
  });

  it('seededRandom is reproducible and in [0, 1)', () => {
    const r1 = seededRandom(9);
    const r2 = seededRandom(9);
    for (let i = 0; i < 1000; i++) {
      const v = r1();
      expect(v).toBe(r2());
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });
});

describe('message batches', () => {
  it('pack messages word-aligned and read them back', () => {
    const msgs = [new Uint8Array([1, 2, 3]), new Uint8Array(), new Uint8Array([4, 5, 6, 7, 8])];
    const batch = packMessages(msgs);
    expect([...batch.offsets]).toEqual([0, 4, 4]);
    expect(batch.data.length).toBe(12);
    msgs.forEach((m, i) => expect(batchMessage(batch, i)).toEqual(m));
    validateBatch(batch);
  });

  it('seededBatch lays out the seeded messages', () => {
    const batch = seededBatch(77, 5, 10);
    for (let i = 0; i < 5; i++) expect(batchMessage(batch, i)).toEqual(seededMessage(77, i, 10));
  });

  it('refuses batches that would read outside their data or are misaligned', () => {
    const batch = packMessages([new Uint8Array(8)]);
    expect(() => validateBatch({ ...batch, lengths: Uint32Array.of(9) })).toThrow(/outside/);
    expect(() => validateBatch({ ...batch, offsets: Uint32Array.of(2) })).toThrow(/misaligned/);
    expect(() => validateBatch({ ...batch, offsets: new Uint32Array(0), lengths: new Uint32Array(0) })).toThrow(/at least one/);
    expect(() => seededBatch(1, 0, 4)).toThrow(/count/);
    expect(() => packMessages([new Uint8Array((1 << 20) + 1)])).toThrow(/length/);
  });
});
