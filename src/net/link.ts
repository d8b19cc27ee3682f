import type { DataConnection } from 'peerjs';

/**
 * One text channel to one peer. The protocol code talks to this, not to PeerJS, so it runs the
 * same over a data connection, in a test over an in-memory pair, or (later) through a relay.
 */
export interface Link {
  readonly peer: string;
  send(text: string): void;
  close(): void;
}

export interface LinkHandlers {
  onText(text: unknown): void;
  onClose(): void;
}

/** Options every tabgrid data connection uses: reliable, ordered, JSON texts sent as-is. */
export const CONNECT_OPTIONS = { reliable: true, serialization: 'raw' } as const;

/** Wraps an open PeerJS data connection as a Link. */
export function linkFromConnection(conn: DataConnection, handlers: LinkHandlers): Link {
  let closed = false;
  const closeOnce = () => {
    if (closed) return;
    closed = true;
    handlers.onClose();
  };
  conn.on('data', (data) => handlers.onText(data));
  conn.on('close', closeOnce);
  conn.on('error', closeOnce);
  return {
    peer: conn.peer,
    send: (text) => {
      if (!closed && conn.open) void conn.send(text);
    },
    close: () => {
      conn.close();
      closeOnce();
    },
  };
}

/** Resolves when `conn` opens; rejects on error, on close before open, or after `timeoutMs`. */
export function whenOpen(conn: DataConnection, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (conn.open) return resolve();
    const timer = setTimeout(() => fail(new Error(`no data connection to ${conn.peer} after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: unknown) => {
      clearTimeout(timer);
      conn.off('open', opened);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const opened = () => {
      clearTimeout(timer);
      resolve();
    };
    conn.once('open', opened);
    conn.once('error', fail);
    conn.once('close', () => fail(new Error(`connection to ${conn.peer} closed before it opened`)));
    signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}
