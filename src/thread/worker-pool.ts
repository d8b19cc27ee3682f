/**
 * A pool of slots (module workers, or this thread where there is no Worker) that runs one job
 * at a time as pieces: idle slots take the next piece in turn, so a job uses every core and a
 * slow slot takes fewer pieces. The kernels' CPU paths build on it (kernels/matmul/cpu-pool.ts
 * for products, kernels/cpu-hash/pool.ts for hashing).
 *
 * Jobs run one at a time (later calls queue). A piece cannot be interrupted, so an abort, a
 * crash or terminate() kills the slots that are busy; new ones start on the next piece. After
 * every piece its slot rests for the throttle (duty-cycle.ts) before taking another.
 */
import type { Pace } from '../duty-cycle';
import { ErrorCode, TabgridError } from '../errors';

/** Where pieces run; the pool only needs to stop it. */
export interface PoolSlot {
  kill(): void;
}

export interface JobOptions<S extends PoolSlot> {
  readonly signal?: AbortSignal;
  /** The throttle: each slot idles after a piece for its share of the time. */
  readonly pace?: Pace;
  /** Called once the job has settled, on every slot still alive (to forget what it kept for the job). */
  readonly release?: (slot: S) => void;
}

/** The most workers a pool runs: more cores than this rarely help one volunteer's units. */
export const MAX_POOL_WORKERS = 8;

/** The pool's size from a wanted worker count (default: the cores), within 1..MAX_POOL_WORKERS; 1 where there is no Worker. */
export function poolSize(workers: number | undefined, inline: boolean): number {
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1))
    throw new TabgridError(ErrorCode.BadInput, `workers = ${workers} must be a positive integer`);
  const wanted = workers ?? globalThis.navigator?.hardwareConcurrency ?? 1;
  return inline ? 1 : Math.max(1, Math.min(MAX_POOL_WORKERS, wanted));
}

export class WorkerPool<S extends PoolSlot> {
  private readonly slots: (S | undefined)[];
  private tail: Promise<unknown> = Promise.resolve();
  /** Fails the running job (abort, crash, terminate). */
  private failCurrent?: (err: unknown) => void;
  private stopped = false;

  /**
   * `spawn` makes slot i's worker; it calls `onCrash` if the worker dies or fails to load (a
   * worker that never loads never answers, so its piece must be failed from outside).
   */
  constructor(
    readonly size: number,
    private readonly name: string,
    private readonly spawn: (onCrash: (err: Error) => void) => S,
  ) {
    this.slots = new Array<S | undefined>(size);
  }

  get terminated(): boolean {
    return this.stopped;
  }

  /**
   * Runs `work` on every piece, pieces handed to idle slots in order, and gives each result to
   * `done` (never after the job settled); resolves when all are done, rejects with the first
   * failure (what `work` or `done` throws, an abort, a crash).
   */
  run<P, R>(
    pieces: readonly P[],
    work: (slot: S, piece: P, index: number) => Promise<R>,
    done: (result: R, piece: P, index: number) => void,
    options: JobOptions<S> = {},
  ): Promise<void> {
    return this.enqueue(options.signal, () => this.runNow(pieces, work, done, options));
  }

  /** Slot i, its worker started on first use (or after it was killed). */
  slot(i: number): S {
    if (this.stopped) throw this.terminatedError();
    let slot = this.slots[i];
    if (!slot) {
      const made: S = this.spawn((err) => {
        // A late error from a worker already replaced must not touch its successor.
        if (this.slots[i] !== made) return;
        this.kill(i);
        this.failCurrent?.(err);
      });
      slot = made;
      this.slots[i] = slot;
    }
    return slot;
  }

  /** Stops every worker; the running and queued jobs fail with `aborted`. */
  terminate(): void {
    this.stopped = true;
    this.failCurrent?.(this.terminatedError());
    for (let i = 0; i < this.slots.length; i++) this.kill(i);
  }

  private terminatedError(): TabgridError {
    return new TabgridError(ErrorCode.Aborted, `${this.name} was terminated`);
  }

  /** Runs jobs one after another; an abort while queued rejects at once. */
  private enqueue<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => {
      if (this.stopped) throw this.terminatedError();
      if (signal?.aborted) throw aborted(signal);
      return work();
    });
    this.tail = result.catch(() => undefined);
    if (!signal) return result;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(aborted(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      result.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private runNow<P, R>(
    pieces: readonly P[],
    work: (slot: S, piece: P, index: number) => Promise<R>,
    done: (result: R, piece: P, index: number) => void,
    options: JobOptions<S>,
  ): Promise<void> {
    const { signal, pace, release } = options;
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let settled = false;
      const busy = new Set<number>();
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        this.failCurrent = undefined;
        signal?.removeEventListener('abort', onAbort);
        // Busy workers are computing discarded pieces: stop them now rather than wait.
        for (const i of busy) this.kill(i);
        if (release) for (const slot of this.slots) if (slot) release(slot);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = () => finish(aborted(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.failCurrent = finish;
      // Gives slot i the next piece; anything thrown here or by `work` fails the job.
      const pump = (i: number): void => {
        if (settled) return;
        if (next === pieces.length) {
          if (busy.size === 0) finish();
          return;
        }
        const index = next++;
        busy.add(i);
        const started = performance.now();
        let running: Promise<R>;
        try {
          running = work(this.slot(i), pieces[index]!, index);
        } catch (err) {
          running = Promise.reject(err);
        }
        running.then(
          (result) => {
            busy.delete(i);
            if (settled) return;
            try {
              done(result, pieces[index]!, index);
            } catch (err) {
              return finish(err);
            }
            if (!pace) return pump(i);
            // The slot idles before its next piece; an abort meanwhile has already settled.
            pace.rest(performance.now() - started, signal).then(
              () => pump(i),
              () => undefined,
            );
          },
          (err: unknown) => {
            busy.delete(i);
            finish(err);
          },
        );
      };
      if (pieces.length === 0) return finish();
      for (let i = 0; i < Math.min(this.size, pieces.length); i++) pump(i);
    });
  }

  private kill(i: number): void {
    this.slots[i]?.kill();
    this.slots[i] = undefined;
  }
}

export function aborted(signal: AbortSignal): TabgridError {
  return new TabgridError(ErrorCode.Aborted, 'aborted', { cause: signal.reason });
}
