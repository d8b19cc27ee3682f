import { describe, expect, it } from 'vitest';
import { FRAME_BYTES, FRAME_PAYLOAD, FrameAssembler, MAX_FRAMED_BYTES, encodeFrames, type Framed } from '../../src/net/frames';
import { bytesEqual } from '../../src/hex';
import { seededRandom } from '../../src/work/seeded';

function payload(length: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
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
      expect(out.at(-1)).toEqual({ text: data });
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
    expect(assembler.push(frames.at(-1)!)).toEqual({ text: data });
    expect(assembler.bufferedBytes).toBe(0);
  });

  it('assembles messages one after another on one channel', () => {
    const assembler = new FrameAssembler();
    for (let id = 1; id <= 3; id++) {
      const data = payload(40_000, id);
      const frames = encodeFrames(id, data);
      let got: Framed | undefined;
      for (const f of frames) got = assembler.push(f) ?? got;
      expect(got).toEqual({ text: data });
    }
  });

  it('refuses a corrupted chunk, a wrong digest, missing, repeated or interleaved frames, junk and oversize claims', () => {
    const data = payload(50_000);
    const frames = () => encodeFrames(1, data);
    const expectBad = (feed: (a: FrameAssembler) => void, why: RegExp) => {
      const a = new FrameAssembler();
      expect(() => feed(a)).toThrow(why);
      // The assembler recovers: a whole message afterwards goes through.
      let got: Framed | undefined;
      for (const f of encodeFrames(9, data)) got = a.push(f) ?? got;
      expect(got).toEqual({ text: data });
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

describe('data frames: a JSON text with a binary body', () => {
  const text = (s: string) => new TextEncoder().encode(s);
  const meta = text(JSON.stringify({ type: 'chunk', id: 3, index: 5, path: ['ab'.repeat(32)] }));
  /** Byte for byte (toEqual walks a big array element by element, slowly). */
  const expectSame = (got: Framed | undefined, want: Framed) => {
    expect(got && bytesEqual(got.text, want.text)).toBe(true);
    expect(got!.body === undefined ? want.body === undefined : want.body !== undefined && bytesEqual(got!.body, want.body)).toBe(true);
  };
  const assemble = (frames: ArrayBuffer[], assembler = new FrameAssembler()) => {
    let got: Framed | undefined;
    for (const f of frames) {
      expect(got).toBeUndefined(); // nothing comes out before the last frame
      got = assembler.push(f);
    }
    return got;
  };

  it('carry the text and the body whole, text and body in buffers of their own, for bodies of any size', () => {
    const CHUNK = 256 * 1024;
    for (const length of [0, 1, FRAME_PAYLOAD - meta.length - 4, FRAME_PAYLOAD - meta.length - 3, 3 * FRAME_PAYLOAD, CHUNK - 1, CHUNK]) {
      const body = payload(length, length + 1);
      const frames = encodeFrames(11, meta, body);
      expect(frames.length).toBe(Math.max(1, Math.ceil((4 + meta.length + length) / FRAME_PAYLOAD)));
      expect(frames.every((f) => f.byteLength <= FRAME_BYTES)).toBe(true);
      const got = assemble(frames);
      expectSame(got, { text: meta, body });
      // A kept body (a cached chunk) pins its own bytes, not the whole message's.
      expect(got!.body!.byteOffset).toBe(0);
      expect(got!.body!.buffer.byteLength).toBe(length);
    }
    // A text too long for one frame, with a body, and an empty text.
    const long = text('x'.repeat(3 * FRAME_PAYLOAD + 17));
    expect(assemble(encodeFrames(12, long, payload(1000)))).toEqual({ text: long, body: payload(1000) });
    expect(assemble(encodeFrames(13, new Uint8Array(0), payload(10)))).toEqual({ text: new Uint8Array(0), body: payload(10) });
  });

  it('interleave with text messages on one channel, each kind coming out as it went in', () => {
    const assembler = new FrameAssembler();
    const sent: Framed[] = [
      { text: payload(40_000, 1) },
      { text: meta, body: payload(300_000, 2) },
      { text: text('{"small":1}') },
      { text: meta, body: payload(5, 3) },
      { text: payload(20_000, 4) },
    ];
    sent.forEach((m, i) => expectSame(assemble(encodeFrames(i + 1, m.text, m.body), assembler), m));
  });

  it('are refused when corrupted in the text, truncated, cut off, of a mixed kind, lying about their text, or oversize', () => {
    const body = payload(50_000, 5);
    const frames = () => encodeFrames(1, meta, body);
    const expectBad = (feed: (a: FrameAssembler) => void, why: RegExp) => {
      const a = new FrameAssembler();
      expect(() => feed(a)).toThrow(why);
      // The assembler recovers: a whole message afterwards goes through.
      expectSame(assemble(encodeFrames(9, meta, body), a), { text: meta, body });
    };
    // The digest covers the text length and the text.
    expectBad((a) => {
      const f = frames();
      new Uint8Array(f[0]!)[52 + 4 + 3] ^= 1;
      for (const x of f) a.push(x);
    }, /digest/);
    expectBad((a) => {
      const f = frames();
      new Uint8Array(f[0]!)[52] ^= 1; // the text length
      for (const x of f) a.push(x);
    }, /digest|claims a text/);
    // A text length past the payload.
    expectBad((a) => {
      const f = encodeFrames(1, meta, new Uint8Array(0));
      new DataView(f[0]!).setUint32(52, meta.length + 1, true);
      a.push(f[0]!);
    }, /claims a text of/);
    // Truncated: the last frame short, or missing with the next message starting.
    expectBad((a) => {
      const f = frames();
      for (const x of f.slice(0, -1)) a.push(x);
      a.push(f.at(-1)!.slice(0, 100));
    }, /carries/);
    expectBad((a) => {
      const f = frames();
      for (const x of f.slice(0, -1)) a.push(x);
      a.push(encodeFrames(2, meta, body)[0]!);
    }, /cut off/);
    // A text frame cannot continue a data message, nor a data frame a text.
    expectBad((a) => {
      const d = frames();
      const t = encodeFrames(1, payload(50_000 + meta.length + 4));
      a.push(d[0]!);
      a.push(t[1]!);
    }, /out of order/);
    expectBad((a) => {
      const d = encodeFrames(1, meta, new Uint8Array(1)); // 4 + meta + 1 bytes: shorter than the digest's claim would need
      new DataView(d[0]!).setUint32(16, 2, true);
      a.push(d[0]!);
    }, /carries|no text length/);
    expectBad((a) => {
      const f = new Uint8Array(frames()[0]!);
      new DataView(f.buffer).setUint32(16, MAX_FRAMED_BYTES + 1, true);
      a.push(f);
    }, /exceeds/);
    expect(() => encodeFrames(1, meta, new Uint8Array(MAX_FRAMED_BYTES - 4 - meta.length + 1))).toThrow(/exceeds/);
    expect(encodeFrames(1, meta, new Uint8Array(MAX_FRAMED_BYTES - 4 - meta.length)).length).toBe(Math.ceil(MAX_FRAMED_BYTES / FRAME_PAYLOAD));
  });

  it('leave the body to its own proof: a flipped body byte comes through, for the chunk proof to catch', () => {
    const body = payload(50_000, 6);
    const f = encodeFrames(1, meta, body);
    new Uint8Array(f[2]!)[100] ^= 1;
    const got = assemble(f);
    expect(got!.text).toEqual(meta);
    expect(bytesEqual(got!.body!, body)).toBe(false);
  });
});
