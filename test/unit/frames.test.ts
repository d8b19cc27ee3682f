import { describe, expect, it } from 'vitest';
import { FRAME_BYTES, FRAME_PAYLOAD, FrameAssembler, MAX_FRAMED_BYTES, encodeFrames } from '../../src/net/frames';
import { seededRandom } from '../../src/work/seeded';

function payload(length: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

describe('binary frames', () => {
  it('split any payload into frames of at most 16 KiB and put it back together', () => {
    for (const length of [0, 1, FRAME_PAYLOAD - 1, FRAME_PAYLOAD, FRAME_PAYLOAD + 1, 3 * FRAME_PAYLOAD, 300_001]) {
      const data = payload(length, length);
      const frames = encodeFrames(7, data);
      expect(frames.length).toBe(Math.max(1, Math.ceil(length / FRAME_PAYLOAD)));
      expect(frames.every((f) => f.byteLength <= FRAME_BYTES)).toBe(true);
      const assembler = new FrameAssembler();
      const out = frames.map((f) => assembler.push(f));
      expect(out.slice(0, -1).every((o) => o === undefined)).toBe(true);
      expect(out.at(-1)).toEqual(data);
    }
  });

  it('holds what a peer sent, not the length its first frame claims', () => {
    const data = payload(300_001, 3);
    const frames = encodeFrames(9, data);
    const assembler = new FrameAssembler();
    // A peer opens a 300 kB message with one frame and stops: one frame is held, not 300 kB (nor, with a claim of MAX_FRAMED_BYTES, 2 MiB).
    assembler.push(frames[0]!);
    expect(assembler.bufferedBytes).toBe(FRAME_PAYLOAD);
    for (const f of frames.slice(1, -1)) assembler.push(f);
    expect(assembler.bufferedBytes).toBe(FRAME_PAYLOAD * (frames.length - 1));
    expect(assembler.push(frames.at(-1)!)).toEqual(data);
    expect(assembler.bufferedBytes).toBe(0);
  });

  it('assembles messages one after another on one channel', () => {
    const assembler = new FrameAssembler();
    for (let id = 1; id <= 3; id++) {
      const data = payload(40_000, id);
      const frames = encodeFrames(id, data);
      let got: Uint8Array | undefined;
      for (const f of frames) got = assembler.push(f) ?? got;
      expect(got).toEqual(data);
    }
  });

  it('refuses a corrupted chunk, a wrong digest, missing, repeated or interleaved frames, junk and oversize claims', () => {
    const data = payload(50_000);
    const frames = () => encodeFrames(1, data);
    const expectBad = (feed: (a: FrameAssembler) => void, why: RegExp) => {
      const a = new FrameAssembler();
      expect(() => feed(a)).toThrow(why);
      // The assembler recovers: a whole message afterwards goes through.
      let got: Uint8Array | undefined;
      for (const f of encodeFrames(9, data)) got = a.push(f) ?? got;
      expect(got).toEqual(data);
    };
    expectBad((a) => {
      const f = frames();
      new Uint8Array(f[2]!)[100] ^= 1;
      for (const x of f) a.push(x);
    }, /digest/);
    expectBad((a) => {
      const f = frames();
      a.push(f[0]!);
      a.push(f[2]!);
    }, /out of order/);
    expectBad((a) => {
      const f = frames();
      a.push(f[0]!);
      a.push(f[0]!);
    }, /cut off/);
    expectBad((a) => {
      a.push(frames()[0]!);
      a.push(encodeFrames(2, data)[0]!);
    }, /cut off/);
    expectBad((a) => a.push(frames()[1]!), /without its start/);
    expectBad((a) => a.push(new Uint8Array(100)), /not a tabgrid frame/);
    expectBad((a) => a.push(new Uint8Array(10)), /10 bytes/);
    expectBad((a) => {
      const f = new Uint8Array(frames()[0]!);
      new DataView(f.buffer).setUint32(16, MAX_FRAMED_BYTES + 1, true);
      a.push(f);
    }, /exceeds/);
    expectBad((a) => {
      const f = new Uint8Array(frames()[0]!.slice(0, 1000));
      a.push(f);
    }, /carries/);
    expect(() => encodeFrames(1, new Uint8Array(MAX_FRAMED_BYTES + 1))).toThrow(/exceeds/);
  });
});
