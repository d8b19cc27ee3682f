import { proxy, transfer, wrap, type Remote } from 'comlink';
import { throwIfAborted } from '../errors';
import type { TileConfig, TuneStore } from '../gpu/tune-cache';
import type { Backend, WorkUnit } from '../protocol';
import type { ComputeWorkerApi } from './compute-worker';
import type { EngineInfo, KernelOptions, Progress, UnitOutput } from './engine';
import computeWorkerUrl from './compute-worker.ts?worker&url';
import { installErrorTransfer } from '../thread/error-transfer';
import type { ResumeOptions, UnitInput } from './segments';
import { spawnModuleWorker } from '../thread/spawn';
import { parseBackend } from './backend-choice';
import { WorkerClock } from './worker-clock';

/** What the volunteer needs from a compute backend; the worker is one, the engine itself another. */
export interface UnitComputer {
  describe(): Promise<EngineInfo>;
  runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume?: ResumeOptions): Promise<UnitOutput>;
  /** Puts the next unit's inputs on the GPU while the current one computes (ComputeEngine.prepare); optional. */
  prepare?(unit: WorkUnit, inputs: readonly UnitInput[]): Promise<void>;
}

/**
 * The page's handle on the compute worker. The worker starts when this is created, and requests
 * no GPU until the first call. Every call takes an AbortSignal and a progress callback.
 */
export class ComputeClient implements UnitComputer {
  private readonly worker: Worker;
  private readonly remote: Remote<ComputeWorkerApi>;
  private nextCall = 1;
  private workerClock?: WorkerClock;

  /**
   * `tuneStore`: where tuned tile shapes are kept across reloads (the volunteer's store); the
   * worker reaches it through this page, so it opens no store of its own. `backend`: run every
   * kernel on it (engine.ts forceBackend) instead of choosing.
   */
  constructor(options: { readonly workerUrl?: URL; readonly tuneStore?: TuneStore; readonly backend?: Backend } = {}) {
    installErrorTransfer();
    // A bad value is refused here, before a worker starts.
    const backend = parseBackend(options.backend);
    // Vite bundles the worker (?worker&url); the library bundle may be on another origin (spawn.ts).
    this.worker = spawnModuleWorker(options.workerUrl ?? computeWorkerUrl, 'tabgrid-compute');
    this.remote = wrap<ComputeWorkerApi>(this.worker);
    // Before any unit, like the store below: every kernel then runs on it, or fails saying why.
    if (backend) void this.remote.forceBackend(backend).catch(() => undefined);
    const store = options.tuneStore;
    // Messages reach the worker in order, so the store is in place before the first unit.
    if (store)
      void this.remote.useTuneStore(
        proxy({ getTune: (key: string) => store.getTune(key), setTune: (key: string, config: TileConfig) => store.setTune(key, config) }),
      );
  }

  /**
   * Timers the worker keeps (worker-clock.ts), one set per client: a hidden page's own timers
   * slow to one a minute, the worker's do not. The volunteer session runs its heartbeats,
   * liveness, backoff and connect timeouts on them.
   */
  clock(): WorkerClock {
    if (!this.workerClock) {
      const channel = new MessageChannel();
      void this.remote.useClock(transfer(channel.port2, [channel.port2]));
      this.workerClock = new WorkerClock(channel.port1);
    }
    return this.workerClock;
  }

  describe(): Promise<EngineInfo> {
    return this.remote.describe();
  }

  runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume: ResumeOptions = {}): Promise<UnitOutput> {
    const { onCheckpoint, ...rest } = resume;
    // Callbacks cross to the worker as Comlink proxies.
    return this.invoke({ signal, onProgress }, (id, p) => this.remote.runUnit(id, unit, p, rest, onCheckpoint && proxy(onCheckpoint)));
  }

  /** Puts the next unit's inputs on the GPU while the current one computes (copied to the worker: the session keeps its own). */
  prepare(unit: WorkUnit, inputs: readonly UnitInput[]): Promise<void> {
    return this.remote.prepare(unit, inputs);
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
    this.workerClock?.close();
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
