import { ErrorCode, TabgridError, throwIfAborted } from '../errors';
import { bufferPoolOf, type BufferPool } from './buffer-pool';
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

const SCOPES = ['internal', 'out-of-memory', 'validation'] as const;

/**
 * Validation, out-of-memory and internal error scopes around each piece of GPU work, popped in
 * the same synchronous step they were pushed in (so runs interleaved on one device never pop
 * each other's scopes) but not waited for there: a run checks them all at its end, and between
 * dispatches fails at once on any that has already reported, so no error passes silently and
 * no dispatch waits for a round trip to learn that nothing went wrong.
 */
export class ErrorWatch {
  private readonly pops: Promise<GPUError | null>[] = [];
  private first?: GPUError;

  constructor(readonly device: GPUDevice) {}

  /** Runs `work` (synchronous GPU calls) inside the scopes. */
  run<T>(work: () => T): T {
    for (const scope of SCOPES) this.device.pushErrorScope(scope);
    try {
      return work();
    } finally {
      for (let i = 0; i < SCOPES.length; i++) {
        const pop = this.device.popErrorScope();
        this.pops.push(pop);
        void pop.then(
          (e) => {
            if (e && !this.first) this.first = e;
          },
          () => undefined,
        );
      }
    }
  }

  /** Throws if a scope has reported an error already (cheap: waits for nothing). */
  throwIfFailed(): void {
    if (this.first) throw gpuError(this.first);
  }

  /** Waits for every scope and throws the first error any caught. */
  async check(): Promise<void> {
    const pops = this.pops.splice(0);
    let errors: (GPUError | null)[];
    try {
      errors = await Promise.all(pops);
    } catch (err) {
      throw new TabgridError(ErrorCode.DeviceLost, `the GPU work failed: ${String(err)}`, { cause: err });
    }
    const first = this.first ?? errors.find((e) => e !== null);
    if (first) throw gpuError(first);
  }
}

function gpuError(e: GPUError): TabgridError {
  return new TabgridError(ErrorCode.GpuError, `WebGPU error: ${e.message}`);
}

const STORAGE_IN = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
const STORAGE_OUT = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * A kernel run's buffers, borrowed from the device's pool (buffer-pool.ts) and all returned when
 * the run ends, however it ends; the pool lends them again only after the run's queued work is
 * done. Inputs are written with queue.writeBuffer (no mapping), outputs cleared (or poisoned) on
 * the queue, so a reused buffer never shows a previous run's values, and readbacks go through a
 * pooled staging buffer.
 */
export class RunBuffers {
  private readonly owned: GPUBuffer[] = [];
  readonly errors: ErrorWatch;

  constructor(
    readonly device: GPUDevice,
    readonly pool: BufferPool = bufferPoolOf(device),
  ) {
    this.errors = new ErrorWatch(device);
  }

  private take(size: number, usage: number, label: string): GPUBuffer {
    const buffer = this.pool.acquire(Math.max(16, alignTo(size, 4)), usage, label);
    this.owned.push(buffer);
    return buffer;
  }

  /** A read-only storage buffer holding `bytes` (padded to a multiple of 4). */
  input(bytes: ArrayBufferView, label: string): GPUBuffer {
    const buffer = this.take(bytes.byteLength, STORAGE_IN(), label);
    this.errors.run(() => writeBytes(this.device.queue, buffer, 0, bytes));
    return buffer;
  }

  /** A storage buffer of `size` bytes the caller fills on the GPU (generated inputs); its old contents stay until then. */
  scratch(size: number, label: string): GPUBuffer {
    return this.take(size, STORAGE_OUT(), label);
  }

  /**
   * A storage buffer the kernel writes, zeroed, or filled with a poison word so an element the
   * kernel failed to write cannot pass for a plausible value.
   */
  output(size: number, label: string, poison?: number): GPUBuffer {
    const buffer = this.take(size, STORAGE_OUT(), label);
    const bytes = alignTo(size, 4);
    this.errors.run(() => {
      if (poison !== undefined) {
        this.device.queue.writeBuffer(buffer, 0, new Uint32Array(bytes / 4).fill(poison));
      } else {
        const encoder = this.device.createCommandEncoder();
        encoder.clearBuffer(buffer, 0, alignTo(bytes, 4));
        this.device.queue.submit([encoder.finish()]);
      }
    });
    return buffer;
  }

  uniform(size: number, label: string): GPUBuffer {
    return this.take(size, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label);
  }

  /** Copies `size` bytes of `source` back to the CPU. */
  async read(source: GPUBuffer, size: number): Promise<ArrayBuffer> {
    return (await this.readMany([{ source, size }]))[0]!;
  }

