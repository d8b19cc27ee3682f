import { ErrorCode, TabgridError } from '../errors';
import { bytesEqual } from '../hex';
import { sha256Ref } from '../hash/sha256-ref';

/**
 * Messages too long for one data-channel message, and every data message (a JSON text with a
 * binary body, such as a dataset chunk), travel as binary frames of at most 16 KiB (the size
 * every WebRTC stack delivers whole), each carrying a SHA-256 the receiver checks before it
 * hands the message on.
 *
 *   0  magic           4  message id (u32 LE)   8  frame index   12  frame count
 *   16 payload bytes   20 SHA-256 (32 bytes)    52  this frame's chunk of the payload
 *
 * 'TGF1' frames carry a text: the payload is its UTF-8, and the SHA-256 is the payload's.
 * 'TGD1' frames carry a data message: the payload is [u32 LE text length][text UTF-8][body],
 * and the SHA-256 covers the length and the text only. The body is not hashed here: the one
 * body the protocol sends, a dataset chunk, carries its own Merkle audit path, which its
 * receiver checks against the dataset's root, and hashing 256 KiB more with the pure-JS
 * SHA-256 on both ends costs more than the transfer itself (bench: `npm run bench`).
 */
export const FRAME_BYTES = 16 * 1024;
const HEADER = 52;
export const FRAME_PAYLOAD = FRAME_BYTES - HEADER;
/** The longest framed payload a receiver assembles (bounds its memory per peer): a whole 256 KiB chunk with its meta fits many times. */
export const MAX_FRAMED_BYTES = 2 * 1024 * 1024;
const TEXT_MAGIC = 0x31464754; // 'TGF1' read little-endian
const DATA_MAGIC = 0x31444754; // 'TGD1' read little-endian
/** A data message's payload starts with its text's length. */
const TEXT_LENGTH_BYTES = 4;

/** A whole message off the frames: a text's UTF-8, or a data message's text and its body. */
export interface Framed {
  readonly text: Uint8Array;
  readonly body?: Uint8Array;
}

/**
 * Cuts a message into frames: `text` alone as a text message, or `text` with `body` as a data
 * message (even an empty body makes it one). Throws bad-input over MAX_FRAMED_BYTES.
 */
export function encodeFrames(id: number, text: Uint8Array, body?: Uint8Array): ArrayBuffer[] {
  const length = body === undefined ? text.length : TEXT_LENGTH_BYTES + text.length + body.length;
  if (length > MAX_FRAMED_BYTES) throw new TabgridError(ErrorCode.BadInput, `message of ${length} bytes exceeds ${MAX_FRAMED_BYTES}`);
  let payload = text;
  let digest: Uint8Array;
  if (body === undefined) digest = sha256Ref(text);
  else {
    payload = new Uint8Array(length);
    new DataView(payload.buffer).setUint32(0, text.length, true);
    payload.set(text, TEXT_LENGTH_BYTES);
    payload.set(body, TEXT_LENGTH_BYTES + text.length);
    digest = sha256Ref(payload.subarray(0, TEXT_LENGTH_BYTES + text.length));
  }
  const magic = body === undefined ? TEXT_MAGIC : DATA_MAGIC;
  const count = Math.max(1, Math.ceil(length / FRAME_PAYLOAD));
  const frames: ArrayBuffer[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = payload.subarray(i * FRAME_PAYLOAD, (i + 1) * FRAME_PAYLOAD);
    const frame = new Uint8Array(HEADER + chunk.length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, magic, true);
    view.setUint32(4, id >>> 0, true);
    view.setUint32(8, i, true);
    view.setUint32(12, count, true);
    view.setUint32(16, length, true);
    frame.set(digest, 20);
    frame.set(chunk, HEADER);
    frames.push(frame.buffer);
  }
  return frames;
}

/**
 * Puts frames back together. The channel is reliable and ordered, so a message's frames come
 * in order and unmixed; anything else is a broken or hostile peer: the partial message is
 * dropped and push() throws bad-message.
 */
