/**
 * The PostgreSQL store's commit order, and group commit for its shared mode (docs/MULTI-HOST.md
 * "Group commit"). Every commit of one store runs in the order it was handed over. Shared
 * commits handed over while the previous round trip is in flight wait together and go as ONE
 * call of tabgrid_commit_group (pg-schema.ts): one round trip, one transaction, one WAL flush,
 * each batch in its own subtransaction, so a batch fenced by another process's adoption is
 * rolled back alone and its caller gets FencedCommit while the others commit. Other commits
 * (the snapshot port's, a batch with outputs, whose bytes go as bytea in statements of their
 * own) run alone, in their turn.
 *
 * Reads that memory builds on wait for the commits handed over before them (`flushed`): a read
 * of a row our own uncommitted group is about to change would return the row as it was, older
 * than memory, and overwrite memory with it.
 *
 * A failure that is not a fence (connection lost, server down) fails every batch of the group
 * and marks their chains (store.ts CommitChain): memory is ahead of the database for good, and
 * the chain's later batches are refused unapplied, as under SQLite's group commit. A fence does
 * not mark the chain: the batch's units went to another process, and the later batches that
 * write them are fenced in their turn by the same owner check (see the doc for the rest).
 */
import { ErrorCode, TabgridError } from '../../errors';
import { FencedCommit } from './shared-store';
import type { CommitChain } from './store';

/**
 * Batches in one group at most. Each batch is a subtransaction that writes, so it takes a
 * subtransaction id; PostgreSQL caches 64 of those per backend (PGPROC_MAX_CACHED_SUBXIDS), and
 * a transaction with more "overflows", which slows every other session's visibility checks
 * while it runs. Under load a group gathers what one round trip brings (a few to a few dozen).
 */
export const MAX_GROUP_BATCHES = 64;
/**
 * Bytes of JSON in one group at most (a batch alone may be larger): the group is one jsonb
 * parameter, held whole on both sides and parsed at once, and the first batch's reply waits for
 * the last batch's writes.
 */
export const MAX_GROUP_BYTES = 4 * 1024 * 1024;

/** One batch's outcome in its group: null when it committed. */
export type GroupOutcome = 'fenced' | null;

interface Waiting {
  readonly seq: number;
  /** {"b": batch, "n": notices}, as tabgrid_commit_group takes it. */
  readonly text: string;
  readonly unitIds: readonly string[];
  readonly keys: readonly string[];
  readonly chain: CommitChain | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class PgCommitQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** The group that waits for its turn (it takes batches until it starts, is full, or a commit alone comes after it). */
  private open?: Waiting[];
  private openBytes = 0;
  /** Commits handed over, and settled (in order: every commit up to `settled` is). */
  private handed = 0;
  private settled = 0;
  /** Keys (volunteer and trust records) that commits not yet settled change, with the last such commit. */
  private readonly pendingKeys = new Map<string, number>();
  private readonly waiters: { readonly seq: number; readonly resolve: () => void }[] = [];
  /** Groups sent, and batches in them. */
  groups = 0;
  batches = 0;

  /** `send` runs tabgrid_commit_group on a JSON array of batches and returns their outcomes, in order. */
  constructor(private readonly send: (group: string) => Promise<readonly GroupOutcome[]>) {}

  /** Runs `commit` alone, in turn after everything handed over before it; `keys` are the records it changes. */
  alone(commit: () => Promise<void>, keys: readonly string[] = [], chain?: CommitChain): Promise<void> {
    // Batches handed over after this one go in a later group.
    this.open = undefined;
    const seq = this.hand(keys);
    return this.enqueue(async () => {
      try {
        if (chain?.failure !== undefined) throw refused(chain.failure);
        await commit();
      } catch (err) {
        if (chain && !(err instanceof FencedCommit)) chain.failure ??= err;
        throw err;
      } finally {
        this.settle(seq, keys);
      }
    });
  }

  /**
   * Queues a shared batch (`text`: {"b": batch, "n": notices}) for the next group; resolves once
   * that group committed, rejects with FencedCommit naming `unitIds` when this batch was fenced.
   */
  grouped(text: string, unitIds: readonly string[], keys: readonly string[], chain?: CommitChain): Promise<void> {
    if (chain?.failure !== undefined) return Promise.reject(refused(chain.failure));
    const seq = this.hand(keys);
    return new Promise<void>((resolve, reject) => {
      if (!this.open || this.open.length >= MAX_GROUP_BATCHES || (this.open.length > 0 && this.openBytes + text.length > MAX_GROUP_BYTES)) this.start();
      this.open!.push({ seq, text, unitIds, keys, chain, resolve, reject });
      this.openBytes += text.length;
    });
  }

  /** Commits handed over and not yet settled. */
  get pending(): number {
    return this.handed - this.settled;
  }

  /** Resolves once every commit handed over so far (with `key`: every one that changes that key's records) has settled. */
  flushed(key?: string): Promise<void> {
    const seq = key === undefined ? this.handed : (this.pendingKeys.get(key) ?? 0);
    if (seq <= this.settled) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  private start(): void {
    const group: Waiting[] = [];
    this.open = group;
    this.openBytes = 0;
    void this.enqueue(async () => {
      if (this.open === group) this.open = undefined;
      await this.write(group);
    });
  }

  private async write(group: readonly Waiting[]): Promise<void> {
    const live: Waiting[] = [];
    for (const w of group) {
      if (w.chain?.failure !== undefined) w.reject(refused(w.chain.failure));
      else live.push(w);
    }
    try {
      if (live.length === 0) return;
      const outcomes = await this.send(`[${live.map((w) => w.text).join(',')}]`);
      if (outcomes.length !== live.length) throw new Error(`tabgrid_commit_group answered ${outcomes.length} outcomes for ${live.length} batches`);
      this.groups++;
      this.batches += live.length;
      live.forEach((w, i) => (outcomes[i] === 'fenced' ? w.reject(new FencedCommit(w.unitIds)) : w.resolve()));
    } catch (err) {
      for (const w of live) {
        if (w.chain) w.chain.failure ??= err;
        w.reject(err);
      }
    } finally {
      this.settle(
        group.at(-1)!.seq,
        group.flatMap((w) => w.keys),
      );
    }
  }

  private hand(keys: readonly string[]): number {
    const seq = ++this.handed;
    for (const k of keys) this.pendingKeys.set(k, seq);
    return seq;
  }

  private settle(seq: number, keys: readonly string[]): void {
    this.settled = Math.max(this.settled, seq);
    for (const k of keys) if ((this.pendingKeys.get(k) ?? 0) <= this.settled) this.pendingKeys.delete(k);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.seq <= this.settled) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Never rejects: each commit's caller has its own promise. */
  private enqueue(f: () => Promise<void>): Promise<void> {
    const run = this.tail.then(f);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** The error for a batch refused because an earlier batch of its chain failed. */
function refused(cause: unknown): TabgridError {
  return new TabgridError(ErrorCode.Storage, `not applied: an earlier commit it builds on failed (${cause instanceof Error ? cause.message : String(cause)})`, {
    cause,
  });
}
