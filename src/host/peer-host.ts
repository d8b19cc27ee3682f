import type { DataConnection } from 'peerjs';
import { Peer } from '../net/peerjs';
import { ErrorCode, TabgridError } from '../errors';
import { linkFromConnection, type Link } from '../net/link';
import { peerOptions, rtcConfig } from '../net/signal';
import type { IceConfig } from '../protocol/ice';
import { backoffMs } from '../net/backoff';
import type { HostCore } from './host-core';
import type { ObserverHost } from './observer';
import { routeConnection } from './route-connection';

export interface PeerHostOptions {
  readonly core: HostCore;
  readonly signalUrl: string;
  readonly hostId: string;
  /**
   * STUN/TURN servers and policy; a function is asked again every second (it caches: node-host
   * mints the host's own TURN credentials anew before they expire), for the connections to come.
   */
  readonly ice?: IceConfig | (() => IceConfig);
  readonly log?: (line: string) => void;
  /** A volunteer's connection that has not opened by then is closed and logged (ICE found no path). */
  readonly openTimeoutMsPerConnection?: number;
  /** Give up if the signaling server has not registered the host by then. */
  readonly openTimeoutMs?: number;
  /** Read-only observers (the dashboard watching this host): a connection whose first message is `observe` goes to them, not to the core (route-connection.ts). */
  readonly observers?: ObserverHost;
}

export interface PeerHost {
  readonly id: string;
  /** Open links, one per connected peer (volunteers, and observers when the host takes them). */
  readonly links: ReadonlyMap<string, Link>;
  close(): void;
}

/** Connections offered and not yet open, at most: a flood of offers through the signaling server holds no more than this. */
export const MAX_OPENING = 256;

/** What a connection that never opened most likely met, for the host's log. */
const NO_PATH =
  'ICE found no path: a firewall or NAT in the way, or, for a peer that relays through TURN, TURN credentials the TURN server refused as expired or wrong';

/**
 * Puts a HostCore on the network: registers `hostId` with the signaling server, accepts data
 * connections from volunteers and feeds their messages to the core. Runs in Node (with the
 * node-datachannel polyfill installed) and in a page alike.
 */
export function startPeerHost(options: PeerHostOptions): Promise<PeerHost> {
  const { core, log, observers } = options;
  const iceNow = () => (typeof options.ice === 'function' ? options.ice() : options.ice);
  const peer = new Peer(options.hostId, peerOptions(options.signalUrl, iceNow()));
  const links = new Map<string, Link>();
  /** Connections offered and not yet open: each bounded by a timer, released when it opens, fails or times out. */
  const opening = new Set<DataConnection>();
  let stopping = false;

  peer.on('connection', (conn) => {
    if (opening.size >= MAX_OPENING) {
      log?.(`refusing ${conn.peer}: ${MAX_OPENING} connections are still being set up`);
      conn.close();
      return;
    }
    opening.add(conn);
    // A volunteer gives up after 15 s (connect.ts); by then the connection will not open.
    const waitMs = options.openTimeoutMsPerConnection ?? 20_000;
    const gaveUp = setTimeout(() => {
      if (!opening.delete(conn)) return;
      log?.(`peer ${conn.peer} could not connect: no ICE path after ${waitMs / 1000} s (${NO_PATH})`);
      conn.close();
    }, waitMs);
    const settled = () => {
      clearTimeout(gaveUp);
      opening.delete(conn);
    };
    conn.on('error', (err) => {
      if (!opening.has(conn)) return;
      settled();
      log?.(`peer ${conn.peer} could not connect: ${err.message} (${NO_PATH})`);
    });
    conn.on('close', () => {
      if (opening.has(conn) && !stopping) log?.(`peer ${conn.peer} gave up before its data connection opened (${NO_PATH})`);
      settled();
    });
    conn.on('open', () => {
      settled();
      const name = conn.peer;
      // `>` is in relayed children's names only (relay>child); the signaling server lets any id through.
      if (name.includes('>')) {
        log?.(`peer ${JSON.stringify(name.slice(0, 64))} refused: a peer id may not contain '>'`);
        conn.close();
        return;
      }
      // One link per volunteer: a second connection from the same peer replaces the first.
      links.get(name)?.close();
      const route = routeConnection({ core, observers, name, log, link: () => link });
      const link = linkFromConnection(conn, {
        onText: route.onText,
        onClose: () => {
          if (links.get(name) !== link) return;
          links.delete(name);
          route.onClose();
        },
      });
      links.set(name, link);
      log?.(`peer ${name} connected`);
    });
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      peer.destroy();
      reject(new TabgridError(ErrorCode.Network, `signaling server ${options.signalUrl} did not register ${options.hostId}`));
    }, options.openTimeoutMs ?? 10_000);
    let registered = false;
    peer.once('open', (id) => {
      registered = true;
      clearTimeout(timer);
      // Lapsed leases go back to the queue within about a second; connections that proved no key
      // in time are closed (the cap counts a connection only from its hello).
      const expiry = setInterval(() => {
        // PeerJS reads its options' config for each connection it answers: keep the host's TURN credentials fresh.
        if (typeof options.ice === 'function') peer.options.config = rtcConfig(options.ice());
        void core.expireLeases().catch((err: unknown) => log?.(`lease expiry failed: ${String(err)}`));
        observers?.sweep();
        for (const name of core.strangers()) {
          const link = links.get(name);
          if (!link) continue; // closed already; the core forgets it in turn
          log?.(`closing ${name}: no key proved in time`);
          link.close();
        }
      }, 1000);
      resolve({
        id,
        links,
        close: () => {
          closed = true;
          clearInterval(expiry);
          clearInterval(watchdog);
          for (const link of links.values()) link.close();
          stopping = true;
          for (const conn of opening) conn.close();
          opening.clear();
          peer.destroy();
        },
      });
    });
    // The signaling server went away (restart, network): keep trying to get back on it, with
    // backoff, so new volunteers can reach us. Open data connections do not need it meanwhile.
    let attempt = 0;
    let nextTry = 0;
    let closed = false;
    const watchdog = setInterval(() => {
      if (closed || peer.destroyed) return clearInterval(watchdog);
      if (!peer.disconnected) {
        if (attempt > 0) log?.('back on the signaling server');
        attempt = 0;
        return;
      }
      if (Date.now() < nextTry) return;
      const delay = backoffMs(++attempt, 500, 10_000);
      nextTry = Date.now() + delay;
      log?.(`not on the signaling server; trying again now and every ≤ ${delay} ms`);
      peer.reconnect();
    }, 250);
    peer.on('error', (err) => {
      log?.(`peer error (${err.type}): ${err.message}`);
      if (!peer.open && attempt === 0 && !registered) {
        clearTimeout(timer);
        peer.destroy();
        reject(new TabgridError(ErrorCode.Network, `host could not register as ${options.hostId}: ${err.message}`, { cause: err }));
      }
    });
  });
}
