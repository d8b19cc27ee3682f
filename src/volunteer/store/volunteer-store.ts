/**
 * What a volunteer keeps across reloads and crashes: the units it holds (prefetched, part
 * computed with a checkpoint, or finished and waiting for a verdict: the outbox), the receipts
 * it earned, its settings, signing key and autotune results. A tab may die at any instant, so
 * every method is one atomic step: after a crash the store holds the state before or after a
 * call, never a mix. Implementations: idb-volunteer-store.ts (browsers, workers) and
 * memory-volunteer-store.ts (Node tests, or when IndexedDB is unavailable).
 *
 * Every failure is a TabgridError: 'storage-full' when the browser's quota is exhausted,
 * 'storage' for everything else (unknown unit, stale checkpoint, closed or failing database).
 */
import type { TileConfig } from '../../gpu/tune-cache';
import type { Backend, Receipt, WorkUnit } from '../../protocol';

export const HeldState = { Queued: 'queued', Computing: 'computing', Sent: 'sent' } as const;
export type HeldState = (typeof HeldState)[keyof typeof HeldState];

/** What a visitor chose to be called on hosts' leaderboards: optional, changeable, never required. */
export interface DonorProfile {
  readonly name?: string;
  readonly team?: string;
}

export interface HeldUnit {
  readonly hostId: string;
  readonly unit: WorkUnit;
  readonly state: HeldState;
  /** The kernel's progress counter at the checkpoint (leaves done; for PoW, nonces searched). */
  readonly done: number;
  /** Output bytes so far, back to back (partial output, or the whole output once Sent). */
  readonly data: Uint8Array;
  /** Sent units (the outbox): the committed Merkle root (hex) and backend. */
  readonly root?: string;
  readonly backend?: Backend;
  readonly updatedAt: number;
}

export interface Checkpoint {
  readonly done: number;
  /** The stored data length the caller believes it is appending to. */
  readonly atBytes: number;
  readonly append: Uint8Array;
}

export interface FinishedResult {
  readonly done: number;
  readonly data: Uint8Array;
  readonly root: string;
  readonly backend: Backend;
}

export interface VolunteerStore {
  /** Every unit held for this host: queued (prefetched), computing (with checkpoint) or sent (outbox), in the order held. */
  held(hostId: string): Promise<HeldUnit[]>;
  /** Records a newly leased unit as Queued. Idempotent (holding it again changes nothing). */
  hold(hostId: string, unit: WorkUnit): Promise<void>;
  /**
   * Atomically appends `append` to the unit's data and sets `done` (state → Computing).
   * `atBytes` must equal the stored data length, else it throws a Storage error and changes
   * nothing (guards against lost/reordered writes). Unknown unit, or one already Sent → throws
   * a Storage error.
   */
  checkpoint(hostId: string, unitId: string, checkpoint: Checkpoint): Promise<void>;
  /**
   * The unit is finished: stores the whole output (writing only what is not already
   * checkpointed, when the stored data is a prefix of it — otherwise replacing it), the root
   * and backend; state → Sent (the outbox). Unknown unit → throws a Storage error.
   */
  finish(hostId: string, unitId: string, result: FinishedResult): Promise<void>;
  /** Drops a unit and its data (lease lost, rejected). No-op when unknown. */
  forget(hostId: string, unitId: string): Promise<void>;
  /**
   * A verdict arrived: in ONE transaction, store the receipt (if any) and forget the unit.
   * A receipt already stored (same receiptId) is not stored twice.
   */
  settle(hostId: string, unitId: string, receipt?: Receipt): Promise<void>;
  /** Receipts of accepted results (the credit history), oldest first; all hosts when hostId is omitted. */
  receipts(hostId?: string): Promise<Receipt[]>;
  getSetting<T>(key: string): Promise<T | undefined>;
  setSetting(key: string, value: unknown): Promise<void>;
  /** The volunteer's signing key pair (CryptoKey objects are structured-cloneable, so IDB keeps them, non-extractable private key included). */
  getKeyPair(): Promise<CryptoKeyPair | undefined>;
  putKeyPair(pair: CryptoKeyPair): Promise<void>;
  /** The donor's display name and team (protocol/display-name.ts), kept with the key; undefined when never set. */
  getProfile(): Promise<DonorProfile | undefined>;
  /** Replaces the profile; an empty one clears it. */
  putProfile(profile: DonorProfile): Promise<void>;
  /** The autotune cache (TuneStore in src/gpu/tune-cache.ts). */
  getTune(key: string): Promise<TileConfig | undefined>;
  setTune(key: string, config: TileConfig): Promise<void>;
  /** Closes the store; later calls throw a Storage error. Closing twice is harmless. */
  close(): void;
}
