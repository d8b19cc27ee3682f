import { checkResidues } from './matmul';
import { bufferPoolOf, type BufferPool } from '../../gpu/buffer-pool';
import { writeBytes } from '../../gpu/run';
import type { StagedOperand } from './gpu';

/**
 * Dataset units' operands kept on the GPU for the whole unit: A and B are written once (with
 * queue.writeBuffer, from pooled buffers) and every segment of the unit reads its band of A and
 * all of B there, instead of uploading B again per segment. At most `capacity` units are kept
 * (the oldest is returned to the pool first); a unit's are returned when its last rows are done,
 * and all of them with the engine.
 */
export class StagedOperands {
  private readonly kept = new Map<string, { staged: StagedOperand; pool: BufferPool }>();

  constructor(readonly capacity = 2) {}

  /**
   * The operands of unit `key` on `device`: the kept ones, or `make()`'s written there now (a
   * modp unit's residues checked against `p` first). Kept ones of another (lost) device are dropped.
   */
  get(
    key: string,
    device: GPUDevice,
    make: () => { a: Float32Array | Uint32Array; b: Float32Array | Uint32Array },
    shape: { m: number; n: number; k: number },
    p = 0,
  ): StagedOperand {
    const kept = this.kept.get(key);
    if (kept && kept.staged.device === device) return kept.staged;
    this.release(key);
    const { a, b } = make();
    if (p > 0) {
      checkResidues('A', a as Uint32Array, p);
      checkResidues('B', b as Uint32Array, p);
    }
    const pool = bufferPoolOf(device);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const aBuffer = pool.acquire(Math.max(16, a.byteLength), usage, `${key} A`);
    const bBuffer = pool.acquire(Math.max(16, b.byteLength), usage, `${key} B`);
    writeBytes(device.queue, aBuffer, 0, a);
    writeBytes(device.queue, bBuffer, 0, b);
    const staged: StagedOperand = { device, a: aBuffer, b: bBuffer, rows: shape.m, n: shape.n, k: shape.k };
    this.kept.set(key, { staged, pool });
    while (this.kept.size > this.capacity) this.release(this.kept.keys().next().value!);
    return staged;
  }

  /** Returns unit `key`'s buffers to their pool (lent again once the queued work using them is done). */
  release(key: string): void {
    const kept = this.kept.get(key);
    if (!kept) return;
    this.kept.delete(key);
    kept.pool.release(kept.staged.a);
    kept.pool.release(kept.staged.b);
  }

  get size(): number {
    return this.kept.size;
  }

  clear(): void {
    for (const key of [...this.kept.keys()]) this.release(key);
  }
}