export class FrameAssembler {
  /** The message being assembled: its chunks as they came, so a peer pins what it sent, not the length it claims. */
  private current?: { magic: number; id: number; count: number; length: number; digest: Uint8Array; next: number; chunks: Uint8Array[]; received: number };

  /** Bytes of the message in assembly (0 between messages). */
  get bufferedBytes(): number {
    return this.current?.received ?? 0;
  }

  /** Adds one frame; returns the whole message when this frame completes it. */
  push(frame: ArrayBuffer | ArrayBufferView): Framed | undefined {
    const bytes = frame instanceof ArrayBuffer ? new Uint8Array(frame) : new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
    try {
      return this.take(bytes);
    } catch (err) {
      this.current = undefined;
      throw err;
    }
  }

  private take(bytes: Uint8Array): Framed | undefined {
    if (bytes.length < HEADER || bytes.length > FRAME_BYTES) bad(`${bytes.length} bytes`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magic = view.getUint32(0, true);
    if (magic !== TEXT_MAGIC && magic !== DATA_MAGIC) bad('not a tabgrid frame');
    const id = view.getUint32(4, true);
    const index = view.getUint32(8, true);
    const count = view.getUint32(12, true);
    const length = view.getUint32(16, true);
    const chunk = bytes.subarray(HEADER);
    if (length > MAX_FRAMED_BYTES) bad(`message of ${length} bytes exceeds ${MAX_FRAMED_BYTES}`);
    if (count !== Math.max(1, Math.ceil(length / FRAME_PAYLOAD))) bad(`${count} frames cannot carry ${length} bytes`);
    if (index === 0) {
      if (this.current) bad(`message ${this.current.id} was cut off by message ${id}`);
      this.current = { magic, id, count, length, digest: bytes.slice(20, HEADER), next: 0, chunks: [], received: 0 };
    }
    const m = this.current ?? bad(`frame ${index} of message ${id} without its start`);
    if (magic !== m.magic || id !== m.id || index !== m.next || count !== m.count || length !== m.length)
      bad(`frame ${index}/${count} of message ${id} out of order`);
    const expected = Math.min(FRAME_PAYLOAD, length - index * FRAME_PAYLOAD);
    if (chunk.length !== expected) bad(`frame ${index} carries ${chunk.length} bytes, not ${expected}`);
    m.chunks.push(chunk.slice());
    m.received += chunk.length;
    m.next++;
    if (m.next < m.count) return undefined;
    this.current = undefined;
    if (m.magic === TEXT_MAGIC) {
      const text = gather(m.chunks, 0, m.length);
      if (!bytesEqual(sha256Ref(text), m.digest)) bad(`message ${id} does not match its digest`);
      return { text };
    }
    if (m.length < TEXT_LENGTH_BYTES) bad(`data message ${id} of ${m.length} bytes has no text length`);
    const textLength = new DataView(m.chunks[0]!.buffer).getUint32(0, true);
    if (textLength > m.length - TEXT_LENGTH_BYTES) bad(`data message ${id} claims a text of ${textLength} bytes in ${m.length}`);
    const head = gather(m.chunks, 0, TEXT_LENGTH_BYTES + textLength);
    if (!bytesEqual(sha256Ref(head), m.digest)) bad(`message ${id} does not match its digest`);
    // Text and body each in a buffer of their own: a body kept (a cached chunk) holds nothing else.
    return { text: head.slice(TEXT_LENGTH_BYTES), body: gather(m.chunks, TEXT_LENGTH_BYTES + textLength, m.length) };
  }
}

function bad(why: string): never {
  throw new TabgridError(ErrorCode.BadMessage, `bad frame: ${why}`);
}

/** Bytes [from, to) of the payload that `chunks` (all FRAME_PAYLOAD long but the last) make up, in a buffer of their own. */
function gather(chunks: readonly Uint8Array[], from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  for (let i = Math.floor(from / FRAME_PAYLOAD); i < chunks.length && i * FRAME_PAYLOAD < to; i++) {
    const start = i * FRAME_PAYLOAD;
    const piece = chunks[i]!.subarray(Math.max(0, from - start), Math.min(chunks[i]!.length, to - start));
    out.set(piece, Math.max(0, start - from));
  }
  return out;
}
