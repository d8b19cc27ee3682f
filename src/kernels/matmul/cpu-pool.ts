/**
 * Matrix products on the CPU across several module workers (cpu-matmul-worker.ts), for
 * volunteers with no usable GPU, on the shared pool (thread/worker-pool.ts). The rows of C are
 * cut into bands that idle workers take in turn; a worker receives B once per product (shared through a SharedArrayBuffer when the
 * context is cross-origin isolated, else copied) and a copy of each band of A it computes.
 *
 * Products run one at a time (later calls queue). Abort and terminate() kill the workers that
 * are busy, since a band cannot be interrupted; new ones start on the next call.
 * Where there is no Worker at all (Node), bands run in this thread, yielding between bands.
 */
import { transfer, type Remote } from 'comlink';
import type { Pace } from '../../duty-cycle';
import { ErrorCode, TabgridError } from '../../errors';
import { checkModulus, checkResidues, checkShape, type MatmulShape } from './matmul';
import { matmulF32Rows, matmulModpRows } from './matmul-cpu';
import { createSimdMatmul } from './matmul-simd';
import type { BandRequest, CpuKernelName, CpuMatmulWorkerApi } from './cpu-matmul-worker';
import cpuWorkerUrl from './cpu-matmul-worker.ts?worker&url';
import { installErrorTransfer } from '../../thread/error-transfer';
import { spawnRemote } from '../../thread/spawn';
import { poolSize, WorkerPool, type PoolSlot } from '../../thread/worker-pool';

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

const BANDS_PER_WORKER = 3;
/** A smaller band costs more in messages (and packing A) than it gains in balance. */
const MIN_BAND_WORK = 2 ** 22;

type Operand = Float32Array | Uint32Array;

/** Where bands run: a worker, or this thread. `jobs` lists the products whose B it holds. */
interface Slot extends PoolSlot {
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

  constructor(onCrash: (err: Error) => void) {
    // From the compute worker's own origin, which may not be the page's (spawn.ts).
    ({ worker: this.worker, remote: this.remote } = spawnRemote<CpuMatmulWorkerApi>(cpuWorkerUrl, 'tabgrid-cpu-matmul', 'CPU matmul worker', onCrash));
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
  private readonly inline = typeof Worker === 'undefined';
  private readonly pool: WorkerPool<Slot>;
  private nextJob = 1;

  constructor(options: CpuPoolOptions = {}) {
    const { workers, bandRows } = options;
    if (bandRows !== undefined && !(Number.isInteger(bandRows) && bandRows >= 1))
      throw new TabgridError(ErrorCode.BadInput, `bandRows = ${bandRows} must be a positive integer`);
    this.size = poolSize(workers, this.inline);
    this.bandRows = bandRows;
    if (!this.inline) installErrorTransfer();
    this.pool = new WorkerPool<Slot>(this.size, 'the CPU matmul pool', (onCrash) => (this.inline ? new InlineSlot() : new WorkerSlot(onCrash)));
  }

  /** C = A·B in f32 (within f32ErrorBound of matmulF32Ref). */
  async matmulF32(a: Float32Array, b: Float32Array, shape: MatmulShape, opts: CpuMatmulOptions = {}): Promise<Float32Array> {
    checkShape(shape, a.length, b.length);
    return this.run('f32', a, b, shape, 0, opts, new Float32Array(shape.m * shape.n));
  }

  /** C = A·B mod p, exactly; residues are checked (in the workers) to be below p. */
  async matmulModp(a: Uint32Array, b: Uint32Array, shape: MatmulShape, p: number, opts: CpuMatmulOptions = {}): Promise<Uint32Array> {
    checkShape(shape, a.length, b.length);
    checkModulus(p);
    if (this.inline) {
      checkResidues('A', a, p);
      checkResidues('B', b, p);
    }
    return this.run('modp', a, b, shape, p, opts, new Uint32Array(shape.m * shape.n));
  }

  /** Which kernels the workers run (starts one worker if none is running). */
  async kernel(): Promise<CpuKernelName> {
    return this.pool.slot(0).kernel();
  }

  /** Stops every worker; the running and queued products fail with `aborted`. */
  terminate(): void {
    this.pool.terminate();
  }

  private async run<T extends Operand>(kind: 'f32' | 'modp', a: T, b: T, shape: MatmulShape, p: number, opts: CpuMatmulOptions, c: T): Promise<T> {
    const { m, n, k } = shape;
    const bands = planBands(shape, this.size, this.bandRows);
    const job = this.nextJob++;
    const bSent = shareIfIsolated(b);
    let rowsDone = 0;
    await this.pool.run(
      bands,
      (slot, [start, end]) => {
        // B crosses once per worker and product; the worker keeps it until drop().
        const first = !slot.jobs.has(job);
        slot.jobs.add(job);
        return slot.run({ job, kind, n, k, p, rowStart: start, rowEnd: end, a: a.slice(start * k, end * k), ...(first ? { b: bSent } : {}) });
      },
      (rows, [start, end]) => {
        c.set(rows, start * n);
        rowsDone += end - start;
        opts.onProgress?.(rowsDone, m);
      },
      { signal: opts.signal, pace: opts.pace, release: (slot) => slot.drop(job) },
    );
    return c;
  }
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
