/**
 * Matrix products on the CPU across several module workers (cpu-matmul-worker.ts), for
 * volunteers with no usable GPU. The rows of C are cut into bands that idle workers take in
 * turn; a worker receives B once per product (shared through a SharedArrayBuffer when the
 * context is cross-origin isolated, else copied) and a copy of each band of A it computes.
 *
 * Products run one at a time (later calls queue). Abort and terminate() kill the workers that
 * are busy, since a band cannot be interrupted; new ones start on the next call.
 * Where there is no Worker at all (Node), bands run in this thread, yielding between bands.
 */
import { transfer, wrap, type Remote } from 'comlink';
import type { Pace } from '../../duty-cycle';
import { ErrorCode, TabgridError } from '../../errors';
import { checkModulus, checkResidues, checkShape, type MatmulShape } from './matmul';
import { matmulF32Rows, matmulModpRows } from './matmul-cpu';
import { createSimdMatmul } from './matmul-simd';
import type { BandRequest, CpuKernelName, CpuMatmulWorkerApi } from './cpu-matmul-worker';
import cpuWorkerUrl from './cpu-matmul-worker.ts?worker&url';
import { installErrorTransfer } from '../../thread/error-transfer';
import { spawnModuleWorker } from '../../thread/spawn';

export interface CpuPoolOptions {
  /** Workers to run (default navigator.hardwareConcurrency); kept within 1..8. */
  readonly workers?: number;
  /** Rows per band (default: about three bands per worker, each worth ≥ 2^22 multiply-adds). */
  readonly bandRows?: number;
}

export interface CpuMatmulOptions {
  readonly signal?: AbortSignal;
  /** Rows of C finished so far, out of M; the last call has rowsDone = M. */
  readonly onProgress?: (rowsDone: number, totalRows: number) => void;
  /** The throttle: each worker idles after a band for its share of the time. */
  readonly pace?: Pace;
}

export const MAX_CPU_WORKERS = 8;
const BANDS_PER_WORKER = 3;
/** A smaller band costs more in messages (and packing A) than it gains in balance. */
const MIN_BAND_WORK = 2 ** 22;

type Operand = Float32Array | Uint32Array;

/** Where bands run: a worker, or this thread. `jobs` lists the products whose B it holds. */
interface Slot {
  readonly jobs: Set<number>;
  run(req: BandRequest): Promise<Operand>;
  kernel(): Promise<CpuKernelName>;
  drop(job: number): void;
  kill(): void;
}

class WorkerSlot implements Slot {
  readonly jobs = new Set<number>();
  private readonly worker: Worker;
  private readonly remote: Remote<CpuMatmulWorkerApi>;

  constructor(onCrash: (slot: WorkerSlot, err: Error) => void) {
    // From the compute worker's own origin, which may not be the page's (spawn.ts).
    this.worker = spawnModuleWorker(cpuWorkerUrl, 'tabgrid-cpu-matmul');
    // A worker that fails to load never answers Comlink, so its call must be failed here.
    this.worker.addEventListener('error', (e) => onCrash(this, new Error(`CPU matmul worker failed: ${(e as ErrorEvent).message || 'could not start'}`)));
    this.remote = wrap<CpuMatmulWorkerApi>(this.worker);
  }

  run(req: BandRequest): Promise<Operand> {
    return this.remote.run(transfer(req, [req.a.buffer]));
  }

  kernel(): Promise<CpuKernelName> {
    return this.remote.kernel();
  }

  drop(job: number): void {
    if (this.jobs.delete(job)) this.remote.drop(job).catch(() => undefined);
  }

  kill(): void {
    this.worker.terminate();
  }
}

/** The no-Worker fallback: same requests, computed here (SIMD if available). */
class InlineSlot implements Slot {
  readonly jobs = new Set<number>();
  private readonly simd = createSimdMatmul();
  private readonly bs = new Map<number, Operand>();

