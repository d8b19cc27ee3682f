import type { DataConnection } from 'peerjs';
import { ErrorCode, TabgridError } from '../errors';
import type { IceConfig } from '../protocol/ice';
import { CHUNK_CONNECTION_LABEL } from '../protocol/swarm';
import { linkFromConnection, whenOpen, type Link, type LinkHandlers } from './link';
import { Peer } from './peerjs';
import { describePeerError } from './peer-error';
import { peerOptions } from './signal';

/**
 * A volunteer's own place on the signaling server for the swarm (issue 18): a PeerJS peer with
 * a fresh id, apart from its link to the host (or relay), so a relayed volunteer can serve and
 * fetch as well as a direct one. Other volunteers dial it by that id to fetch chunks
 * (connections labelled CHUNK_CONNECTION_LABEL: anything else is closed), and it dials theirs.
 */
export interface PeerEndpoint {
  readonly id: string;
  /** Opens a chunk connection to `peer`; rejects when it cannot be opened within `timeoutMs`. */
  dial(peer: string, handlers: LinkHandlers, signal: AbortSignal, timeoutMs?: number): Promise<Link>;
  /** Leaves the signaling server and closes every connection. */
  close(): void;
  readonly closed: boolean;
}

export async function openPeerEndpoint(
  options: { readonly signalUrl: string; readonly ice?: IceConfig; readonly timeoutMs?: number; readonly signal?: AbortSignal },
  onConnection: (conn: DataConnection) => void,
): Promise<PeerEndpoint> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const peer = new Peer(peerOptions(options.signalUrl, options.ice));
  try {
    const id = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`signaling server ${options.signalUrl} did not answer in ${timeoutMs} ms`)), timeoutMs);
      peer.once('open', (id) => {
        clearTimeout(timer);
        resolve(id);
      });
      peer.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true });
    });
    peer.on('connection', (conn) => {
      if (conn.label !== CHUNK_CONNECTION_LABEL) return void conn.on('open', () => conn.close());
      onConnection(conn);
    });
    // PeerJS reports an unknown peer id on the peer, not on the connection: the dial to it fails at once.
    const dials = new Map<string, Set<(err: unknown) => void>>();
    peer.on('error', (err) => {
      if (err.type !== 'peer-unavailable') return;
      for (const [target, fails] of dials) if (err.message.includes(target)) for (const fail of fails) fail(err);
    });
    return {
      id,
      get closed() {
        return peer.destroyed;
      },
      async dial(target, handlers, signal, dialMs = 8000) {
        if (peer.destroyed) throw new TabgridError(ErrorCode.Network, 'the swarm endpoint is closed');
        const conn = peer.connect(target, { reliable: true, serialization: 'raw', label: CHUNK_CONNECTION_LABEL });
        let fail!: (err: unknown) => void;
        const missing = new Promise<never>((_, reject) => (fail = reject));
        missing.catch(() => undefined);
        const fails = dials.get(target) ?? new Set();
        fails.add(fail);
        dials.set(target, fails);
        try {
          await Promise.race([whenOpen(conn, dialMs, signal), missing]);
        } catch (err) {
          conn.close();
          throw new TabgridError(ErrorCode.Network, `cannot reach peer ${target}: ${describePeerError(err)}`, { cause: err });
        } finally {
          fails.delete(fail);
          if (fails.size === 0) dials.delete(target);
        }
        return linkFromConnection(conn, handlers);
      },
      close: () => peer.destroy(),
    };
  } catch (err) {
    peer.destroy();
    if (options.signal?.aborted) throw new TabgridError(ErrorCode.Aborted, 'aborted');
    throw new TabgridError(ErrorCode.Network, `cannot join the swarm via ${options.signalUrl}: ${describePeerError(err)}`, { cause: err });
  }
}
