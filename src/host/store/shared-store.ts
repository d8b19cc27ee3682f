/**
 * The narrower port several host processes share one database through (docs/MULTI-HOST.md),
 * beside the snapshot HostStore: a process does not load every unit, it claims the units it
 * leases (SKIP LOCKED, a few at a time), adopts those of processes that died, and commits
 * fenced by ownership. Volunteers, trust and teams are written as increments, so two processes
 * crediting one key both count. Only PgHostStore implements it; SQLite, IndexedDB and memory
 * stay single-process snapshot stores.
 */
import type { HostMessage } from '../../protocol';
import type {
  CommitChain,
  HostSnapshot,
  HostStore,
  StoreBatch,
  StoredReceipt,
  StoredTeam,
  StoredTrust,
  StoredUnit,
  StoredUnitState,
  StoredVolunteer,
} from './store';

/** Units a process took over, with their receipts (a late duplicate result is answered with its receipt). */
export interface Claimed {
  readonly units: StoredUnit[];
  readonly receipts: StoredReceipt[];
}

/** What this process read of the records a batch changes: the increments are the batch's values less these. */
export interface BatchBase {
  readonly volunteers: ReadonlyMap<string, StoredVolunteer>;
  readonly teams: ReadonlyMap<string, StoredTeam>;
  /** By JSON.stringify([jobId, key]). */
  readonly trust: ReadonlyMap<string, StoredTrust>;
}

export type UnitCounts = Record<StoredUnitState, number> & { total: number };

/** A batch wrote a unit this process no longer owns (another process adopted it): nothing of the batch was kept. */
export class FencedCommit extends Error {
  constructor(readonly unitIds: readonly string[]) {
    super(`another host process took over unit(s) ${unitIds.slice(0, 4).join(', ')}${unitIds.length > 4 ? ', …' : ''}`);
  }
}

const TEAM_NOTICE = 'team:';

/**
 * A team's name among a notice's keys (`team:<key>`, beside volunteer keys, which are hex): a
 * team's totals change with every process's keys in it, so each process reads them again.
 */
export function teamNoticeKey(team: string): string {
  return TEAM_NOTICE + team;
}

/** The team a notice key names, or undefined for a volunteer key. */
export function teamOfNoticeKey(key: string): string | undefined {
  return key.startsWith(TEAM_NOTICE) ? key.slice(TEAM_NOTICE.length) : undefined;
}

/**
 * What one process tells the others on commit (PostgreSQL NOTIFY, delivered only once its
 * transaction commits): the keys whose records it changed, so readers drop what they cached of
 * them, and messages owed to volunteers (replica verdicts) that may be connected elsewhere.
 */
export type SharedNotice =
  | { readonly kind: 'keys'; readonly from: string; readonly keys: readonly string[] }
  | { readonly kind: 'owed'; readonly from: string; readonly to: string; readonly message: HostMessage };

export interface SharedListener {
  /** Another process's notice. */
  notice(notice: SharedNotice): void;
  /** Notices may have been missed (the listening connection dropped, or is back): forget all that notices keep fresh. */
  reset(): void;
}

export interface SharedHostStore extends HostStore {
  /** This process's id among the host processes of the database (owner of the units it claims). */
  readonly processId: string;
  /** Says this process is alive (the database's clock); a process silent for PROCESS_TTL_MS is dead and its units free. */
  beat(): Promise<void>;
  /** Jobs, volunteers, trust and teams: no units and no receipts (they come with claims). */
  loadShared(): Promise<HostSnapshot>;
  /** Runs `f` holding the database's lock on job creation, so two processes starting on one job file add it once. */
  exclusive<T>(f: () => Promise<T>): Promise<T>;
  /** Up to `n` queued units of `jobId` that no live process owns, in index order, now this process's. */
  claim(jobId: string, n: number): Promise<Claimed>;
  /** The named units (any state), where no live process but this one owns them, now this process's. */
  adopt(unitIds: readonly string[]): Promise<Claimed>;
  /** Units `key` holds (leased or verifying) that no live process owns: a volunteer coming from a dead process. */
  adoptHeldBy(key: string): Promise<Claimed>;
  /** Leased or verifying units of dead processes whose lease ran out before `before` (their holders never came back), at most `n`. */
  adoptLapsed(before: number, n: number): Promise<Claimed>;
  /** Whether the unit exists and a live process other than this one owns it. */
  heldElsewhere(unitId: string): Promise<boolean>;
  /** Ids of the units this process owns that are not accepted (what its memory should hold). */
  ownedUnitIds(): Promise<string[]>;
  /** Gives queued units back to the pool (this process has nobody asking for them). */
  release(unitIds: readonly string[]): Promise<void>;
  /** The key's volunteer record and trust records as the database has them now (another process may have banned it). */
  refreshKey(key: string): Promise<{ volunteer?: StoredVolunteer; trust: StoredTrust[] }>;
  /**
   * The teams' records as the database has them now, once this process's own commits to them in
   * flight are in (a read older than memory would overwrite it); teams it has no record of are left out.
   */
  teamsNow(keys: readonly string[]): Promise<StoredTeam[]>;
  /** Units by state over the whole database (jobs cancelled included, as HostState.counts). */
  counts(): Promise<UnitCounts>;
  /** Whether units remain that are not accepted, the queued units of cancelled jobs aside. */
  remaining(): Promise<number>;
  /**
   * Commits a batch fenced by ownership, records as increments over `base`, and in the same
   * transaction tells the other processes the keys it changed and `owed` (messages for keys
   * that may be connected to them). Throws FencedCommit. With `chain`, a batch whose chain
   * already failed is refused unapplied, and a failure that is not a fence marks the chain
   * (CommitChain: under group commit, the caller applied the batch before it was durable).
   */
  commitShared(
    batch: StoreBatch,
    base: BatchBase,
    owed?: readonly { readonly to: string; readonly message: HostMessage }[],
    chain?: CommitChain,
  ): Promise<void>;
  /** Hands the other processes' notices to `listener` from now on (one listener; a later call replaces it). */
  listen(listener: SharedListener): void;
  /** Whether notices are being received now: while false, nothing a notice would refresh may be taken as fresh. */
  readonly listening: boolean;
  /** Marks this process gone (its units free at once); close() does it too. */
  retire(): Promise<void>;
}

export function isSharedStore(store: HostStore): store is SharedHostStore {
  return 'commitShared' in store && typeof (store as Partial<SharedHostStore>).commitShared === 'function';
}

/** A process that has not beaten for this long is dead: its units may be adopted. */
export const PROCESS_TTL_MS = 5000;