  /** Copies several buffers' leading bytes back in one submit and one map. */
  async readMany(parts: readonly { source: GPUBuffer; size: number }[]): Promise<ArrayBuffer[]> {
    const offsets: number[] = [];
    let total = 0;
    for (const p of parts) {
      offsets.push(total);
      total += alignTo(p.size, 8);
    }
    const staging = this.pool.acquire(Math.max(16, total), GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${parts[0]?.source.label} readback`);
    try {
      this.errors.run(() => {
        const encoder = this.device.createCommandEncoder();
        parts.forEach((p, i) => encoder.copyBufferToBuffer(p.source, 0, staging, offsets[i]!, alignTo(p.size, 4)));
        this.device.queue.submit([encoder.finish()]);
      });
      await staging.mapAsync(GPUMapMode.READ, 0, Math.max(8, total));
      const range = staging.getMappedRange(0, Math.max(8, total));
      const out = parts.map((p, i) => range.slice(offsets[i]!, offsets[i]! + p.size));
      staging.unmap();
      return out;
    } finally {
      if (staging.mapState !== 'unmapped') staging.unmap();
      // Mapped means the copy is done: nothing queued reads it any more.
      this.pool.release(staging, Promise.resolve());
    }
  }

  /** Returns every buffer to the pool (lent again once the work queued so far is done). */
  destroy(): void {
    const done = this.owned.length > 0 && !this.pool.isDestroyed ? this.device.queue.onSubmittedWorkDone() : undefined;
    for (const b of this.owned) this.pool.release(b, done);
    this.owned.length = 0;
  }
}

/** queue.writeBuffer of any byte length: the whole words, then the tail padded with zeros. */
export function writeBytes(queue: GPUQueue, buffer: GPUBuffer, offset: number, bytes: ArrayBufferView): void {
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const whole = u8.length & ~3;
  if (whole > 0) queue.writeBuffer(buffer, offset, u8, 0, whole);
  if (whole < u8.length) {
    const tail = new Uint8Array(4);
    tail.set(u8.subarray(whole));
    queue.writeBuffer(buffer, offset + whole, tail);
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
 * Runs `body` with a fresh RunBuffers, returning them after, and checks every error scope the
 * run opened before its result counts. Failures that are not already TabgridErrors (mapAsync or
 * onSubmittedWorkDone rejecting) mean the device went away.
 */
export async function withRunBuffers<T>(device: GPUDevice, body: (buffers: RunBuffers) => Promise<T>, pool?: BufferPool): Promise<T> {
  let buffers: RunBuffers;
  try {
    buffers = new RunBuffers(device, pool ?? bufferPoolOf(device));
  } catch (err) {
    if (err instanceof TabgridError) throw err;
    throw new TabgridError(ErrorCode.DeviceLost, `the GPU work failed: ${String(err)}`, { cause: err });
  }
  try {
    const out = await body(buffers);
    await buffers.errors.check();
    return out;
  } catch (err) {
    // A WebGPU error explains more than what it broke (a failed map after a validation error).
    const scoped = await buffers.errors.check().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (scoped) throw scoped;
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
  /** Where the dispatches' error scopes go (default: a watch of the run's own, checked at its end). */
  readonly errors?: ErrorWatch;
}

/**
 * Covers [0, total) in dispatches the pacer sizes. Unthrottled, the next dispatch is queued
 * before the last one finishes, so the GPU never waits for the CPU's round trip; throttled, one
 * at a time, so the idle time the duty cycle owes is really idle. Progress counts finished
 * dispatches, abort acts between dispatches, and no dispatch runs long.
 */
export async function runPaced(run: PacedRun): Promise<void> {
  const { device, total, pacer } = run;
  const errors = run.errors ?? new ErrorWatch(device);
  const queued: { count: number; submitted: number; done: Promise<unknown> }[] = [];
  let submitted = 0;
  let done = 0;
  let lastEnd = performance.now();
  try {
    while (done < total) {
      const depth = (run.pace?.restMs?.(1) ?? 0) > 0 ? 1 : 2;
      while (submitted < total && queued.length < depth) {
        throwIfAborted(run.signal);
        errors.throwIfFailed();
        const count = pacer.next(total - submitted);
        const start = submitted;
        errors.run(() => run.dispatch(start, count));
        queued.push({ count, submitted: performance.now(), done: device.queue.onSubmittedWorkDone() });
        submitted += count;
      }
      const head = queued.shift()!;
      await head.done;
      const end = performance.now();
      // Queued behind another dispatch, it started when that one ended, not when it was submitted.
      const ms = end - Math.max(head.submitted, lastEnd);
      lastEnd = end;
      pacer.record(head.count, ms);
      done += head.count;
      run.onProgress?.(done, total);
      errors.throwIfFailed();
      await run.pace?.rest(ms, run.signal);
    }
    if (!run.errors) await errors.check();
  } finally {
    // An aborted or failed run leaves nothing running behind it.
    if (queued.length > 0) await Promise.allSettled(queued.map((q) => q.done));
  }
}
