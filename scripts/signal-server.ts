/**
 * The PeerJS signaling server, as `npm run signal` runs it on the internet and `npm start`, the
 * farm and the tests run it on loopback: one HTTP(S) server with PeerServer on `path`, a JSON
 * health endpoint (`GET /health`), a cap on WebSocket connections per client IP (each counted
 * from its upgrade, released when its socket closes), a close that drops every peer, and when
 * given ICE servers, `GET /ice` with TURN credentials minted per request (ice-endpoint.ts).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import express from 'express';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer, type ServerOptions } from 'ws';
import { iceEndpoint, type IceEndpointOptions } from './ice-endpoint';

export interface SignalingOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** The address to bind (default 127.0.0.1; 0.0.0.0 or :: to take connections from the network). */
  readonly host?: string;
  /** Where PeerJS clients find it (default '/'): the signal URL is ws(s)://HOST:PORT/PATH. */
  readonly path?: string;
  /** PEM certificate and key: serve wss:// and https:// itself (else ws://, e.g. behind a TLS reverse proxy). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Open WebSocket connections one client IP may hold (default DEFAULT_MAX_PER_IP). */
  readonly maxPerIp?: number;
  /** Peers registered at once, all IPs together (default 5000, PeerServer's). */
  readonly maxPeers?: number;
  /** Count clients by the right-most X-Forwarded-For address (only behind a reverse proxy that sets it). */
  readonly trustProxy?: boolean;
  /** Serve `GET /ice`: these servers, TURN credentials minted per request (a page's `ice-url`). */
  readonly ice?: IceEndpointOptions;
  readonly log?: (line: string) => void;
}

export interface SignalingHealth {
  readonly ok: true;
  readonly peers: number;
  readonly sockets: number;
  readonly ips: number;
  readonly maxPerIp: number;
  readonly refused: number;
  readonly uptimeS: number;
  readonly tls: boolean;
  /** Whether `GET /ice` is served. */
  readonly ice: boolean;
}

export interface Signaling {
  readonly url: string;
  readonly port: number;
  health(): SignalingHealth;
  close(): Promise<void>;
}

/** A home or office NAT puts a handful of volunteers (tabs, a dashboard) behind one address; more than this from one IP is refused. */
export const DEFAULT_MAX_PER_IP = 32;

export async function startSignalServer(options: SignalingOptions): Promise<Signaling> {
  const path = normalizePath(options.path ?? '/');
  const maxPerIp = options.maxPerIp ?? DEFAULT_MAX_PER_IP;
  if (!Number.isInteger(maxPerIp) || maxPerIp < 1) throw new Error(`max connections per IP ${maxPerIp} must be a whole number ≥ 1`);
  const app = express();
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, app) : createHttpServer(app);
  const started = Date.now();
  const perIp = new Map<string, number>();
  const peers = new Set<string>();
  let refused = 0;
  const clientIp = (req: IncomingMessage): string => {
    const forwarded = options.trustProxy ? req.headers['x-forwarded-for'] : undefined;
    const last = typeof forwarded === 'string' ? forwarded.split(',').at(-1)?.trim() : undefined;
    return last || req.socket.remoteAddress || 'unknown';
  };
  const health = (): SignalingHealth => ({
    ok: true,
    peers: peers.size,
    sockets: [...perIp.values()].reduce((a, b) => a + b, 0),
    ips: perIp.size,
    maxPerIp,
    refused,
    uptimeS: Math.round((Date.now() - started) / 1000),
    tls: !!options.tls,
    ice: !!options.ice,
  });
  app.get('/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(health());
  });
  if (options.ice) app.get('/ice', iceEndpoint(options.ice, clientIp));
  const peerApp = ExpressPeerServer(server, {
    path: '/',
    allow_discovery: false,
    ...(options.maxPeers ? { concurrent_limit: options.maxPeers } : {}),
    // The per-IP cap sits in the WebSocket server's own gate: a refused upgrade never becomes a peer.
    createWebSocketServer: (wsOptions: ServerOptions) =>
      new WebSocketServer({
        ...wsOptions,
        verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
          const ip = clientIp(info.req);
          const held = perIp.get(ip) ?? 0;
          if (held >= maxPerIp) {
            refused++;
            options.log?.(`refused a connection from ${ip}: it holds ${held} (the cap per IP)`);
            return done(false, 429, 'Too many connections from this address');
          }
          perIp.set(ip, held + 1);
          info.req.socket.once('close', () => {
            const n = (perIp.get(ip) ?? 1) - 1;
            if (n > 0) perIp.set(ip, n);
            else perIp.delete(ip);
          });
          done(true);
        },
      }),
  } as Parameters<typeof ExpressPeerServer>[1]);
  peerApp.on('connection', (client: { getId(): string }) => peers.add(client.getId()));
  peerApp.on('disconnect', (client: { getId(): string }) => peers.delete(client.getId()));
  app.use(path, peerApp);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE' ? `port ${options.port} is in use: is another signaling server running? (pick another port)` : err.message)),
    );
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  // Upgraded (WebSocket) sockets are not the HTTP server's to close: track them, so closing
  // really drops every peer, as a crashed or restarted signaling server would.
  const sockets = new Set<Duplex>();
  server.on('upgrade', (_req, socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host === undefined || options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `${options.tls ? 'wss' : 'ws'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}${path}`,
    port,
    health,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** '/', '/peerjs/': leading and trailing slash, no doubled ones. */
function normalizePath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9._~\-/]*$/.test(trimmed)) throw new Error(`signaling path ${JSON.stringify(path)} must be letters, digits and / . _ ~ -`);
  return trimmed ? `/${trimmed}/` : '/';
}
