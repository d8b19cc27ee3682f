import type { ChallengedUnit } from '../protocol';
import type { Recomputer } from './recomputer';

/** What the Settler tells the host once a recomputation ends: the root, or why there is none. */
export type Settlement = { readonly root: string } | { readonly error: string };

export interface SettlerOptions {
  readonly recomputer: Recomputer;
  /** Applies a settlement in the host's message queue (judge, commit, notify). */
  readonly settle: (unitId: string, settlement: Settlement) => Promise<void>;
  /** Units of one job awaiting the host's computation at once (its budget; default 2). */
  readonly perJob?: number;
  readonly log?: (line: string) => void;
}

interface Pending {
  readonly unit: ChallengedUnit;
  readonly voters: readonly string[];
}

/**
 * The host's own computations of units whose replicas all disagree, kept out of the message
 * queue: units wait here in order and are computed one at a time by the Recomputer; each result
 * is applied through `settle`. Bounded: a job may have `perJob` units waiting, and a key may
 * be a voter in one at a time, so cheap keys cannot queue up work for the host. When there is no
 * room, the judge asks for another replica instead (judge.ts).
 */
export class Settler {
  private readonly pending = new Map<string, Pending>();
  private readonly order: string[] = [];
  private running = false;
  private readonly abort = new AbortController();

  constructor(private readonly options: SettlerOptions) {}

  /** Whether a unit of `jobId` voted on by `voters` may be recomputed now. */
  hasRoom(jobId: string, voters: readonly string[]): boolean {
    let inJob = 0;
    for (const p of this.pending.values()) {
      if (p.unit.jobId === jobId) inJob++;
      if (p.voters.some((v) => voters.includes(v))) return false;
    }
    return inJob < (this.options.perJob ?? 2);
  }

  /** Units waiting or being computed. */
  get size(): number {
    return this.pending.size;
  }

  /** Queues a unit (once; a unit already queued is left where it is). */
  schedule(unit: ChallengedUnit, voters: readonly string[]): void {
    if (this.abort.signal.aborted || this.pending.has(unit.unitId)) return;
    this.pending.set(unit.unitId, { unit, voters });
    this.order.push(unit.unitId);
    void this.drain();
  }

  close(): void {
    this.abort.abort();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let id = this.order.shift(); id !== undefined && !this.abort.signal.aborted; id = this.order.shift()) {
        const p = this.pending.get(id)!;
        const started = Date.now();
        let settlement: Settlement;
        try {
          settlement = { root: await this.options.recomputer.root(p.unit, this.abort.signal) };
          this.options.log?.(`computed ${id} to settle its replicas (${Date.now() - started} ms, off the message queue)`);
        } catch (err) {
          settlement = { error: err instanceof Error ? err.message : String(err) };
        }
        if (this.abort.signal.aborted) break;
        try {
          await this.options.settle(id, settlement);
        } catch (err) {
          this.options.log?.(`settling ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        this.pending.delete(id);
      }
    } finally {
      this.running = false;
    }
  }
}
