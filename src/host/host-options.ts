import type { Backend } from '../protocol';
import { ErrorCode, TabgridError } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import type { Identity } from '../proof/identity';
import type { VerdictEvent } from './host-views';
import type { Recomputer } from './recomputer';
import type { IceGrant } from '../protocol/ice';

export interface AcceptedResult {
  readonly unitId: string;
  readonly volunteer: string;
  readonly root: string;
  /** Proof-of-work units: the nonces that met the full target. */
  readonly solutions?: readonly number[];
  /** What computed it, as its volunteer reported it (never checked); absent when not said. */
  readonly backend?: Backend;
  readonly adapter?: string;
}

export interface HostCoreOptions {
  readonly hostId: string;
  readonly hash: Hasher;
  /** The host's key: it signs receipts, and volunteers prove their keys to it. */
  readonly identity: Identity;
  /** Randomness for challenges, Freivalds vectors and trust spot checks; must be unpredictable to volunteers (crypto in production). */
  readonly random?: () => number;
  /** Milliseconds since the epoch; injected so tests move time without sleeping. */
  readonly clock?: () => number;
  /** How long a lease lasts without a heartbeat (default 60 s). */
  readonly leaseMs?: number;
  /** How often volunteers should send heartbeats (default a quarter of leaseMs). */
  readonly heartbeatMs?: number;
  /**
   * The longest one key may hold a unit, from its first lease, heartbeats and its own lapses and
   * regains included (default 10 × leaseMs: 10 minutes with the default lease). Past it the lease
   * is lost and the unit goes back to the queue, where that key may not take it for one more
   * leaseMs. Generous, so only a unit taking an honest volunteer that long is lost to it; keys
   * that squat on units with heartbeats free each within it. At least leaseMs.
   */
  readonly maxHoldMs?: number;
  /** Units one volunteer may hold at once, so it can prefetch (default 2). */
  readonly maxLeases?: number;
  /**
   * Direct connections the host takes (default: no cap). Past it, a new volunteer is
   * redirected to relays: direct volunteers that offered to relay and have had at least
   * `relayMinAccepted` results accepted (default 1).
   */
  readonly maxDirect?: number;
  readonly relayMinAccepted?: number;
  /**
   * Most bytes all uploads in flight (`rows` answering `send-rows`) may hold together (default
   * DEFAULT_MAX_UPLOAD_BYTES). Past it a new upload is answered `busy`, and the volunteer
   * offers its result again later (row-collector.ts).
   */
  readonly maxUploadBytes?: number;
  /** How long a volunteer waits before asking again when every unit is out. */
  readonly retryMs?: number;
  /**
   * Where the host computes a unit itself when its replicas all disagree (default: in this
   * thread after the current turn, for tests). Shells facing the network pass a threaded one
   * (recompute-thread.ts, recompute-web.ts) and close it themselves.
   */
  readonly recomputer?: Recomputer;
  /** Units of one job that may wait for the host's own computation at once (default 2); past it, more keys vote instead. */
  readonly maxSettlingPerJob?: number;
  readonly onAccepted?: (result: AcceptedResult) => void;
  readonly onRejected?: (unitId: string, volunteer: string, reason: string) => void;
  /** Every verdict once committed (a dashboard's verification log); after onAccepted/onRejected. */
  readonly onVerdict?: (event: VerdictEvent) => void;
  readonly log?: (line: string) => void;
  /**
   * Mints TURN credentials for a volunteer (named by its identity): sent in the welcome and
   * answering `get-ice`, so no long-lived TURN password sits in a page. Absent, the host mints none.
   */
  readonly iceGrant?: (volunteer: string) => IceGrant;
}

/** 64 of the largest units' outputs (4 MiB each) in flight at once. */
export const DEFAULT_MAX_UPLOAD_BYTES = 256 * 1024 * 1024;

/**
 * Refuses settings a volunteer would refuse in the welcome or no-work message (validate.ts), so
 * a misconfigured host fails at start with the setting named, not at every volunteer's hello.
 */
export function checkHostOptions(options: HostCoreOptions): void {
  const bad = (what: string): never => {
    throw new TabgridError(ErrorCode.BadInput, `host option ${what}`);
  };
  const within = (name: string, value: number | undefined, lo: number, hi: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= lo && value <= hi))
      bad(`${name} = ${value} must be a whole number of milliseconds in ${lo}..${hi}`);
  };
  if (typeof options.hostId !== 'string' || options.hostId.length === 0 || options.hostId.length > 128) bad('hostId must be 1..128 characters');
  within('leaseMs', options.leaseMs, 1000, 86_400_000);
  within('heartbeatMs', options.heartbeatMs, 100, 86_400_000);
  within('retryMs', options.retryMs, 0, 3_600_000);
  const leaseMs = options.leaseMs ?? 60_000;
  if (options.maxHoldMs !== undefined && !(options.maxHoldMs >= leaseMs)) bad(`maxHoldMs (${options.maxHoldMs}) must be at least leaseMs (${leaseMs})`);
}

/** Words drawn from the CSPRNG a pool at a time: one getRandomValues call per word was 3 % of a host's CPU per unit (npm run bench -- --store). */
const pool = new Uint32Array(1024);
let drawn = pool.length;

/** Uniform in [0, 1) from the platform's CSPRNG: challenges must be unpredictable. */
export function cryptoRandom(): number {
  if (drawn === pool.length) {
    globalThis.crypto.getRandomValues(pool);
    drawn = 0;
  }
  return pool[drawn++]! / 2 ** 32;
}
