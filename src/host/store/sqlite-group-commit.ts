/**
 * Group commit for the SQLite host store: the batches committed while the event loop was busy
 * share one durable transaction (one WAL fsync under `synchronous = FULL`), and every caller's
 * promise resolves only after that COMMIT returned.
 *
 * The window: on an idle store (no group written in the last GROUP_WINDOW_MS) a commit is
 * written on the next turn of the event loop, so a lone message waits for no timer. On a busy
 * one it waits GROUP_WINDOW_MS for company. "While the previous fsync is in flight" alone does
 * not group: better-sqlite3 fsyncs on the event loop, and a message's turn spans several loop
 * turns (its ECDSA verification and receipt signing are asynchronous WebCrypto), so the next
 * turn finds one or two batches staged (measured: 1.5 a group, against 10 with 3 ms).
 *
 * Each batch runs in its own savepoint (better-sqlite3 nests a transaction function as one): a
 * batch that throws (a constraint, a value SQLite refuses) is rolled back alone and its caller
 * gets the error, while the other batches of the group still commit. Batches of a chain
 * (store.ts CommitChain) that come after a failed one are refused unapplied. An error that ends
 * the whole transaction (disk full, I/O error: SQLite rolls it back itself) or a failed COMMIT
 * fails every batch of the group.
 */
import type Database from 'better-sqlite3';
import type { CommitChain, StoreBatch } from './store';

/**
 * How long a busy store gathers commits before it writes them: measured (npm run bench -- --store),
 * 3 ms groups about 10 messages at 32 volunteers and takes a unit's fsync wait from 3.7 ms to
 * 0.1 ms, while a reply waits at most this long for its group.
 */
export const GROUP_WINDOW_MS = 3;

interface Waiting {
  readonly batch: StoreBatch;
  readonly chain: CommitChain | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** The error for a batch refused because an earlier batch of its chain failed. */
export class ChainFailed extends Error {
  constructor(cause: unknown) {
    super(`not applied: an earlier commit it builds on failed (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  }
}

export class GroupCommit {
  private waiting: Waiting[] = [];
  /** Cancels the scheduled write, while one is scheduled. */
  private timer: (() => void) | undefined;
  private lastFlush = -Infinity;
  /** Groups written, and batches in them (the bench reports the mean group size). */
  groups = 0;
  batches = 0;

  /**
   * `apply` writes one batch as a transaction function (db.transaction), which nests as a
   * savepoint inside the group's transaction; `wrap` turns a failure into the store's error.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly apply: (batch: StoreBatch) => void,
    private readonly wrap: (err: unknown) => Error,
    private readonly windowMs = GROUP_WINDOW_MS,
  ) {}

  private cancelTimer(): void {
    this.timer?.();
    this.timer = undefined;
  }

  /** Queues `batch` for the next group; resolves once that group's COMMIT returned. */
  commit(batch: StoreBatch, chain?: CommitChain): Promise<void> {
    if (chain?.failure !== undefined) return Promise.reject(this.wrap(new ChainFailed(chain.failure)));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ batch, chain, resolve, reject });
      if (this.timer !== undefined) return;
      // Busy (the last group was written less than a window ago): wait the window for more. Idle: the next turn.
      const busy = performance.now() - this.lastFlush < this.windowMs;
      if (busy) {
        const t = setTimeout(() => this.flush(), this.windowMs);
        this.timer = () => clearTimeout(t);
      } else {
        const t = setImmediate(() => this.flush());
        this.timer = () => clearImmediate(t);
      }
    });
  }

  /** Whether batches wait for a group (readers flush first, so they see every commit made). */
  get pending(): boolean {
    return this.waiting.length > 0;
  }

  /** Writes the waiting batches as one transaction now, and settles their promises in order. */
  flush(): void {
    this.cancelTimer();
    this.lastFlush = performance.now();
    const group = this.waiting;
    this.waiting = [];
    if (group.length === 0) return;
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
      for (const w of group) {
        if (w.chain) w.chain.failure ??= err;
        w.reject(this.wrap(err));
      }
      return;
    }
    this.groups++;
    this.batches += group.length;
    for (const w of group) {
      if (failures.has(w)) w.reject(this.wrap(failures.get(w)));
      else w.resolve();
    }
  }
}
