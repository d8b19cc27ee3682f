import { concat } from '../bytes';
import { ErrorCode, TabgridError, isTabgridError } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import { leafBytesOf } from '../kernels/units';
import { unitSize, type Receipt, type WorkUnit } from '../protocol';
import { sentResult, type Sent } from './results';
import { HeldState, type VolunteerStore } from './store/volunteer-store';

/** A checkpoint of a unit not yet finished: the progress reached and the output so far. */
export interface Resumable {
  readonly done: number;
  readonly data: Uint8Array;
}

/** What a reloaded page finds it was holding for one host. */
export interface Restored {
  /** Units leased and not finished, in the order leased; some with a checkpoint in `partial`. */
  readonly queue: WorkUnit[];
  readonly partial: Map<string, Resumable>;
  /** Finished results with no verdict yet: the outbox, sent again on connect. */
  readonly sent: Map<string, Sent>;
  readonly receipts: Receipt[];
}

/**
 * A volunteer session's record of its work in a VolunteerStore, for one host: units held,
 * checkpoints, the outbox, receipts. Writes run one at a time in the order made, so a
 * checkpoint never lands after the finish it precedes. A failing store never stops the
 * computing: the failure is kept in `problem` (the widget shows it) and the work goes on
 * without resume. Without a store every method does nothing.
 */
export class Journal {
  /** The last storage failure, if any (storage-full when over quota). */
  problem?: TabgridError;
  /** Checkpoints written (landed in the store). */
  checkpoints = 0;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: VolunteerStore | undefined,
    private readonly hostId: string,
    /** Called when `problem` or `checkpoints` changes. */
    private readonly onChange: () => void,
  ) {}

  get enabled(): boolean {
    return this.store !== undefined;
  }

  /** Rebuilds the outbox's results (their trees and commitments) from their leaves. */
  async restore(hash: Hasher): Promise<Restored> {
    const restored: Restored = { queue: [], partial: new Map(), sent: new Map(), receipts: [] };
    const store = this.store;
    if (!store) return restored;
    try {
      for (const h of await store.held(this.hostId)) {
        const id = h.unit.unitId;
        if (h.state !== HeldState.Sent) {
          restored.queue.push(h.unit);
          if (h.done > 0) restored.partial.set(id, { done: h.done, data: h.data });
          continue;
        }
        const sent = sentResult(h.unit, { leaves: h.data, leafBytes: leafBytesOf(h.unit), backend: h.backend! }, unitSize(h.unit), hash);
        // A record that no longer matches its root is damaged: compute the unit again.
        if (sent.root === h.root) restored.sent.set(id, sent);
        else restored.queue.push(h.unit);
      }
      restored.receipts.push(...(await store.receipts(this.hostId)));
    } catch (err) {
      this.fail(err);
    }
    return restored;
  }

  hold(unit: WorkUnit): Promise<void> {
    return this.write((s) => s.hold(this.hostId, unit));
  }

  /**
   * A checkpoint writer for one run of `unitId` that starts from `from` (its output so far is
   * `from.data`); `latest()` gives the newest checkpoint, to resume from after a pause. `close()`
   * ends the run: checkpoints that come after it are stale and dropped.
   */
  checkpointer(
    unitId: string,
    from: Resumable | undefined,
  ): { write: (done: number, append: Uint8Array) => void; latest: () => Resumable | undefined; close: () => void } {
    let latest = from;
    let atBytes = from?.data.length ?? 0;
    // After a failed write the stored record is behind: later appends could only fail too.
    let broken = false;
    // The worker's checkpoint calls travel on their own port and can land after the run's result
    // (or after a pause took `latest`): the finished output, or the next run, supersedes them.
    let closed = false;
    return {
      write: (done, append) => {
        if (closed) return;
        const at = atBytes;
        atBytes += append.length;
        latest = { done, data: concat([latest?.data ?? new Uint8Array(0), append]) };
        void this.write(async (s) => {
          if (broken) return;
          try {
            await s.checkpoint(this.hostId, unitId, { done, atBytes: at, append });
            this.checkpoints++;
            this.onChange();
          } catch (err) {
            broken = true;
            throw err;
          }
        });
      },
      latest: () => latest,
      close: () => {
        closed = true;
      },
    };
  }

  /** The whole output, into the outbox; resolves once written (or failed), before the send. */
  finish(unitId: string, result: Sent): Promise<void> {
    return this.write((s) => s.finish(this.hostId, unitId, { done: result.total, data: result.leaves, root: result.root, backend: result.backend }));
  }

  settle(unitId: string, receipt: Receipt | undefined): Promise<void> {
    return this.write((s) => s.settle(this.hostId, unitId, receipt));
  }

  forget(unitId: string): Promise<void> {
    return this.write((s) => s.forget(this.hostId, unitId));
  }

  /** Resolves when every write made so far has landed or failed. */
  flush(): Promise<void> {
    return this.writes;
  }

  private write(op: (store: VolunteerStore) => Promise<void>): Promise<void> {
    const store = this.store;
    if (!store) return Promise.resolve();
    this.writes = this.writes.then(() => op(store)).catch((err: unknown) => this.fail(err));
    return this.writes;
  }

  private fail(err: unknown): void {
    this.problem = isTabgridError(err) ? err : new TabgridError(ErrorCode.Storage, String(err), { cause: err });
    console.warn(`tabgrid: storage failed (${this.problem.code}): ${this.problem.message}; computing goes on without resume`);
    this.onChange();
  }
}
