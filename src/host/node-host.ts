/**
 * A job host in Node on a signaling server: the core on a store, its own recomputations on a
 * worker thread, PeerJS over node-datachannel. What `npm run host`, `npm start`, the farm, the
 * e2e tests and the researcher SDK (src/sdk/) start.
 */
import '../net/node-webrtc';
import { createCpuSha256 } from '../hash/sha256-cpu';
import { HostCore, type HostCoreOptions } from './host-core';
import type { JobSpec } from './job';
import { buildExport } from './export/export-job';
import { ObserverHost } from './observer';
import { startPeerHost, type PeerHost } from './peer-host';
import { threadRecomputer } from './recompute-thread';
import { openHostStore } from './store/open-host-store';
import type { HostStore } from './store/store';
import { NO_ICE, withGrant, type IceConfig } from '../protocol/ice';
import { mintTurnGrant, type TurnSecret } from './turn-credentials';
import { probeTurn } from './turn-probe';

export interface HostOptions {
  readonly jobs: readonly JobSpec[];
  /** Where the host keeps its state and its key (default: memory, lost when the process ends). The caller closes it. */
  readonly store?: HostStore;
  readonly leaseMs?: number;
  /** The longest one key may hold a unit (default 10 × leaseMs; HostCoreOptions.maxHoldMs). */
  readonly maxHoldMs?: number;
  /** How long a lapsed unit stays reserved for its last holder (default leaseMs; HostCoreOptions.graceMs). */
  readonly graceMs?: number;
  /** Direct connections before newcomers are sent to relays (default: no cap). */
  readonly maxDirect?: number;
  readonly signalUrl: string;
  readonly hostId: string;
  readonly log?: (line: string) => void;
  readonly onAccepted?: HostCoreOptions['onAccepted'];
  readonly onVerdict?: HostCoreOptions['onVerdict'];
  /** Lets dashboards watch the host, read-only, when they prove this token (observer.ts); no observers without it. */
  readonly observerToken?: string;
  /** STUN/TURN servers and policy the host connects with (default: none). */
  readonly ice?: IceConfig;
  /** A TURN server's shared secret: the host mints short-lived credentials for itself and for each volunteer (its welcome). */
  readonly turn?: TurnSecret;
}

/**
 * The host's own ICE configuration: `ice` with TURN credentials it mints for itself from `turn`,
 * minted anew at three quarters of their life (peer-host.ts asks every second).
 */
export function hostIce(hostId: string, ice: IceConfig = NO_ICE, turn?: TurnSecret): IceConfig | (() => IceConfig) {
  if (!turn) return ice;
  let grant = mintTurnGrant(turn, hostId);
  let renewAt = Date.now() + (grant.expiresAt - Date.now()) * 0.75;
  return () => {
    if (Date.now() >= renewAt) {
      grant = mintTurnGrant(turn, hostId);
      renewAt = Date.now() + (grant.expiresAt - Date.now()) * 0.75;
    }
    return withGrant(ice, grant);
  };
}

export async function startHost(options: HostOptions): Promise<{ core: HostCore; host: PeerHost; observers?: ObserverHost }> {
  const { jobs, signalUrl, hostId, log, onAccepted, onVerdict } = options;
  // Units whose replicas all disagree are computed on a thread of their own, never in the message queue.
  const recomputer = threadRecomputer();
  const store = options.store ?? (await openHostStore());
  let core: HostCore;
  let observers: ObserverHost | undefined;
  try {
    core = await HostCore.open(store, jobs, {
      hostId,
      hash: await createCpuSha256(),
      // A durable store keeps the key, so receipts the host re-sends after a restart verify.
      identity: await store.hostIdentity(),
      log,
      onAccepted,
      onVerdict: (e) => {
        onVerdict?.(e);
        observers?.recordVerdict(e);
      },
      leaseMs: options.leaseMs,
      maxHoldMs: options.maxHoldMs,
      graceMs: options.graceMs,
      maxDirect: options.maxDirect,
      recomputer,
      ...(options.turn ? { iceGrant: (id: string) => mintTurnGrant(options.turn!, id) } : {}),
    });
  } catch (err) {
    recomputer.close();
    throw err;
  }
  if (options.observerToken !== undefined) {
    // An observer's export is what `npm run host -- --export` writes, from this host's store.
    observers = new ObserverHost({ hostId, token: options.observerToken, core, log, exportJob: (jobId, refuse) => buildExport(store, jobId, { refuse }) });
  }
  const ice = hostIce(hostId, options.ice, options.turn);
  // Said in the log at start, so a wrong secret shows at once, not as connections that never open.
  void probeTurn(typeof ice === 'function' ? ice() : ice).then(
    (probe) => probe && log?.(probe.line),
    (err: unknown) => log?.(`TURN check failed: ${(err as Error).message}`),
  );
  const peer = await startPeerHost({ core, signalUrl, hostId, log, observers, ice }).catch((err: unknown) => {
    core.close();
    recomputer.close();
    throw err;
  });
  const host: PeerHost = {
    id: peer.id,
    links: peer.links,
    close: () => {
      peer.close();
      core.close();
      recomputer.close();
    },
  };
  return observers ? { core, host, observers } : { core, host };
}

/** The dashboard page that watches host `hostId`: the token rides in the fragment, which browsers never send to a web server. */
export function watchUrl(dashboardUrl: string, signalUrl: string, hostId: string, token: string): string {
  const url = new URL(dashboardUrl);
  url.searchParams.set('watch', hostId);
  url.searchParams.set('signal', signalUrl);
  url.hash = new URLSearchParams({ token }).toString();
  return url.toString();
}
