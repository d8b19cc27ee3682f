import { ErrorCode, TabgridError, throwIfAborted } from '../errors';
import { withErrorScopes } from './device';
import type { Pace } from '../duty-cycle';
import type { DispatchPacer } from './pacer';

/** What every GPU kernel run takes besides its inputs. */
export interface RunOptions {
  readonly signal?: AbortSignal;
  /** The throttle, applied between dispatches. */
  readonly pace?: Pace;
  /** Called after each dispatch completes with the items (messages, nonces) done so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Allocates a kernel run's buffers and destroys them all when the run ends, however it ends. */
export class RunBuffers {
  private readonly owned: GPUBuffer[] = [];

  constructor(readonly device: GPUDevice) {}

  private make(size: number, usage: number, label: string, mapped = false): GPUBuffer {
    const buffer = this.device.createBuffer({ size: Math.max(16, alignTo(size, 4)), usage, label, mappedAtCreation: mapped });
    this.owned.push(buffer);
    return buffer;
  }

  /** A read-only storage buffer holding `bytes` (padded to a multiple of 4). */
  input(bytes: ArrayBufferView, label: string): GPUBuffer {
    const buffer = this.make(bytes.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label, true);
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    buffer.unmap();
    return buffer;
  }

  /**
   * A storage buffer the kernel writes, optionally pre-filled with a poison word so an element
   * the kernel failed to write cannot pass for a plausible value.
   */
  output(size: number, label: string, poison?: number): GPUBuffer {
    const buffer = this.make(size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label, poison !== undefined);
    if (poison !== undefined) {
      new Uint32Array(buffer.getMappedRange()).fill(poison);
      buffer.unmap();
    }
    return buffer;
  }

  uniform(size: number, label: string): GPUBuffer {
    return this.make(size, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label);
  }

  /** Copies `size` bytes of `source` back to the CPU. */
  async read(source: GPUBuffer, size: number): Promise<ArrayBuffer> {
    const staging = this.make(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${source.label} readback`);
    await withErrorScopes(this.device, () => {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(source, 0, staging, 0, alignTo(size, 4));
      this.device.queue.submit([encoder.finish()]);
    });
    await staging.mapAsync(GPUMapMode.READ, 0, alignTo(size, 4));
    return staging.getMappedRange(0, alignTo(size, 4)).slice(0, size);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}

/** Writes a dispatch's parameters, then encodes and submits one compute pass of it. */
export function submitDispatch(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
  params: { buffer: GPUBuffer; words: Uint32Array },
  x: number,
  y = 1,
): void {
  device.queue.writeBuffer(params.buffer, 0, params.words);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(x, y);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

export function alignTo(n: number, k: number): number {
  return Math.ceil(n / k) * k;
}

/**
 * Runs `body` with a fresh RunBuffers, destroying them after. Failures that are not already
 * TabgridErrors (mapAsync or onSubmittedWorkDone rejecting) mean the device went away.
 */
export async function withRunBuffers<T>(device: GPUDevice, body: (buffers: RunBuffers) => Promise<T>): Promise<T> {
  const buffers = new RunBuffers(device);
  try {
    return await body(buffers);
  } catch (err) {
    if (err instanceof TabgridError) throw err;
    throw new TabgridError(ErrorCode.DeviceLost, `the GPU work failed: ${String(err)}`, { cause: err });
  } finally {
    buffers.destroy();
  }
}

export interface PacedRun {
  readonly device: GPUDevice;
  /** Items to process (messages, tile rows, nonces…). */
  readonly total: number;
  readonly pacer: DispatchPacer;
  /** Encodes and submits the dispatch covering items [start, start + count). */
  readonly dispatch: (start: number, count: number) => void;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
  /** The throttle: idles after each dispatch for its share of the time (duty-cycle.ts). */
  readonly pace?: Pace;
}

/**
 * Covers [0, total) in dispatches the pacer sizes, waiting for each to finish before the next,
 * so that progress is real, abort acts between dispatches and no dispatch runs long.
 */
export async function runPaced(run: PacedRun): Promise<void> {
  const { device, total, pacer } = run;
  for (let done = 0; done < total;) {
    throwIfAborted(run.signal);
    const count = pacer.next(total - done);
    const started = performance.now();
    await withErrorScopes(device, () => run.dispatch(done, count));
    await device.queue.onSubmittedWorkDone();
    const ms = performance.now() - started;
    pacer.record(count, ms);
    done += count;
    run.onProgress?.(done, total);
    await run.pace?.rest(ms, run.signal);
  }
}
