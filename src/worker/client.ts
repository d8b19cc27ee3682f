import { proxy, wrap, type Remote } from 'comlink';
import { throwIfAborted } from '../errors';
import type { MatmulShape } from '../kernels/matmul';
import type { MessageBatch } from '../kernels/sha256-batch';
import type { PowResult } from '../kernels/sha256d-pow';
import type { WorkUnit } from '../protocol';
import type { ComputeWorkerApi } from './compute-worker';
import type { DigestsOutput, EngineInfo, KernelOptions, Progress, UnitOutput, WithBackend } from './engine';
import computeWorkerUrl from './compute-worker.ts?worker&url';
import { installErrorTransfer } from './error-transfer';
import type { ResumeOptions } from './segments';
import { spawnModuleWorker } from './spawn';

/** What the volunteer needs from a compute backend; the worker is one, the engine itself another. */
export interface UnitComputer {
  describe(): Promise<EngineInfo>;
  runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume?: ResumeOptions): Promise<UnitOutput>;
}

/**
 * The page's handle on the compute worker. The worker starts when this is created, and requests
 * no GPU until the first call. Every call takes an AbortSignal and a progress callback.
 */
export class ComputeClient implements UnitComputer {
  private readonly worker: Worker;
  private readonly remote: Remote<ComputeWorkerApi>;
  private nextCall = 1;

  constructor(workerUrl?: URL) {
    installErrorTransfer();
    // Vite bundles the worker (?worker&url); the library bundle may be on another origin (spawn.ts).
    this.worker = spawnModuleWorker(workerUrl ?? computeWorkerUrl, 'tabgrid-compute');
    this.remote = wrap<ComputeWorkerApi>(this.worker);
  }

  describe(): Promise<EngineInfo> {
    return this.remote.describe();
  }

  runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume: ResumeOptions = {}): Promise<UnitOutput> {
    const { onCheckpoint, ...rest } = resume;
    // Callbacks cross to the worker as Comlink proxies.
    return this.invoke({ signal, onProgress }, (id, p) => this.remote.runUnit(id, unit, p, rest, onCheckpoint && proxy(onCheckpoint)));
  }

  sha256Batch(batch: MessageBatch, opts: KernelOptions = {}): Promise<DigestsOutput> {
    return this.invoke(opts, (id, p) => this.remote.sha256Batch(id, batch, p));
  }

  matmulF32(a: Float32Array, b: Float32Array, shape: MatmulShape, opts: KernelOptions = {}): Promise<WithBackend<{ c: Float32Array }>> {
    return this.invoke(opts, (id, p) => this.remote.matmulF32(id, a, b, shape, p));
  }

  matmulModp(a: Uint32Array, b: Uint32Array, shape: MatmulShape, p: number, opts: KernelOptions = {}): Promise<WithBackend<{ c: Uint32Array }>> {
    return this.invoke(opts, (id, progress) => this.remote.matmulModp(id, a, b, shape, p, progress));
  }

  powSearch(
    header: Uint8Array,
    start: number,
    count: number,
    target: Uint8Array,
    shareTarget: Uint8Array,
    opts: KernelOptions = {},
  ): Promise<WithBackend<PowResult & { overflowed: number }>> {
    return this.invoke(opts, (id, p) => this.remote.powSearch(id, header, start, count, target, shareTarget, p));
  }

  /**
   * Share of compute time to use, 0.1..1: after each dispatch or slice of t ms the worker
   * idles t·(1 − share)/share ms (see duty-cycle.ts). Takes effect within a quarter second.
   */
  setThrottle(share: number): Promise<void> {
    return this.remote.setThrottle(share);
  }

  /** Destroys the worker's GPU device; the next call recovers on a new one. */
  loseDevice(): Promise<void> {
    return this.remote.loseDevice();
  }

  terminate(): void {
    this.worker.terminate();
  }

  /** Gives the call an id, forwards an abort to the worker by that id, proxies progress. */
  private async invoke<T>(opts: KernelOptions, run: (callId: number, onProgress?: Progress) => Promise<T>): Promise<T> {
    throwIfAborted(opts.signal);
    const callId = this.nextCall++;
    const abort = () => void this.remote.abort(callId);
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      return await run(callId, opts.onProgress ? proxy(opts.onProgress) : undefined);
    } finally {
      opts.signal?.removeEventListener('abort', abort);
    }
  }
}
