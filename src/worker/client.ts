import { proxy, wrap, type Remote } from 'comlink';
import type { WorkUnit } from '../protocol';
import type { ComputeWorkerApi } from './compute-worker';
import type { EngineInfo, Progress, UnitOutput } from './engine';
import { installErrorTransfer } from './error-transfer';
import { ErrorCode, TabgridError } from '../errors';

/** What the volunteer needs from a compute backend; the worker is one, a test double another. */
export interface UnitComputer {
  describe(): Promise<EngineInfo>;
  runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress): Promise<UnitOutput>;
}

/**
 * The page's handle on the compute worker. The worker starts when this is created, and requests
 * no GPU until the first call.
 */
export class ComputeClient implements UnitComputer {
  private readonly worker: Worker;
  private readonly remote: Remote<ComputeWorkerApi>;
  private nextCall = 1;

  constructor(workerUrl?: URL) {
    installErrorTransfer();
    // Written out literally so Vite sees and bundles the worker.
    this.worker = workerUrl
      ? new Worker(workerUrl, { type: 'module', name: 'tabgrid-compute' })
      : new Worker(new URL('./compute-worker.ts', import.meta.url), { type: 'module', name: 'tabgrid-compute' });
    this.remote = wrap<ComputeWorkerApi>(this.worker);
  }

  describe(): Promise<EngineInfo> {
    return this.remote.describe();
  }

  async runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress): Promise<UnitOutput> {
    if (signal?.aborted) throw new TabgridError(ErrorCode.Aborted, 'aborted');
    const callId = this.nextCall++;
    const abort = () => void this.remote.abort(callId);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      return await this.remote.runUnit(callId, unit, onProgress ? proxy(onProgress) : undefined);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Destroys the worker's GPU device; the next call recovers on a new one. */
  loseDevice(): Promise<void> {
    return this.remote.loseDevice();
  }

  terminate(): void {
    this.worker.terminate();
  }
}
