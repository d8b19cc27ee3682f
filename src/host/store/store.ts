/**
 * What a job host must not lose, and the one interface its shells persist it through: the Node
 * CLI to SQLite, the dashboard page to IndexedDB, tests to memory. The host keeps its state in
 * memory while it runs and commits every change as one batch in one transaction *before* it
 * answers the volunteer, so a reply never promises more than survives a crash. On start it
 * loads the last committed snapshot. The host's signing key lives in the store too, so choosing
 * the store chooses the key: a durable store keeps both.
 */
import type { Backend, JobStatus, Receipt } from '../../protocol';
import type { Identity } from '../../proof/identity';
import type { TrustState } from '../../proof/trust';
import type { JobSpec } from '../job';

export const StoredUnitState = {
  Queued: 'queued',
  Leased: 'leased',
  Verifying: 'verifying',
  Accepted: 'accepted',
} as const;
export type StoredUnitState = (typeof StoredUnitState)[keyof typeof StoredUnitState];

/**
 * What a verifying unit awaits. The output is awaited for one of three reasons, which a
 * restarted host must still know: to check it (Freivalds), to keep it once its check passed
 * (or, for a replica, before its vote), or to keep it from a trusted key whose spot check was
 * skipped (accepted on its commitment, earning no trust).
 */
export const Awaiting = {
  /** The openings of the leaves in `challenge`. */
  Openings: 'openings',
  /** The whole output (`send-rows`), which is the check. */
  RowsToCheck: 'rows-to-check',
  /** The whole output, to keep: the check passed (or a trusted replica's vote is next). */
  RowsToKeep: 'rows-to-keep',
  /** The whole output, to keep: a trusted key's spot check was skipped. */
  RowsTrusted: 'rows-trusted',
  /** The host's own computation of the unit (replicas that all disagree; no holder). */
  Recompute: 'recompute',
} as const;
export type Awaiting = (typeof Awaiting)[keyof typeof Awaiting];

/** Whether a job leases units (protocol.ts: watching dashboards are told it too). */
export { JobStatus } from '../../protocol';
export interface StoredJob {
  readonly id: string;
  readonly spec: JobSpec;
  /** Higher runs first. */
  readonly priority: number;
  readonly createdAt: number;
  /** Absent in records older than the field, and for a job never paused or cancelled: active. */
  readonly status?: JobStatus;
}

export interface StoredUnit {
  readonly jobId: string;
  readonly unitId: string;
  readonly index: number;
  readonly state: StoredUnitState;
  /** The volunteer holding the lease (leased/verifying), whose result was accepted, or who held it last (queued after a lapse; host-state.ts `lapsed`). */
  readonly holder: string | null;
  /** Epoch ms at which the lease expires (leased/verifying), else null. */
  readonly leaseDeadline: number | null;
  /** Progress the holder last reported (items done). */
  readonly progress: number;
  /** The committed or accepted Merkle root, hex. */
  readonly root: string | null;
  /** Leaf indices challenged (verifying, awaiting openings), else null. */
  readonly challenge: readonly number[] | null;
  /** Volunteers whose result for this unit was rejected. */
  readonly rejectedBy: readonly string[];
  readonly acceptedAt: number | null;
  /** Proof-of-work units once accepted: the nonces that met the full target; else null. */
  readonly solutions: readonly number[] | null;
  /**
   * Proof-of-work units: every share the result under judgement or accepted listed, ascending
   * (its solutions are among them), exported with the solutions. Absent otherwise, and in
   * records older than the field.
   */
  readonly shares?: readonly number[];
  /**
   * The backend and device the result under judgement (verifying) or accepted was computed with,
   * as its volunteer reported them: kept and exported, never trusted. Absent while no result is
   * in, in records older than the fields, and for an adapter the volunteer did not name.
   */
  readonly backend?: Backend;
  readonly adapter?: string;
  /**
   * Replicated jobs: the results (roots) other keys reported for this unit, awaiting a quorum
   * (verify-replicas.ts); kept once accepted, so a late replica is judged against them.
   * Absent for jobs without replication.
   */
  readonly votes?: readonly Vote[];
  /**
   * Keys that have held this unit's lease, oldest first, at most LEASE_HISTORY: an authenticated result
   * from a key not among them is a claim on work it was never given (judge.ts). Absent in
   * records older than the field.
   */
  readonly leasedTo?: readonly string[];
  /**
   * What a verifying unit awaits, and so what the host does when it comes (judge.ts): present
   * exactly while the unit is verifying, so a restarted host goes on where it stopped. Absent
   * otherwise.
   */
  readonly awaiting?: Awaiting;
  /**
   * The key whose hold of this unit runs now or ran last, and since when: heartbeats renew a
   * lease only up to the host's maximum hold counted from `since`, a key's own lapses and
   * regains included, and past it the key may not take the unit straight back (holds.ts). Kept
   * when the unit goes back to the queue; replaced when another key leases it. Absent in records
   * older than the field and in units never leased.
   */
  readonly hold?: Hold;
}

