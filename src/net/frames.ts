import { ErrorCode, TabgridError } from '../errors';
import { bytesEqual } from '../hex';
import { sha256Ref } from '../hash/sha256-ref';

/**
 * Messages too long for one data-channel message travel as binary frames of at most 16 KiB
 * (the size every WebRTC stack delivers whole), each carrying the SHA-256 of the whole
 * payload, which the receiver checks before it hands the message on.
 *
 *   0  'TGF1'          4  message id (u32 LE)   8  frame index   12  frame count
 *   16 payload bytes   20 SHA-256 of the payload (32 bytes)      52  this frame's chunk
 */
export const FRAME_BYTES = 16 * 1024;
const HEADER = 52;
export const FRAME_PAYLOAD = FRAME_BYTES - HEADER;
/** The longest framed payload a receiver assembles (bounds its memory per peer). */
export const MAX_FRAMED_BYTES = 2 * 1024 * 1024;
const MAGIC = 0x31464754; // 'TGF1' read little-endian

export function encodeFrames(id: number, payload: Uint8Array): ArrayBuffer[] {
  if (payload.length > MAX_FRAMED_BYTES) throw new TabgridError(ErrorCode.BadInput, `message of ${payload.length} bytes exceeds ${MAX_FRAMED_BYTES}`);
  const digest = sha256Ref(payload);
  const count = Math.max(1, Math.ceil(payload.length / FRAME_PAYLOAD));
  const frames: ArrayBuffer[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = payload.subarray(i * FRAME_PAYLOAD, (i + 1) * FRAME_PAYLOAD);
    const frame = new Uint8Array(HEADER + chunk.length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, id >>> 0, true);
    view.setUint32(8, i, true);
    view.setUint32(12, count, true);
    view.setUint32(16, payload.length, true);
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
  private current?: { id: number; count: number; length: number; digest: Uint8Array; next: number; chunks: Uint8Array[]; received: number };

  /** Bytes of the message in assembly (0 between messages). */
  get bufferedBytes(): number {
    return this.current?.received ?? 0;
  }

  /** Adds one frame; returns the whole payload when this frame completes it. */
  push(frame: ArrayBuffer | ArrayBufferView): Uint8Array | undefined {
    const bytes = frame instanceof ArrayBuffer ? new Uint8Array(frame) : new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
    try {
      return this.take(bytes);
    } catch (err) {
      this.current = undefined;
      throw err;
    }
  }

  private take(bytes: Uint8Array): Uint8Array | undefined {
    const bad = (why: string): never => {
      throw new TabgridError(ErrorCode.BadMessage, `bad frame: ${why}`);
    };
    if (bytes.length < HEADER || bytes.length > FRAME_BYTES) bad(`${bytes.length} bytes`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== MAGIC) bad('not a tabgrid frame');
    const id = view.getUint32(4, true);
    const index = view.getUint32(8, true);
    const count = view.getUint32(12, true);
    const length = view.getUint32(16, true);
    const chunk = bytes.subarray(HEADER);
    if (length > MAX_FRAMED_BYTES) bad(`message of ${length} bytes exceeds ${MAX_FRAMED_BYTES}`);
    if (count !== Math.max(1, Math.ceil(length / FRAME_PAYLOAD))) bad(`${count} frames cannot carry ${length} bytes`);
    if (index === 0) {
      if (this.current) bad(`message ${this.current.id} was cut off by message ${id}`);
      this.current = { id, count, length, digest: bytes.slice(20, HEADER), next: 0, chunks: [], received: 0 };
    }
    const m = this.current ?? bad(`frame ${index} of message ${id} without its start`);
    if (id !== m.id || index !== m.next || count !== m.count || length !== m.length) bad(`frame ${index}/${count} of message ${id} out of order`);
    const expected = Math.min(FRAME_PAYLOAD, length - index * FRAME_PAYLOAD);
    if (chunk.length !== expected) bad(`frame ${index} carries ${chunk.length} bytes, not ${expected}`);
    m.chunks.push(chunk.slice());
    m.received += chunk.length;
    m.next++;
    if (m.next < m.count) return undefined;
    this.current = undefined;
    const data = new Uint8Array(m.length);
    for (let i = 0; i < m.chunks.length; i++) data.set(m.chunks[i]!, i * FRAME_PAYLOAD);
    if (!bytesEqual(sha256Ref(data), m.digest)) bad(`message ${id} does not match its digest`);
    return data;
  }
}
