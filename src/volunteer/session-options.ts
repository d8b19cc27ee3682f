import type { IceConfig } from '../protocol/ice';
import type { Link, LinkHandlers } from '../net/link';
import type { HostMessage } from '../protocol';
import type { Identity } from '../proof/identity';
import type { UnitComputer } from '../worker/client';
import type { VolunteerStore } from './store/volunteer-store';
import type { DatasetCache } from './store/dataset-cache';
import type { ChunkFlights } from './chunk-fetcher';
import type { Timers } from '../timers';
import type { SwarmOptions } from './swarm';

export const VolunteerState = { Idle: 'idle', Running: 'running', Paused: 'paused', Error: 'error' } as const;
export type VolunteerState = (typeof VolunteerState)[keyof typeof VolunteerState];

/** Why a running session computes nothing: the host has no unit to lease now, or its jobs are all finished. */
export const NoWork = { Waiting: 'waiting', JobDone: 'job-done' } as const;
export type NoWork = (typeof NoWork)[keyof typeof NoWork];

export interface VolunteerSessionOptions {
  readonly signalUrl: string;
  readonly hostId: string;
  /** Other processes of the same grid (HostLinkOptions.otherHostIds): tried in turn when the host cannot be reached. */
  readonly otherHostIds?: readonly string[];
  readonly computer: UnitComputer;
  readonly ice?: IceConfig;
  /** Where to read the page's ICE servers (HostLinkOptions.iceUrl): a signaling server's GET /ice. */
  readonly iceUrl?: string;
  /** How to reach the host; defaults to PeerJS (connectToHost). Tests pass in-memory links. */
  readonly connect?: (handlers: LinkHandlers, signal: AbortSignal) => Promise<Link>;
  readonly client?: string;
  /** The volunteer's identity to the host, which its key-proofs sign with (default: a fresh one in memory). */
  readonly identity?: Identity;
  /** Units to hold besides the one computing, so the GPU never waits on the network (default 1). */
  readonly prefetch?: number;
  /** Reconnect delays (ms): first and largest. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  /** Offer to relay for other volunteers when the host is full (default false). */
  readonly relay?: boolean;
  /**
   * Where units held, checkpoints, the outbox and receipts are kept, so a reload loses no work
   * (see journal.ts). Without one the session keeps them in memory only.
   */
  readonly store?: VolunteerStore;
  /** Where verified dataset chunks are kept between units (default: in memory, for this session). */
  readonly datasetCache?: DatasetCache;
  /** Chunks being fetched, shared by the sessions of one volunteer so a chunk two units need is fetched once. */
  readonly chunkFlights?: ChunkFlights;
  /**
   * Join the host's swarm (issue 18): fetch dataset chunks from peers the host names, and serve
   * the verified chunks held to other volunteers while running, within `swarm.share`. Without
   * it every chunk comes from the host (or relay), and nothing is served.
   */
  readonly swarm?: SwarmOptions;
  /** Aimed-for compute time between checkpoints (default 3 s; only with a store). */
  readonly checkpointMs?: number;
  /**
   * Timers for heartbeats, liveness, reconnect backoff, redirect waits and connect timeouts
   * (default the context's own). A page passes its compute worker's (ComputeClient.clock()):
   * a hidden page's own timers slow to one a minute once no data channel is open.
   */
  readonly timers?: Timers;
  /** Where Page Lifecycle's `freeze` and `resume` are heard (a page's `document`): see VolunteerSession.freezing/thawed. */
  readonly lifecycle?: EventTarget;
}

/** A verdict as the session reports it: the host's message, and whether it newly counts. */
export type VerdictDetail = Omit<Extract<HostMessage, { type: 'verdict' }>, 'type'> & {
  /** True when this verdict newly counts a result of ours as accepted (an acceptance, or a
   * duplicate carrying our receipt whose first verdict a dropped link swallowed). */
  readonly counted: boolean;
};
