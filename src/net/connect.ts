import type { DataConnection } from 'peerjs';
import { Peer } from './peerjs';
import { ErrorCode, TabgridError } from '../errors';
import { CONNECT_OPTIONS, linkFromConnection, whenOpen, type Link, type LinkHandlers } from './link';
import { describePeerError } from './peer-error';
import { peerOptions } from './signal';
import { SignalingKeeper } from './signaling-keeper';
import { mainTimers, type Timers } from '../timers';

export interface ConnectOptions {
  readonly signalUrl: string;
  readonly hostId: string;
  readonly iceServers?: RTCIceServer[];
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called with each data connection another peer opens to us (how a relay meets its children). */
  readonly onConnection?: (conn: DataConnection) => void;
  /** The timers for the connect timeouts and signaling's reconnects (default the context's own). */
  readonly timers?: Timers;
}

/** A link to the host over PeerJS, whose peer stays on the signaling server (signaling-keeper.ts) so relay children can find it. */
export interface HostConnection extends Link {
  /** Whether our peer is registered with the signaling server now. */
  readonly signaling: boolean;
  /** Rejoins the signaling server now if the socket dropped (after a freeze). */
  resignal(): void;
}

/**
 * Registers a fresh peer with the signaling server and opens a data connection to the host.
 * Closing the returned link also leaves the signaling server.
 */
export async function connectToHost(options: ConnectOptions, handlers: LinkHandlers): Promise<HostConnection> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const timers = options.timers ?? mainTimers;
  const peer = new Peer(peerOptions(options.signalUrl, options.iceServers));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = timers.setTimeout(() => reject(new Error(`signaling server ${options.signalUrl} did not answer in ${timeoutMs} ms`)), timeoutMs);
      peer.once('open', () => {
        timers.clearTimeout(timer);
        resolve();
      });
      peer.once('error', (err) => {
        timers.clearTimeout(timer);
        reject(err);
      });
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true });
    });
    if (options.onConnection) peer.on('connection', options.onConnection);
    const conn = peer.connect(options.hostId, CONNECT_OPTIONS);
    // PeerJS reports an unreachable host id on the peer, not on the connection.
    const hostMissing = new Promise<never>((_, reject) => peer.once('error', reject));
    hostMissing.catch(() => undefined); // later peer errors surface through the link's close
    await Promise.race([whenOpen(conn, timeoutMs, options.signal, timers), hostMissing]);
    const keeper = new SignalingKeeper(peer, timers);
    const link = linkFromConnection(conn, {
      onText: handlers.onText,
      onClose: () => {
        keeper.stop();
        peer.destroy();
        handlers.onClose();
      },
    });
    return {
      ...link,
      get signaling() {
        return keeper.online;
      },
      resignal: () => keeper.now(),
    };
  } catch (err) {
    peer.destroy();
    if (options.signal?.aborted) throw new TabgridError(ErrorCode.Aborted, 'aborted');
    throw new TabgridError(ErrorCode.Network, `cannot reach host ${options.hostId} via ${options.signalUrl}: ${describePeerError(err)}`, { cause: err });
  }
}
