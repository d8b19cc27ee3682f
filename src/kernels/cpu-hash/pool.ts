/**
 * CPU hashing on every core: the CPU paths of sha256-batch and sha256d-pow cut a unit's
 * messages or nonce range into pieces that a pool of module workers (hash-worker.ts) takes in
 * turn (thread/worker-pool.ts, shared with the matmul CPU pool). Results are put back in
 * piece order, so they are the single-thread results bit for bit. Each worker rests after a
 * piece for the throttle; an abort kills the busy workers (a piece cannot be interrupted).
 * Where there is no Worker at all (Node), pieces run in this thread, yielding between pieces.
 */
import type { Remote } from 'comlink';
import { createCpuSha256, type Hasher } from '../../hash/sha256-cpu';
import { installErrorTransfer } from '../../thread/error-transfer';
import { spawnRemote } from '../../thread/spawn';
import { poolSize, WorkerPool, type PoolSlot } from '../../thread/worker-pool';
import { DIGEST_BYTES } from '../sha256-batch/batch';
import { sha256BatchInputs } from '../sha256-batch/inputs';
import type { Sha256BatchUnit } from '../sha256-batch/unit';
import { validatePowSearch } from '../sha256d-pow/pow';
import type { KernelContext, KernelOptions } from '../worker-kernel';
import type { CpuHashWorkerApi } from './hash-worker';
import hashWorkerUrl from './hash-worker.ts?worker&url';
import { hashPiece, type HashPiece, type PieceResult } from './pieces';

export interface CpuHashPoolOptions {
  /** Workers to run (default navigator.hardwareConcurrency); kept within 1..8. */
  readonly workers?: number;
}

/** Pieces per worker a job is cut into at least, so a slower worker does not hold the job up. */
const PIECES_PER_WORKER = 4;
/**
 * Message bytes per piece, between these: below, a piece costs more in messages than it
 * gains; above, a piece runs long enough (tens of ms) to blur the throttle and delay an abort.
 */
const MIN_PIECE_BYTES = 2 ** 16;
const MAX_PIECE_BYTES = 2 ** 21;
/** Nonces per piece, between these, for the same reasons (JS does a few million a second). */
const MIN_PIECE_NONCES = 4096;
const MAX_PIECE_NONCES = 65536;

interface Slot extends PoolSlot {
  run(piece: HashPiece): Promise<PieceResult>;
}

class WorkerSlot implements Slot {
  private readonly worker: Worker;
  private readonly remote: Remote<CpuHashWorkerApi>;

  constructor(onCrash: (err: Error) => void) {
    // From the compute worker's own origin, which may not be the page's (spawn.ts).
    ({ worker: this.worker, remote: this.remote } = spawnRemote<CpuHashWorkerApi>(hashWorkerUrl, 'tabgrid-cpu-hash', 'CPU hash worker', onCrash));
  }

  run(piece: HashPiece): Promise<PieceResult> {
    // Pieces are small (a unit, or a header and targets): copied, and the caller keeps them.
    return this.remote.run(piece);
  }

  kill(): void {
    this.worker.terminate();
  }
}

/** The no-Worker fallback: the same pieces, computed here. */
class InlineSlot implements Slot {
  private hasher?: Promise<Hasher>;

  async run(piece: HashPiece): Promise<PieceResult> {
    await new Promise((r) => setTimeout(r, 0)); // lets an abort land between pieces
    this.hasher ??= createCpuSha256();
    return hashPiece(piece, await this.hasher);
  }

  kill(): void {}
}

/** [first, count) runs covering start..end, `per` items each. */
function cut(start: number, end: number, per: number): [number, number][] {
  const out: [number, number][] = [];
  for (let at = start; at < end; at += per) out.push([at, Math.min(end, at + per) - at]);
  return out;
}

const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

export class CpuHashPool {
  /** How many workers this pool runs at most. */
  readonly size: number;
  private readonly inline = typeof Worker === 'undefined';
  private readonly pool: WorkerPool<Slot>;

  constructor(options: CpuHashPoolOptions = {}) {
    this.size = poolSize(options.workers, this.inline);
    if (!this.inline) installErrorTransfer();
    this.pool = new WorkerPool<Slot>(this.size, 'the CPU hash pool', (onCrash) => (this.inline ? new InlineSlot() : new WorkerSlot(onCrash)));
  }

  /** Digests of messages [start, end) of a sha256-batch unit, back to back; progress counts messages. */
  async sha256Batch(unit: Sha256BatchUnit, start: number, end: number, options: KernelOptions = {}): Promise<Uint8Array> {
    const count = end - start;
    const bytes = Math.max(unit.records ? unit.records.length / unit.count : unit.messageLength, 64);
    const messages = unit.records ? sha256BatchInputs(unit) : undefined;
    const per = clamp(
      Math.ceil(count / (this.size * PIECES_PER_WORKER)),
      Math.max(1, Math.floor(MIN_PIECE_BYTES / bytes)),
      Math.max(1, Math.floor(MAX_PIECE_BYTES / bytes)),
    );
    const out = new Uint8Array(count * DIGEST_BYTES);
    let done = 0;
    await this.pool.run(
      cut(start, end, per),
      (slot, [first, n]) => slot.run({ kind: 'sha256-batch', unit, first, count: n, ...(messages ? { messages: messages.batch(first, n) } : {}) }),
      (digests, [first, n]) => {
        out.set(digests as Uint8Array, (first - start) * DIGEST_BYTES);
        done += n;
        options.onProgress?.(done, count);
      },
      { signal: options.signal, pace: options.pace },
    );
    return out;
  }

  /** The shares and solutions among nonces [start, start + count), ascending; progress counts nonces. */
  async powSearch(
    header: Uint8Array,
    start: number,
    count: number,
    target: Uint8Array,
    shareTarget: Uint8Array,
    options: KernelOptions = {},
  ): Promise<{ shares: number[]; solutions: number[] }> {
    // Refused here, once, rather than in every worker.
    validatePowSearch(header, start, count, target, shareTarget);
    const per = clamp(Math.ceil(count / (this.size * PIECES_PER_WORKER)), MIN_PIECE_NONCES, MAX_PIECE_NONCES);
    const pieces = cut(start, start + count, per);
    const found: { shares: number[]; solutions: number[] }[] = [];
    let done = 0;
    await this.pool.run(
      pieces,
      (slot, [first, n]) => slot.run({ kind: 'sha256d-pow', header, target, shareTarget, start: first, count: n }),
      (result, [, n], index) => {
        found[index] = result as { shares: number[]; solutions: number[] };
        done += n;
        options.onProgress?.(done, count);
      },
      { signal: options.signal, pace: options.pace },
    );
    // Pieces are in nonce order, so their results joined in that order stay ascending.
    return { shares: found.flatMap((r) => r.shares), solutions: found.flatMap((r) => r.solutions) };
  }

  /** Stops every worker; the running and queued jobs fail with `aborted`. */
  terminate(): void {
    this.pool.terminate();
  }
}

/** The engine's one hash pool, shared by sha256-batch and sha256d-pow, stopped with the engine. */
export const hashPoolOf = (context: KernelContext) =>
  context.shared(
    'cpu-hash/pool',
    () => new CpuHashPool(context.cpuWorkers === undefined ? {} : { workers: context.cpuWorkers }),
    (pool) => pool.terminate(),
  );
