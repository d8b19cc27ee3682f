import type { PeerOptions } from 'peerjs';
import { ErrorCode, TabgridError } from '../errors';
import { NO_ICE, type IceConfig } from '../protocol/ice';

/** Where `npm start` runs its PeerServer, and the id its demo host takes. */
export const DEFAULT_SIGNAL_URL = 'ws://127.0.0.1:9000/';
export const DEMO_HOST_ID = 'tabgrid-demo-host';

/**
 * PeerJS options for a signaling server given as one URL (ws:// or wss://, or http(s)://),
 * e.g. `wss://signal.example.org:443/peerjs`. No ICE servers by default: on a LAN or loopback
 * host candidates suffice; pass STUN/TURN servers for peers behind NAT (protocol/ice.ts).
 */
export function peerOptions(signalUrl: string, ice: IceConfig = NO_ICE): PeerOptions {
  let url: URL;
  try {
    url = new URL(signalUrl);
  } catch {
    throw new TabgridError(ErrorCode.BadInput, `signal URL ${JSON.stringify(signalUrl)} is not a URL`);
  }
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  if (!secure && url.protocol !== 'ws:' && url.protocol !== 'http:') {
    throw new TabgridError(ErrorCode.BadInput, `signal URL must be ws:, wss:, http: or https:, got ${url.protocol}`);
  }
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    path: url.pathname || '/',
    secure,
    config: rtcConfig(ice),
    debug: 0,
  };
}

/** The RTCConfiguration for `ice` (a fresh, mutable copy: PeerJS reads it for every new connection). */
export function rtcConfig(ice: IceConfig): RTCConfiguration {
  return {
    iceServers: ice.iceServers.map((s) => ({ ...s, urls: typeof s.urls === 'string' ? s.urls : [...s.urls] })),
    ...(ice.iceTransportPolicy ? { iceTransportPolicy: ice.iceTransportPolicy } : {}),
  };
}
