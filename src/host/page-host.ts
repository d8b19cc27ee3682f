import type { IceConfig } from '../protocol/ice';
import { createCpuSha256, type Hasher } from '../hash/sha256-cpu';
import { HostCore, type HostCoreOptions } from './host-core';
import type { AcceptedResult } from './host-options';
import type { JobSpec } from './job';
import { startPeerHost, type PeerHost } from './peer-host';
import { IdbHostStore } from './store/idb-store';
import type { HostStore } from './store/store';
import { webWorkerRecomputer } from './recompute-web';

export interface PageHostOptions {
  readonly jobs: readonly JobSpec[];
  readonly signalUrl: string;
  readonly hostId: string;
  /** IndexedDB database holding this host's state (one per host id by default). */
  readonly dbName?: string;
  readonly leaseMs?: number;
  readonly ice?: IceConfig;
  readonly log?: (line: string) => void;
  readonly onAccepted?: HostCoreOptions['onAccepted'];
  readonly onRejected?: HostCoreOptions['onRejected'];
  /** Every committed verdict (the dashboard's verification log). */
  readonly onVerdict?: HostCoreOptions['onVerdict'];
}

export interface PageHost {
  readonly core: HostCore;
  readonly peer: PeerHost;
  /** Where datasets a researcher submits are saved before their job is added (ingest/ingest.ts). */
  readonly store: HostStore;
  readonly hash: Hasher;
  /** Calls `listener` with every accepted unit (after onAccepted) until the returned function is called. */
  watchAccepted(listener: (result: AcceptedResult) => void): () => void;
  close(): Promise<void>;
}

/**
 * The job host in a researcher's own tab: the same core as the Node CLI, its state in
 * IndexedDB, so a reload (or a crash) picks the job up where it was.
 */
export async function startPageHost(options: PageHostOptions): Promise<PageHost> {
  const store = await IdbHostStore.open(options.dbName ?? `tabgrid-host-${options.hostId}`);
  // Units whose replicas all disagree are computed on a worker, so the researcher's tab stays responsive.
  const recomputer = webWorkerRecomputer();
  // One set per host, emptied by the job handles that follow it (sdk/page-grid.ts).
  const watchers = new Set<(result: AcceptedResult) => void>();
  try {
    const hash = await createCpuSha256();
    const core = await HostCore.open(store, options.jobs, {
      hostId: options.hostId,
      hash,
      // Kept in the host's IndexedDB (non-extractable), so a reload signs with the same key.
      identity: await store.hostIdentity(),
      leaseMs: options.leaseMs,
      log: options.log,
      onAccepted: (r) => {
        options.onAccepted?.(r);
        for (const watch of [...watchers]) watch(r);
      },
      onRejected: options.onRejected,
      onVerdict: options.onVerdict,
      recomputer,
    });
    const peer = await startPeerHost({ core, signalUrl: options.signalUrl, hostId: options.hostId, ice: options.ice, log: options.log });
    return {
      core,
      peer,
      store,
      hash,
      watchAccepted(listener) {
        watchers.add(listener);
        return () => watchers.delete(listener);
      },
      close: async () => {
        watchers.clear();
        peer.close();
        core.close();
        recomputer.close();
        await store.close();
      },
    };
  } catch (err) {
    recomputer.close();
    await store.close();
    throw err;
  }
}
