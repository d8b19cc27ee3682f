import type { DataConnection } from 'peerjs';
import { FRAME_BYTES, FrameAssembler, encodeFrames } from './frames';
import { mainTimers, type Timers } from '../timers';

/**
 * One message channel to one peer. The protocol code talks to this, not to PeerJS, so it runs
 * the same over a data connection, in a test over an in-memory pair, or through a relay.
 */
export interface Link {
  readonly peer: string;
  send(text: string): void;
  /** Sends a data message: a JSON text with a binary body (a dataset chunk's bytes), in order with the texts. */
  sendData(text: string, body: Uint8Array): void;
  close(): void;
  /** Over PeerJS (connect.ts): whether our peer is on the signaling server now, and rejoining it if it dropped. */
  readonly signaling?: boolean;
  resignal?(): void;
}

export interface LinkHandlers {
  /**
   * A message: its text, and the body when it came as a data message. `text` is a string for
   * a whole message and anything else for a broken one, which the validator refuses.
   */
  onText(text: unknown, body?: Uint8Array): void;
  onClose(): void;
}

/** Options every tabgrid data connection uses: reliable, ordered, JSON texts sent as-is. */
export const CONNECT_OPTIONS = { reliable: true, serialization: 'raw' } as const;

/** Stop queueing frames while this much is buffered in the channel (backpressure). */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 << 10;

/**
 * Wraps a PeerJS data connection as a Link. Texts up to 16 KiB go as they are; longer ones, and
 * every data message, as binary frames (frames.ts), paced by the channel's bufferedAmount so a
 * big message never floods the send buffer. Sends keep their order.
 */
export function linkFromConnection(conn: DataConnection, handlers: LinkHandlers): Link {
  let closed = false;
  const closeOnce = () => {
    if (closed) return;
    closed = true;
    handlers.onClose();
  };
  const assembler = new FrameAssembler();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  conn.on('data', (data) => {
    if (typeof data === 'string') return handlers.onText(data);
    try {
      const whole = assembler.push(data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data : new Uint8Array());
      if (!whole) return;
      const text = decoder.decode(whole.text);
      if (whole.body) handlers.onText(text, whole.body);
      else handlers.onText(text);
    } catch (err) {
      // Hand the receiver something its validator refuses, so a bad frame is answered, not lost.
      console.warn('tabgrid: dropping a broken message:', (err as Error).message);
      handlers.onText(null);
    }
  });
  conn.on('close', closeOnce);
  conn.on('error', closeOnce);

  let queue: Promise<void> = Promise.resolve();
  let nextId = 1;
  const drained = () =>
    new Promise<void>((resolve) => {
      const channel = conn.dataChannel;
      if (!channel || channel.bufferedAmount <= HIGH_WATER) return resolve();
      channel.bufferedAmountLowThreshold = LOW_WATER;
      channel.addEventListener('bufferedamountlow', () => resolve(), { once: true });
    });
  // A link made for an incoming connection may be used before its channel has opened.
  const opened = () => (conn.open ? Promise.resolve() : new Promise<void>((resolve) => conn.once('open', () => resolve())));
  const sendNow = async (text: string, body?: Uint8Array) => {
    await opened();
    const bytes = encoder.encode(text);
    if (body === undefined && bytes.length <= FRAME_BYTES) {
      if (!closed && conn.open) void conn.send(text);
      return;
    }
    for (const frame of encodeFrames(nextId++, bytes, body)) {
      await drained();
      if (closed || !conn.open) return;
      void conn.send(frame);
    }
  };
  const enqueue = (text: string, body?: Uint8Array) => {
    queue = queue.then(() => sendNow(text, body)).catch((err: unknown) => console.warn('tabgrid: send failed:', err));
  };
  return {
    peer: conn.peer,
    send: (text) => enqueue(text),
    sendData: (text, body) => enqueue(text, body),
    close: () => {
      conn.close();
      closeOnce();
    },
  };
}

/** Resolves when `conn` opens; rejects on error, on close before open, or after `timeoutMs`. */
export function whenOpen(conn: DataConnection, timeoutMs: number, signal?: AbortSignal, timers: Timers = mainTimers): Promise<void> {
  return new Promise((resolve, reject) => {
    if (conn.open) return resolve();
    const timer = timers.setTimeout(() => fail(new Error(`no data connection to ${conn.peer} after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: unknown) => {
      timers.clearTimeout(timer);
      conn.off('open', opened);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const opened = () => {
      timers.clearTimeout(timer);
      resolve();
    };
    conn.once('open', opened);
    conn.once('error', fail);
    conn.once('close', () => fail(new Error(`connection to ${conn.peer} closed before it opened`)));
    signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}
