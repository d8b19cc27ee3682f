import { ErrorCode, TabgridError } from '../errors';

/**
 * GPU buffers kept per device and lent again, so a stream of units does not create and destroy
 * its inputs, outputs, uniforms and readback buffers for every run. Buffers are keyed by usage
 * and size class (sizes rounded up to a quarter of a power of two: at most 25 % spare), and a
 * returned buffer is lent again only once the work submitted before its return has finished, so
 * no run ever gets a buffer another run's commands still read or write. What is kept idle is
 * capped in bytes (beyond the cap a returned buffer is destroyed); everything is destroyed with
 * the pool, and the pool with its device (on loss or destroy).
 */
export interface BufferPoolOptions {
  /** Bytes of idle buffers kept for reuse (default 256 MiB; 0 keeps none: every buffer is fresh). */
  readonly capBytes?: number;
}

export interface BufferPoolStats {
  /** Buffers created, and acquisitions answered with a kept one. */
  readonly created: number;
  readonly reused: number;
  /** Buffers lent now, waiting for their last work to finish, and kept idle (with their bytes). */
  readonly lent: number;
  readonly pending: number;
  readonly idle: number;
  readonly idleBytes: number;
}

export const DEFAULT_POOL_CAP_BYTES = 256 * 1024 * 1024;

/** Smallest buffer the pool makes: uniforms and tiny outputs share one class. */
const MIN_CLASS = 256;

/** The size a request of `size` bytes is served with: the next of 1, 1.25, 1.5, 1.75 × 2^j, at least 256. */
export function sizeClass(size: number): number {
  if (!Number.isFinite(size) || size < 0) throw new RangeError(`a buffer size must be ≥ 0, got ${size}`);
  if (size <= MIN_CLASS) return MIN_CLASS;
  const power = 2 ** Math.floor(Math.log2(size));
  const quarter = power / 4;
  return Math.ceil(size / quarter) * quarter;
}

export class BufferPool {
  private readonly idle = new Map<string, GPUBuffer[]>();
  private readonly lent = new Set<GPUBuffer>();
  private readonly pending = new Set<GPUBuffer>();
  private idleBytes = 0;
  private created = 0;
  private reused = 0;
  private destroyed = false;
  readonly capBytes: number;

  constructor(
    readonly device: GPUDevice,
    options: BufferPoolOptions = {},
  ) {
    this.capBytes = options.capBytes ?? DEFAULT_POOL_CAP_BYTES;
    if (!(this.capBytes >= 0)) throw new RangeError(`capBytes must be ≥ 0, got ${this.capBytes}`);
  }

  /** A buffer of at least `size` bytes with exactly `usage`; its contents are whatever its last user left. */
  acquire(size: number, usage: number, label: string): GPUBuffer {
    if (this.destroyed) throw new TabgridError(ErrorCode.DeviceLost, `the buffer pool of a lost or destroyed device was asked for ${label}`);
    // Bind groups bind whole buffers: a class past the binding limit is cut back to it (or to the request).
    const bytes = Math.max(alignUp4(size), Math.min(sizeClass(size), this.device.limits.maxStorageBufferBindingSize));
    const kept = this.idle.get(key(bytes, usage))?.pop();
    let buffer: GPUBuffer;
    if (kept) {
      this.idleBytes -= kept.size;
      this.reused++;
      kept.label = label;
      buffer = kept;
    } else {
      buffer = this.device.createBuffer({ size: bytes, usage, label });
      this.created++;
    }
    this.lent.add(buffer);
    return buffer;
  }

  /**
   * Takes a buffer back. It is lent again only after `done` resolves (default: the queue's work
   * submitted so far, which covers every command the borrower encoded with it). A MAP_READ buffer
   * must come back unmapped.
   */
  release(buffer: GPUBuffer, done?: Promise<unknown>): void {
    if (!this.lent.delete(buffer)) throw new RangeError(`${buffer.label} was not lent by this pool`);
    if (this.destroyed) {
      buffer.destroy();
      return;
    }
    this.pending.add(buffer);
    const fence = done ?? this.device.queue.onSubmittedWorkDone();
    void fence.then(
      () => this.keep(buffer),
      () => {
        this.pending.delete(buffer);
        buffer.destroy();
      },
    );
  }

  stats(): BufferPoolStats {
    let idle = 0;
    for (const list of this.idle.values()) idle += list.length;
    return { created: this.created, reused: this.reused, lent: this.lent.size, pending: this.pending.size, idle, idleBytes: this.idleBytes };
  }

  /** Destroys every buffer it holds; buffers still lent are destroyed when they come back. Later acquisitions fail. */
  destroy(): void {
    this.destroyed = true;
    for (const list of this.idle.values()) for (const b of list) b.destroy();
    this.idle.clear();
    this.idleBytes = 0;
    // Destroying a buffer that queued work still uses is allowed: WebGPU frees it after that work.
    for (const b of this.pending) b.destroy();
    this.pending.clear();
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  private keep(buffer: GPUBuffer): void {
    if (!this.pending.delete(buffer)) return; // destroyed with the pool meanwhile
    if (this.destroyed || buffer.mapState !== 'unmapped' || this.idleBytes + buffer.size > this.capBytes) {
      buffer.destroy();
      return;
    }
    const k = key(buffer.size, buffer.usage);
    let list = this.idle.get(k);
    if (!list) this.idle.set(k, (list = []));
    list.push(buffer);
    this.idleBytes += buffer.size;
  }
}

function alignUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function key(bytes: number, usage: number): string {
  return `${usage}:${bytes}`;
}

const pools = new WeakMap<GPUDevice, BufferPool>();

/** The pool of `device`, made on first use and destroyed when the device is lost or destroyed. */
export function bufferPoolOf(device: GPUDevice): BufferPool {
  let pool = pools.get(device);
  if (!pool) {
    const made = new BufferPool(device);
    pools.set(device, made);
    void device.lost.then(() => made.destroy());
    pool = made;
  }
  return pool;
}