  async run({ job, kind, n, k, p, rowStart, rowEnd, a, b }: BandRequest): Promise<Operand> {
    await new Promise((r) => setTimeout(r, 0)); // lets an abort land between bands
    if (b) this.bs.set(job, b);
    const rows = rowEnd - rowStart;
    const shape = { m: rows, n, k };
    // Residues were checked by matmulModp before queueing (there is no worker to do it).
    const kernels = this.simd ?? { matmulF32Rows, matmulModpRows };
    if (kind === 'f32') {
      const out = new Float32Array(rows * n);
      kernels.matmulF32Rows(a as Float32Array, this.bs.get(job) as Float32Array, shape, 0, rows, out);
      return out;
    }
    const out = new Uint32Array(rows * n);
    kernels.matmulModpRows(a as Uint32Array, this.bs.get(job) as Uint32Array, shape, p, 0, rows, out);
    return out;
  }

  async kernel(): Promise<CpuKernelName> {
    return this.simd ? 'wasm-simd' : 'js';
  }

  drop(job: number): void {
    if (this.jobs.delete(job) && this.bs.delete(job)) this.simd?.release();
  }

  kill(): void {}
}

export class CpuMatmulPool {
  /** How many workers this pool runs at most. */
  readonly size: number;
  private readonly bandRows?: number;
  private readonly slots: (Slot | undefined)[];
  private readonly inline = typeof Worker === 'undefined';
  private tail: Promise<unknown> = Promise.resolve();
  /** Fails the running product (abort, crash, terminate). */
  private failCurrent?: (err: unknown) => void;
  private nextJob = 1;
  private terminated = false;

