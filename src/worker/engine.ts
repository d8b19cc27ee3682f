import { ErrorCode, TabgridError, isTabgridError, throwIfAborted } from '../errors';
import { GpuDevices, type AdapterSummary } from '../gpu/device';
import { Sha256Gpu } from '../gpu/sha256-gpu';
import { createCpuSha256, type Hasher } from '../hash/sha256-cpu';
import { seededBatch, sha256BatchCpu, type MessageBatch } from '../kernels/sha256-batch';
import { Backend, Kernel, type WorkUnit } from '../protocol';

export interface EngineInfo {
  readonly backend: Backend;
  readonly adapter?: AdapterSummary;
  /** Why the GPU is not used, when it is not. */
  readonly reason?: string;
}

export interface UnitOutput {
  /** count × 32 digest bytes. */
  readonly digests: Uint8Array;
  readonly backend: Backend;
}

export type Progress = (done: number, total: number) => void;

/** Messages hashed between abort checks on the CPU path. */
const CPU_SLICE = 2048;

/**
 * Runs kernels on the best backend this context has: WebGPU when an adapter exists, else the
 * CPU (hash-wasm). Lives in the compute worker; tests drive it directly in a page.
 */
export class ComputeEngine {
  private readonly devices: GpuDevices;
  private readonly sha256: Sha256Gpu;
  private cpuHash?: Promise<Hasher>;
  private info?: Promise<EngineInfo>;

  constructor(options: { gpu?: () => GPU | undefined } = {}) {
    this.devices = new GpuDevices({}, options.gpu);
    this.sha256 = new Sha256Gpu(this.devices);
  }

  /** Which backend runs, decided once (first call requests the adapter). */
  describe(): Promise<EngineInfo> {
    this.info ??= this.devices.adapter().then(
      (adapter): EngineInfo => ({ backend: Backend.WebGpu, adapter }),
      (err: unknown): EngineInfo => ({ backend: Backend.Cpu, reason: err instanceof Error ? err.message : String(err) }),
    );
    return this.info;
  }

  async runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress): Promise<UnitOutput> {
    if (unit.kernel !== Kernel.Sha256Batch) throw new TabgridError(ErrorCode.BadInput, `unknown kernel ${String(unit.kernel)}`);
    const batch = seededBatch(unit.seed, unit.count, unit.messageLength);
    return this.sha256Batch(batch, signal, onProgress);
  }

  async sha256Batch(batch: MessageBatch, signal?: AbortSignal, onProgress?: Progress): Promise<UnitOutput> {
    const { backend } = await this.describe();
    if (backend === Backend.WebGpu) {
      try {
        return { digests: await this.sha256.hash(batch, { signal, onProgress }), backend };
      } catch (err) {
        // A lost device is replaced once; the batch reruns from the start on the new one.
        if (!isTabgridError(err, ErrorCode.DeviceLost)) throw err;
        return { digests: await this.sha256.hash(batch, { signal, onProgress }), backend };
      }
    }
    return { digests: await this.sha256Cpu(batch, signal, onProgress), backend };
  }

  private async sha256Cpu(batch: MessageBatch, signal?: AbortSignal, onProgress?: Progress): Promise<Uint8Array> {
    this.cpuHash ??= createCpuSha256();
    const hash = await this.cpuHash;
    const count = batch.lengths.length;
    const out = new Uint8Array(count * 32);
    for (let from = 0; from < count; from += CPU_SLICE) {
      throwIfAborted(signal);
      const to = Math.min(count, from + CPU_SLICE);
      sha256BatchCpu(batch, hash, from, to, out);
      onProgress?.(to, count);
      // Yield so an abort sent to this worker is seen between slices.
      await new Promise((r) => setTimeout(r, 0));
    }
    return out;
  }

  /** Destroys the GPU device (tests use it to simulate a loss). */
  loseDevice(): void {
    this.devices.destroy();
  }
}
