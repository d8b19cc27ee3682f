/**
 * Group commit for the SQLite host store: the batches committed while the previous group's
 * fsync was in flight share one transaction and one fsync, and every caller's promise resolves
 * only once that fsync returned.
 *
 * The durable point is an fsync of the WAL file that this module runs itself, asynchronously
 * (fs.fsync on libuv's thread pool), after COMMIT returned. The connection runs with
 * `synchronous = NORMAL`, under which SQLite's COMMIT writes the transaction's WAL frames (so a
 * killed process loses nothing written) and syncs only around checkpoints; FULL differs from it
 * by exactly one fsync of the WAL after each commit (sqlite.org/pragma.html#pragma_synchronous),
 * and that is the fsync this module runs, once per group. It does not block the event loop, so
 * the host decides the next messages while it runs. The window is "while the previous fsync is in
 * flight, and at least GROUP_SPACING_MS since the previous group began": no added wait on an idle
 * host (a lone commit is written on the next turn and its fsync starts at once), and under load
 * a group gathers what a few milliseconds bring.
 * A group written but not yet synced is visible to other readers of the file (verify-credit, an
 * export) before it is durable; nothing the host announces is.
 *
 * A group is first written without savepoints, the usual case being that no batch fails. If one
 * throws, that attempt is rolled back whole and the group written again with each batch in its
 * own savepoint (better-sqlite3 nests a transaction function as one): a batch that throws (a
 * constraint, a value SQLite refuses) is rolled back alone and its caller gets the error, while
 * the other batches of the group still commit. Batches of a chain
 * (store.ts CommitChain) that come after a failed one are refused unapplied. An error that ends
 * the whole transaction (disk full, I/O error: SQLite rolls it back itself), a failed COMMIT or
 * a failed fsync fails every batch of the group, and marks their chains.
 */