  constructor(options: CpuPoolOptions = {}) {
    const { workers, bandRows } = options;
    if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1))
      throw new TabgridError(ErrorCode.BadInput, `workers = ${workers} must be a positive integer`);
    if (bandRows !== undefined && !(Number.isInteger(bandRows) && bandRows >= 1))
      throw new TabgridError(ErrorCode.BadInput, `bandRows = ${bandRows} must be a positive integer`);
    const wanted = workers ?? globalThis.navigator?.hardwareConcurrency ?? 1;
    this.size = this.inline ? 1 : Math.max(1, Math.min(MAX_CPU_WORKERS, wanted));
    this.bandRows = bandRows;
    this.slots = new Array<Slot | undefined>(this.size);
    if (!this.inline) installErrorTransfer();
  }

  /** C = A·B in f32 (within f32ErrorBound of matmulF32Ref). */
  async matmulF32(a: Float32Array, b: Float32Array, shape: MatmulShape, opts: CpuMatmulOptions = {}): Promise<Float32Array> {
    checkShape(shape, a.length, b.length);
    return this.enqueue(opts.signal, () => this.run('f32', a, b, shape, 0, opts, new Float32Array(shape.m * shape.n)));
  }

  /** C = A·B mod p, exactly; residues are checked (in the workers) to be below p. */
  async matmulModp(a: Uint32Array, b: Uint32Array, shape: MatmulShape, p: number, opts: CpuMatmulOptions = {}): Promise<Uint32Array> {
    checkShape(shape, a.length, b.length);
    checkModulus(p);
    if (this.inline) {
      checkResidues('A', a, p);
      checkResidues('B', b, p);
    }
    return this.enqueue(opts.signal, () => this.run('modp', a, b, shape, p, opts, new Uint32Array(shape.m * shape.n)));
  }

  /** Which kernels the workers run (starts one worker if none is running). */
  async kernel(): Promise<CpuKernelName> {
    if (this.terminated) throw new TabgridError(ErrorCode.Aborted, 'the CPU matmul pool was terminated');
    return this.slot(0).kernel();
  }

  /** Stops every worker; the running and queued products fail with `aborted`. */
  terminate(): void {
    this.terminated = true;
    this.failCurrent?.(new TabgridError(ErrorCode.Aborted, 'the CPU matmul pool was terminated'));
    for (let i = 0; i < this.slots.length; i++) this.kill(i);
  }

  /** Runs products one after another; an abort while queued rejects at once. */
  private enqueue<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => {
      if (this.terminated) throw new TabgridError(ErrorCode.Aborted, 'the CPU matmul pool was terminated');
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

  private run<T extends Operand>(kind: 'f32' | 'modp', a: T, b: T, shape: MatmulShape, p: number, opts: CpuMatmulOptions, c: T): Promise<T> {
    const { m, n, k } = shape;
    const { signal, onProgress, pace } = opts;
    const bands = planBands(shape, this.size, this.bandRows);
    const job = this.nextJob++;
    const bSent = shareIfIsolated(b);
    return new Promise<T>((resolve, reject) => {
      let next = 0;
      let rowsDone = 0;
      let settled = false;
      const busy = new Set<number>();
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        this.failCurrent = undefined;
        signal?.removeEventListener('abort', onAbort);
        // Busy workers are computing discarded bands: stop them now rather than wait.
        for (const i of busy) this.kill(i);
        for (const slot of this.slots) slot?.drop(job);
        if (err === undefined) resolve(c);
        else reject(err);
      };
      const onAbort = () => finish(aborted(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.failCurrent = finish;
      // Gives slot i the next band; anything thrown here (or by onProgress) fails the product.
      const pump = (i: number): void => {
        if (settled) return;
        if (next === bands.length) {
          if (busy.size === 0) finish();
          return;
        }
        const [start, end] = bands[next++]!;
        try {
          const slot = this.slot(i);
          const first = !slot.jobs.has(job);
          slot.jobs.add(job);
          const req: BandRequest = { job, kind, n, k, p, rowStart: start, rowEnd: end, a: a.slice(start * k, end * k), ...(first ? { b: bSent } : {}) };
          busy.add(i);
          const started = performance.now();
          slot.run(req).then(
            (rows) => {
              busy.delete(i);
              if (settled) return;
              try {
                c.set(rows, start * n);
                rowsDone += end - start;
                onProgress?.(rowsDone, m);
              } catch (err) {
                finish(err);
              }
              if (!pace) return pump(i);
              // The worker idles before its next band; an abort meanwhile has already settled.
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
        } catch (err) {
          finish(err);
        }
      };
      for (let i = 0; i < Math.min(this.size, bands.length); i++) pump(i);
    });
  }

  /** The slot's worker, started on first use (or after it was killed). */
  private slot(i: number): Slot {
    let slot = this.slots[i];
    if (!slot) {
      slot = this.inline
        ? new InlineSlot()
        : new WorkerSlot((crashed, err) => {
            // A late error from a worker already replaced must not touch its successor.
            if (this.slots[i] !== crashed) return;
            this.kill(i);
            this.failCurrent?.(err);
          });
      this.slots[i] = slot;
    }
    return slot;
  }

  private kill(i: number): void {
    this.slots[i]?.kill();
    this.slots[i] = undefined;
  }
}

function aborted(signal: AbortSignal): TabgridError {
  return new TabgridError(ErrorCode.Aborted, 'aborted', { cause: signal.reason });
}

/** Row bands [start, end) covering 0..M: multiples of 4 rows (the SIMD tile height) where M allows. */
function planBands({ m, n, k }: MatmulShape, workers: number, fixed?: number): [number, number][] {
  let rows = fixed ?? Math.max(Math.ceil(MIN_BAND_WORK / (n * k)), Math.ceil(m / (workers * BANDS_PER_WORKER)));
  if (fixed === undefined) rows = Math.ceil(rows / 4) * 4;
  rows = Math.min(m, rows);
  const bands: [number, number][] = [];
  for (let start = 0; start < m; start += rows) bands.push([start, Math.min(m, start + rows)]);
  return bands;
}

/** B in a SharedArrayBuffer when that can cross postMessage (cross-origin isolation), else B. */
function shareIfIsolated<T extends Operand>(b: T): T {
  if (!globalThis.crossOriginIsolated || typeof SharedArrayBuffer !== 'function' || b.buffer instanceof SharedArrayBuffer) return b;
  const shared = (
    b instanceof Float32Array ? new Float32Array(new SharedArrayBuffer(b.byteLength)) : new Uint32Array(new SharedArrayBuffer(b.byteLength))
  ) as T;
  shared.set(b);
  return shared;
}
