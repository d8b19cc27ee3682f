import { describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { appendedChunks, finishedChunks, joinChunks } from '../../src/volunteer/store/chunks';
import { MemoryVolunteerStore } from '../../src/volunteer/store/memory-volunteer-store';
import type { ChunkRecord } from '../../src/volunteer/store/schema';
import { describeVolunteerStore } from '../helpers/volunteer-store-conformance';

describeVolunteerStore('MemoryVolunteerStore', async () => new MemoryVolunteerStore());

// The IndexedDB store's chunk layout, at a 4-byte chunk size so every case is small.
describe('chunk layout', () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  const chunk = (index: number, ...b: number[]): ChunkRecord => ({ hostId: 'h', unitId: 'u', index, bytes: bytes(...b) });

  it('appends at a chunk boundary as new chunks, the last one short', () => {
    expect(appendedChunks('h', 'u', 4, bytes(1, 2, 3, 4, 5, 6), undefined, 4)).toEqual([chunk(1, 1, 2, 3, 4), chunk(2, 5, 6)]);
    expect(appendedChunks('h', 'u', 8, bytes(), undefined, 4)).toEqual([]);
  });

  it('appends inside a chunk by topping up that chunk', () => {
    expect(appendedChunks('h', 'u', 6, bytes(7), bytes(5, 6), 4)).toEqual([chunk(1, 5, 6, 7)]);
    expect(appendedChunks('h', 'u', 6, bytes(7, 8, 9, 10, 11), bytes(5, 6), 4)).toEqual([chunk(1, 5, 6, 7, 8), chunk(2, 9, 10, 11)]);
  });

  it('stores copies, not views of the caller buffer', () => {
    const big = new Uint8Array(64);
    const [first] = appendedChunks('h', 'u', 0, big.subarray(8, 12), undefined, 4);
    expect(first!.bytes.buffer.byteLength).toBe(4);
  });

  it('refuses to top up a tail chunk of the wrong length', () => {
    let err: unknown;
    try {
      appendedChunks('h', 'u', 6, bytes(7), bytes(5), 4);
    } catch (e) {
      err = e;
    }
    expect(isTabgridError(err, 'storage')).toBe(true);
  });

  it('keeps matching stored chunks when finishing, and rewrites from the first difference', () => {
    const stored = [chunk(0, 1, 2, 3, 4), chunk(1, 5, 6, 7, 8), chunk(2, 9)];
    expect(finishedChunks('h', 'u', stored, bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 4)).toEqual({ records: [chunk(2, 9, 10)], count: 3 });
    expect(finishedChunks('h', 'u', stored, bytes(1, 2, 3, 4, 0, 6, 7, 8, 9), 4)).toEqual({ records: [chunk(1, 0, 6, 7, 8), chunk(2, 9)], count: 3 });
    expect(finishedChunks('h', 'u', stored, bytes(1, 2), 4)).toEqual({ records: [chunk(0, 1, 2)], count: 1 });
    expect(finishedChunks('h', 'u', stored, bytes(), 4)).toEqual({ records: [], count: 0 });
  });

  it('joins chunks, and refuses a gap or a length that disagrees with the record', () => {
    expect(joinChunks('u', [chunk(0, 1, 2, 3, 4), chunk(1, 5)], 5, 4)).toEqual(bytes(1, 2, 3, 4, 5));
    expect(joinChunks('u', [], 0, 4)).toEqual(bytes());
    for (const [chunks, n] of [
      [[chunk(0, 1, 2, 3, 4), chunk(2, 5)], 5],
      [[chunk(0, 1, 2, 3, 4)], 5],
      [[chunk(0, 1, 2)], 3],
    ] as const) {
      let err: unknown;
      try {
        joinChunks('u', chunks, n, 4);
      } catch (e) {
        err = e;
      }
      expect(isTabgridError(err, 'storage'), `${n}`).toBe(true);
    }
  });
});
