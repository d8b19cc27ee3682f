import type { DataConnection } from 'peerjs';
import { Peer } from './peerjs';
import { ErrorCode, TabgridError } from '../errors';
import type { IceConfig } from '../protocol/ice';
import { CONNECT_OPTIONS, linkFromConnection, whenOpen, type Link, type LinkHandlers } from './link';
import { describePeerError } from './peer-error';
import { peerOptions } from './signal';
import { ConnectFailure, describeConnectFailure, TURN_AUTH_CODES } from './connect-failure';
import { icePathOf, type IcePath } from './ice-route';

export interface ConnectOptions {
  readonly signalUrl: string;
  readonly hostId: string;
  /** STUN/TURN servers and policy (default: none, every candidate). */
  readonly ice?: IceConfig;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called with each data connection another peer opens to us (how a relay meets its children). */
  readonly onConnection?: (conn: DataConnection) => void;
}

/** A Link on a WebRTC data connection: it can say how its bytes travel (direct or through TURN). */
export interface PeerLink extends Link {
  path(): Promise<IcePath | undefined>;
}

/** connectToHost's failure: a network error whose message is the plain sentence, and which failure it was. */
export class ConnectError extends TabgridError {
  constructor(
    readonly failure: ConnectFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.Network, message, options);
  }
}

const SIGNALING_ERRORS: readonly string[] = ['server-error', 'network', 'socket-error', 'socket-closed', 'ssl-unavailable'];

/**
 * Registers a fresh peer with the signaling server and opens a data connection to the host.
 * Closing the returned link also leaves the signaling server. A failure is a ConnectError naming
 * what failed: no signaling, host not online, ICE found no path, or TURN refused the credentials
 * (an icecandidateerror with a TURN auth code, where the stack reports one).
 */
export async function connectToHost(options: ConnectOptions, handlers: LinkHandlers): Promise<PeerLink> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const peer = new Peer(peerOptions(options.signalUrl, options.ice));
  let stage: ConnectFailure = ConnectFailure.NoSignaling;
  let turnRefused: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`signaling server ${options.signalUrl} did not answer in ${timeoutMs} ms`)), timeoutMs);
      peer.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      peer.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true });
    });
    stage = ConnectFailure.IceFailed;
    if (options.onConnection) peer.on('connection', options.onConnection);
    const conn = peer.connect(options.hostId, CONNECT_OPTIONS);
    // PeerJS reports an unreachable host id on the peer, not on the connection.
    const hostMissing = new Promise<never>((_, reject) =>
      peer.once('error', (err) => {
        if ((err as { type?: string }).type === 'peer-unavailable') stage = ConnectFailure.HostUnreachable;
        else if (SIGNALING_ERRORS.includes((err as { type?: string }).type ?? '')) stage = ConnectFailure.NoSignaling;
        reject(err);
      }),
    );
    hostMissing.catch(() => undefined); // later peer errors surface through the link's close
    const pc = conn.peerConnection as RTCPeerConnection | undefined;
    // A relay-only peer whose TURN server refused it gathers nothing: fail now, not at the timeout.
    const refused = new Promise<never>((_, reject) => {
      pc?.addEventListener('icecandidateerror', (e) => {
        const { errorCode, errorText, url } = e as RTCPeerConnectionIceErrorEvent;
        if (!TURN_AUTH_CODES.includes(errorCode)) return;
        turnRefused = `${url}: ${errorCode} ${errorText}`;
        if (options.ice?.iceTransportPolicy === 'relay') reject(new Error(`TURN refused the credentials (${turnRefused})`));
      });
    });
    refused.catch(() => undefined);
    await Promise.race([whenOpen(conn, timeoutMs, options.signal), hostMissing, refused]);
    const link = linkFromConnection(conn, {
      onText: handlers.onText,
      onClose: () => {
        peer.destroy();
        handlers.onClose();
      },
    });
    return { ...link, path: () => (conn.peerConnection ? icePathOf(conn.peerConnection) : Promise.resolve(undefined)) };
  } catch (err) {
    peer.destroy();
    if (options.signal?.aborted) throw new TabgridError(ErrorCode.Aborted, 'aborted');
    const failure = stage === ConnectFailure.IceFailed && turnRefused !== undefined ? ConnectFailure.TurnRefused : stage;
    // PeerJS's typed errors are what the sentence already says; anything else adds its own words.
    const typed = typeof (err as { type?: unknown } | null)?.type === 'string';
    const detail = turnRefused ?? (typed ? undefined : describePeerError(err));
    throw new ConnectError(failure, `${describeConnectFailure(failure, options)}${detail ? ` (${detail})` : ''}`, { cause: err });
  }
}