/** Who holds (or last held) a unit's lease, and since when (epoch ms). */
export interface Hold {
  readonly key: string;
  readonly since: number;
  /**
   * When the key's lease lapsed, while the unit waits in the queue for it: reserved to the key
   * for the host's grace period from then (holds.ts `reserved`). Absent while leased.
   */
  readonly lapsedAt?: number;
  /** The key said, with its last heartbeat, that it was pausing (a page being frozen): its reservation holds even at a job's end. */
  readonly pausing?: true;
}

/**
 * A unit's output as the volunteer uploaded it (rows of C as little-endian words, or the
 * digests), checked against its Merkle root. Kept by (unit, root): replicas that agree upload
 * the same bytes.
 */
export interface StoredOutput {
  readonly unitId: string;
  readonly root: string;
  readonly data: Uint8Array;
}

export const LEASE_HISTORY = 16;

/** One key's reported root for a replicated unit, with what the key says computed it (absent in votes older than the fields). */
export interface Vote {
  readonly key: string;
  readonly root: string;
  readonly backend?: Backend;
  readonly adapter?: string;
}

/**
 * A dataset the host serves (data/dataset.ts): its canonical bytes under their root. What the
 * bytes mean (a matrix's words, length-prefixed records) is for the job spec naming the root.
 */
export interface StoredDataset {
  /** The Merkle root over the bytes' chunks: 64 lower-case hex digits. */
  readonly root: string;
  readonly data: Uint8Array;
  /** Epoch ms of the first save. */
  readonly createdAt: number;
}

export interface StoredVolunteer {
  readonly id: string;
  readonly credit: number;
  readonly accepted: number;
  readonly rejected: number;
  /**
   * The donor's display name and team, as its key last set them (protocol `profile`): optional,
   * not unique, not trusted (protocol/display-name.ts). Absent when not given, and in records
   * older than the fields.
   */
  readonly name?: string;
  readonly team?: string;
  /** Epoch ms of the last profile change (changes are rate-limited per key, across restarts). */
  readonly profileAt?: number;
  /** Epoch ms the host last judged a result of this key or heard its profile. */
  readonly lastSeen?: number;
  /** Recent average credit, credit per day as of `racAt` (proof/recent-credit.ts). */
  readonly rac?: number;
  readonly racAt?: number;
}

/**
 * A team's totals: the credit its members earned *while in it* (as BOINC counts a team's
 * credit), so a donor who changes team leaves their past credit where it was earned. Keyed by
 * teamKeyOf(name); `name` is the spelling the team was first given.
 */
export interface StoredTeam {
  readonly key: string;
  readonly name: string;
  readonly credit: number;
  readonly accepted: number;
  readonly rac: number;
  readonly racAt: number;
  readonly lastSeen: number;
}

/** Proof, kept by host and volunteer, that a result was accepted and what it earned. */
export type StoredReceipt = Receipt;