import { fsync, fsyncSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import type { CommitChain, StoreBatch } from './store';

interface Waiting {
  readonly batch: StoreBatch;
  readonly chain: CommitChain | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Groups start at least this far apart. A commit on a host that wrote no group for this long is
 * written on the next turn (no wait when idle); under load the commits of the next few ms join
 * one group. An fsync alone is too short a window on a fast disk (3–4 batches a group at 32
 * volunteers); 4 ms gathers about 10, which cut the host's CPU a unit by a fifth (`npm run bench
 * -- --store`), while 10 ms started to cost units/s (the volunteers wait on their replies).
 */
export const GROUP_SPACING_MS = 4;

/** The error for a batch refused because an earlier batch of its chain failed. */
export class ChainFailed extends Error {
  constructor(cause: unknown) {
    super(`not applied: an earlier commit it builds on failed (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  }
}

export class GroupCommit {
  /** Committed, not yet written. */
  private waiting: Waiting[] = [];
  /** Written, waiting for an fsync that starts after their COMMIT. */
  private written: Waiting[] = [];
  /** The fsync in flight: it ends with the promise (never rejecting: its batches are settled by then). */
  private syncing: Promise<void> | undefined;
  private scheduled = false;
  /** When the last group was written (performance.now()): the next waits until GROUP_SPACING_MS after it. */
  private startedAt = Number.NEGATIVE_INFINITY;
  /** Groups written, and batches in them (the bench reports the mean group size). */
  groups = 0;
  batches = 0;

  /**
   * `apply` writes one batch as a transaction function (db.transaction), which nests as a
   * savepoint inside the group's transaction; `wrap` turns a failure into the store's error;
   * `walFd` is an open descriptor of the database's WAL file (undefined for ':memory:', where a
   * group is as durable as it gets once written).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly apply: (batch: StoreBatch) => void,
    /** The same writes without a savepoint of their own: the fast path, taken while no batch fails. */
    private readonly applyBare: (batch: StoreBatch) => void,
    private readonly wrap: (err: unknown) => Error,
    private readonly walFd: number | undefined,
  ) {}

  /** Queues `batch` for the next group; resolves once that group is written and synced. */
  commit(batch: StoreBatch, chain?: CommitChain): Promise<void> {
    if (chain?.failure !== undefined) return Promise.reject(this.wrap(new ChainFailed(chain.failure)));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ batch, chain, resolve, reject });
      // While an fsync runs, its end schedules the next group.
      if (!this.syncing) this.schedule();
    });
  }

  /** Writes and syncs what waits at the end of this turn of the event loop (or GROUP_SPACING_MS after the last group), so every message read meanwhile joins. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.startedAt = performance.now();
      this.write();
      this.sync();
    };
    const wait = GROUP_SPACING_MS - (performance.now() - this.startedAt);
    if (wait > 0) setTimeout(go, wait);
    else setImmediate(go);
  }

  /** Whether batches wait to be written (readers write them first, so they see every commit made). */
  get pending(): boolean {
    return this.waiting.length > 0;
  }

  /**
   * Writes the waiting batches as one transaction now (their promises wait for the next fsync):
   * what a reader calls so it sees every commit made before it.
   */
  write(): void {
    const group = this.waiting;
    this.waiting = [];
    if (group.length === 0) return;
    if (this.writeBare(group)) return;
    const failures = new Map<Waiting, unknown>();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const w of group) {
        if (w.chain?.failure !== undefined) {
          failures.set(w, new ChainFailed(w.chain.failure));
          continue;
        }
        try {
          this.apply(w.batch);
        } catch (err) {
          // Rolled back to its savepoint; unless SQLite ended the whole transaction, the rest goes on.
          if (!this.db.inTransaction) throw err;
          failures.set(w, err);
          if (w.chain) w.chain.failure = err;
        }
      }
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.fail(group, err);
      return;
    }
    this.groups++;
    this.batches += group.length;
    for (const w of group) {
      if (failures.has(w)) w.reject(this.wrap(failures.get(w)));
      else this.written.push(w);
    }
  }

  /**
   * The usual case, where no batch fails: the group in one transaction without a savepoint per
   * batch (two statements a batch fewer). False, with nothing written, when a batch threw or the
   * transaction failed: the caller then writes the group batch by batch in savepoints, which
   * sorts out whose fault it was.
   */
  private writeBare(group: readonly Waiting[]): boolean {
    const refused: Waiting[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const w of group) {
        if (w.chain?.failure !== undefined) refused.push(w);
        else this.applyBare(w.batch);
      }
      this.db.exec('COMMIT');
    } catch {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      return false;
    }
    this.groups++;
    this.batches += group.length;
    for (const w of group) {
      if (refused.includes(w)) w.reject(this.wrap(new ChainFailed(w.chain!.failure)));
      else this.written.push(w);
    }
    return true;
  }

  /** Starts an fsync for what is written, unless one is in flight (its end starts the next). */
  private sync(): void {
    if (this.syncing || this.written.length === 0) return;
    const group = this.written;
    this.written = [];
    const fd = this.walFd;
    if (fd === undefined) {
      for (const w of group) w.resolve();
      return;
    }
    this.syncing = new Promise<void>((ended) =>
      fsync(fd, (err) => {
        this.syncing = undefined;
        if (err) this.fail(group, err);
        else for (const w of group) w.resolve();
        ended();
        // What came in meanwhile is the next group.
        if (this.waiting.length > 0 || this.written.length > 0) this.schedule();
      }),
    );
  }

  /** Writes and syncs everything still waiting, at once (the store is closing). */
  async drain(): Promise<void> {
    // An fsync's end may start the next: wait until none runs.
    while (this.syncing) await this.syncing;
    this.write();
    const group = this.written;
    this.written = [];
    if (group.length === 0) return;
    try {
      if (this.walFd !== undefined) fsyncSync(this.walFd);
    } catch (err) {
      this.fail(group, err);
      return;
    }
    for (const w of group) w.resolve();
  }

  private fail(group: readonly Waiting[], err: unknown): void {
    for (const w of group) {
      if (w.chain) w.chain.failure ??= err;
      w.reject(this.wrap(err));
    }
  }
}
