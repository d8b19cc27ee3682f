/**
 * A job host in Node on a signaling server: the core on a store, its own recomputations on a
 * worker thread, PeerJS over node-datachannel. What `npm run host`, `npm start`, the farm, the
 * e2e tests and the researcher SDK (src/sdk/) start.
 */
import '../net/node-webrtc';
import { createCpuSha256 } from '../hash/sha256-cpu';
import { HostCore, type HostCoreOptions } from './host-core';
import type { JobSpec } from './job';
import { startPeerHost, type PeerHost } from './peer-host';
import { threadRecomputer } from './recompute-thread';
import { openHostStore } from './store/open-host-store';
import type { HostStore } from './store/store';

export interface HostOptions {
  readonly jobs: readonly JobSpec[];
  /** Where the host keeps its state and its key (default: memory, lost when the process ends). The caller closes it. */
  readonly store?: HostStore;
  readonly leaseMs?: number;
  /** The longest one key may hold a unit (default 10 × leaseMs; HostCoreOptions.maxHoldMs). */
  readonly maxHoldMs?: number;
  /** Direct connections before newcomers are sent to relays (default: no cap). */
  readonly maxDirect?: number;
  readonly signalUrl: string;
  readonly hostId: string;
  readonly log?: (line: string) => void;
  readonly onAccepted?: HostCoreOptions['onAccepted'];
  readonly onVerdict?: HostCoreOptions['onVerdict'];
}

export async function startHost(options: HostOptions): Promise<{ core: HostCore; host: PeerHost }> {
  const { jobs, signalUrl, hostId, log, onAccepted, onVerdict } = options;
  // Units whose replicas all disagree are computed on a thread of their own, never in the message queue.
  const recomputer = threadRecomputer();
  const store = options.store ?? (await openHostStore());
  let core: HostCore;
  try {
    core = await HostCore.open(store, jobs, {
      hostId,
      hash: await createCpuSha256(),
      // A durable store keeps the key, so receipts the host re-sends after a restart verify.
      identity: await store.hostIdentity(),
      log,
      onAccepted,
      onVerdict,
      leaseMs: options.leaseMs,
      maxHoldMs: options.maxHoldMs,
      maxDirect: options.maxDirect,
      recomputer,
    });
  } catch (err) {
    recomputer.close();
    throw err;
  }
  const peer = await startPeerHost({ core, signalUrl, hostId, log }).catch((err: unknown) => {
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
  return { core, host };
}