/** One key's adaptive-trust record within one job (proof/trust.ts). */
export interface StoredTrust extends TrustState {
  readonly jobId: string;
  /** The volunteer's identity. */
  readonly key: string;
}

/** Everything committed together: upserts keyed by id (units by unitId, receipts by receiptId, trust by job and key). */
export interface StoreBatch {
  readonly jobs?: readonly StoredJob[];
  readonly units?: readonly StoredUnit[];
  readonly volunteers?: readonly StoredVolunteer[];
  readonly receipts?: readonly StoredReceipt[];
  readonly trust?: readonly StoredTrust[];
  /** Team totals, upserted by key. */
  readonly teams?: readonly StoredTeam[];
  /** Outputs to keep (upserted by unit and root). */
  readonly outputs?: readonly StoredOutput[];
  /** Outputs to delete: a replica's output whose root lost the vote. */
  readonly droppedOutputs?: readonly { readonly unitId: string; readonly root: string }[];
  /**
   * Jobs to delete, applied before the upserts: each job's record, its units, its trust records
   * and its units' kept outputs go. Receipts and volunteer totals stay: receipts already issued
   * remain the volunteers' proof of credit.
   */
  readonly deletedJobs?: readonly string[];
  /** Datasets to delete with them (the host lists those no remaining job reads), chunks and all. */
  readonly deletedDatasets?: readonly string[];
}

export interface HostSnapshot {
  readonly jobs: StoredJob[];
  readonly units: StoredUnit[];
  readonly volunteers: StoredVolunteer[];
  readonly receipts: StoredReceipt[];
  readonly trust: StoredTrust[];
  readonly teams: StoredTeam[];
}

/**
 * A caller's commits that build on one another: HostCore's, whose state in memory runs ahead of
 * its store while its commits wait for a group (sqlite-group-commit.ts). Once one of them fails
 * the store sets `failure` and applies none of the later ones, since their whole-row upserts may
 * carry what the failed one changed. A store that commits each batch by itself may ignore it.
 */
export interface CommitChain {
  failure?: unknown;
}

export interface HostStore {
  /** The last committed state; empty for a new store. */
  load(): Promise<HostSnapshot>;
  /**
   * Applies a batch atomically: all of it is durable when this resolves, or none of it. With
   * `chain`, a batch whose chain already failed is refused unapplied (CommitChain).
   */
  commit(batch: StoreBatch, chain?: CommitChain): Promise<void>;
  /**
   * True when commits made within one short window share one durable transaction (group
   * commit). A caller then gains from having several in flight: HostCore applies a message's
   * changes in memory at once and sends its replies when its commit resolves.
   */
  readonly groupsCommits?: boolean;
  /**
   * A unit's output for `root`, if one was kept. Outputs are not part of the snapshot: they can
   * be large (up to 4 MiB a unit), so they are read one at a time, when downloaded.
   */
  output(unitId: string, root: string): Promise<Uint8Array | undefined>;
  /**
   * The host's signing identity: it signs receipts, and volunteers prove their keys to it. Made
   * on first use and the same on every call; a durable store keeps it, so a restarted host signs
   * with the key its earlier receipts verify against. A memory store's key lasts as long as it.
   */
  hostIdentity(): Promise<Identity>;
  /**
   * Keeps a dataset. Datasets are big (up to 1 GiB) and immutable, so they are saved on their
   * own, outside any commit batch, and *before* the job naming them is committed: a committed
   * job never names a dataset the store lacks. Content-addressed, so saving a root already kept
   * changes nothing (its first `createdAt` stays). The caller vouches that `root` is the bytes'
   * root (data/dataset.ts buildDataset); the store does not hash them again.
   */
  saveDataset(dataset: StoredDataset): Promise<void>;
  /** The dataset kept under `root`, whole; undefined for a root never saved. */
  loadDataset(root: string): Promise<StoredDataset | undefined>;
  /** The roots of every kept dataset, in code-unit order. */
  datasetRoots(): Promise<string[]>;
  close(): Promise<void>;
}
