import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import { HEADER_BYTES, PowHasher, midstate, targetWords, validatePowSearch, type PowResult } from './pow';
import type { GpuDevices } from '../../gpu/device';
import { DispatchPacer, maxItemsPerDispatch } from '../../gpu/pacer';
import { PipelineCache } from '../../gpu/pipelines';
import { runPaced, submitDispatch, withRunBuffers, type RunOptions } from '../../gpu/run';
import { powShader } from './shader';

export interface Sha256dPowGpuOptions {
  /** The shader's WORKGROUP_SIZE override. */
  readonly workgroupSize?: number;
  /** Nonces each invocation tries (the shader's NONCES_PER_INVOCATION override). */
  readonly noncesPerInvocation?: number;
  /** Most nonces per dispatch (the pacer picks fewer to keep each dispatch short). */
  readonly maxNoncesPerDispatch?: number;
  /** Nonces in the first dispatch, before the pacer has measured anything. */
  readonly initialNoncesPerDispatch?: number;
  /** Target milliseconds per dispatch. */
  readonly targetDispatchMs?: number;
  /**
   * How many share nonces one search can report (default 4096). Shares past it are only
   * counted, in `overflowed`: pick a share target that keeps the expected count well below.
   */
  readonly shareCapacity?: number;
  /** Pre-fill the share list with this word (tests: an unwritten slot shows as poison). */
  readonly poisonOutput?: number;
}

export interface PowGpuResult extends PowResult {
  /**
   * Shares the kernel found but had no room to report. When it is not 0, `shares` and
   * `solutions` are incomplete (the missing ones may include solutions): search the range
   * again with a larger shareCapacity, a harder share target or a smaller range.
   */
  readonly overflowed: number;
}

/** Job uniform layout of the shader: midstate (8 words), header words 16..18 and a pad, share target (8). */
export function jobWords(header: Uint8Array, shareTarget: Uint8Array): Uint32Array {
  const job = new Uint32Array(20);
  job.set(midstate(header), 0);
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  for (let i = 0; i < 3; i++) job[8 + i] = view.getUint32(64 + 4 * i); // big-endian, as SHA-256 reads
  job.set(targetWords(shareTarget), 12);
  return job;
}

/** Compiled kernels shared by every Sha256dPowGpu, per (workgroup size, nonces per invocation); few are ever made. */
const kernels = new Map<string, PipelineCache>();
let source: string | undefined;
function kernelFor(workgroupSize: number, perInvocation: number): PipelineCache {
  const key = `${workgroupSize}/${perInvocation}`;
  let cache = kernels.get(key);
  if (!cache) {
    if (kernels.size >= 16) kernels.delete(kernels.keys().next().value!);
    cache = new PipelineCache('sha256d-pow', (source ??= powShader()), { WORKGROUP_SIZE: workgroupSize, NONCES_PER_INVOCATION: perInvocation });
    kernels.set(key, cache);
  }
  return cache;
}

/**
 * Nonces each invocation tries unless told otherwise. The nonce-independent part (midstate and
 * header words, the first rounds) is loaded and computed once for all of them, and one dispatch
 * (at most 65535 workgroups) can hold 65535 × 64 × 16 ≈ 67 M nonces: enough for the pacer's
 * 25 ms on a fast GPU, where one nonce an invocation capped dispatches at 4 M (about 1 ms), so
 * each dispatch's round trip weighed. Measured best of 1, 4, 16 on lavapipe
 * (test/unit/sha256-compare-dawn.test.ts); not yet on a GPU.
 */
export const DEFAULT_NONCES_PER_INVOCATION = 16;

/** Proof-of-work nonce search on the GPU (shader.ts). */
export class Sha256dPowGpu {
  private readonly pipelines: PipelineCache;
  private readonly workgroupSize: number;
  /** Nonces one workgroup tries. */
  private readonly perGroup: number;
  private readonly maxPerDispatch: number;
  private readonly capacity: number;

  constructor(
    private readonly devices: GpuDevices,
    private readonly options: Sha256dPowGpuOptions = {},
  ) {
    this.workgroupSize = options.workgroupSize ?? 64;
    const perInvocation = options.noncesPerInvocation ?? DEFAULT_NONCES_PER_INVOCATION;
    if (!Number.isInteger(perInvocation) || perInvocation < 1 || perInvocation > 64) {
      throw new TabgridError(ErrorCode.BadInput, `noncesPerInvocation ${perInvocation} is outside 1..64`);
    }
    this.perGroup = this.workgroupSize * perInvocation;
    this.maxPerDispatch = maxItemsPerDispatch('maxNoncesPerDispatch', options.maxNoncesPerDispatch, this.perGroup);
    this.capacity = options.shareCapacity ?? 4096;
    // Kept well under 2^32 so the kernel's `stored` counter (≤ capacity + one dispatch) cannot wrap.
    if (!Number.isInteger(this.capacity) || this.capacity < 1 || this.capacity > 1 << 26) {
      throw new TabgridError(ErrorCode.BadInput, `shareCapacity ${this.capacity} is outside 1..${1 << 26}`);
    }
    this.pipelines = kernelFor(this.workgroupSize, perInvocation);
  }

  /** Searches nonces [start, start + count); see PowResult and PowGpuResult. */
  async search(header: Uint8Array, start: number, count: number, target: Uint8Array, shareTarget: Uint8Array, options: RunOptions = {}): Promise<PowGpuResult> {
    validatePowSearch(header, start, count, target, shareTarget);
    throwIfAborted(options.signal);
    const device = await this.devices.acquire();
    const pipeline = await this.pipelines.get(device);
    const limit = device.limits.maxStorageBufferBindingSize;
    if (this.capacity * 4 > limit) {
      throw new TabgridError(ErrorCode.BadInput, `shareCapacity ${this.capacity} exceeds this device's storage binding limit (${limit} bytes)`);
    }
    const { stored, overflowed } = await withRunBuffers(device, async (buffers) => {
      const job = buffers.uniform(80, 'sha256d-pow job');
      device.queue.writeBuffer(job, 0, jobWords(header, shareTarget));
      const params = buffers.uniform(12, 'sha256d-pow params');
      const counters = buffers.output(8, 'sha256d-pow counters');
      const nonces = buffers.output(this.capacity * 4, 'sha256d-pow nonces', this.options.poisonOutput);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [job, params, counters, nonces].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      await runPaced({
        device,
        total: count,
        pacer: new DispatchPacer({
          initial: this.options.initialNoncesPerDispatch ?? 65536,
          max: this.maxPerDispatch,
          targetMs: this.options.targetDispatchMs,
        }),
        signal: options.signal,
        onProgress: options.onProgress,
        pace: options.pace,
        dispatch: (done, n) =>
          submitDispatch(device, pipeline, bindGroup, { buffer: params, words: Uint32Array.of(start + done, n, this.capacity) }, Math.ceil(n / this.perGroup)),
      });
      const [claimed, overflow] = new Uint32Array(await buffers.read(counters, 8));
      const kept = Math.min(claimed!, this.capacity);
      const list = kept === 0 ? new Uint32Array() : new Uint32Array(await buffers.read(nonces, kept * 4));
      return { stored: list, overflowed: overflow! };
    });
    return { ...classify(header, start, count, target, shareTarget, stored), searched: count, overflowed };
  }
}

/**
 * Rechecks every nonce the GPU reported on the CPU (one double hash each) and picks out the
 * solutions. A nonce out of range, reported twice or not a share means the GPU computed wrong
 * (or a slot was never written and still holds poison): that fails the run, not just the nonce.
 */
function classify(
  header: Uint8Array,
  start: number,
  count: number,
  target: Uint8Array,
  shareTarget: Uint8Array,
  stored: Uint32Array,
): { shares: number[]; solutions: number[] } {
  const hasher = new PowHasher(header);
  const tw = targetWords(target);
  const sw = targetWords(shareTarget);
  // The atomic slot order is whatever order the GPU ran in: sort for a deterministic answer.
  const shares = Array.from(stored).sort((a, b) => a - b);
  const solutions: number[] = [];
  shares.forEach((nonce, i) => {
    const wrong = (why: string) => new TabgridError(ErrorCode.GpuError, `the GPU reported nonce ${nonce} ${why}`);
    if (nonce < start || nonce >= start + count) throw wrong(`outside the range [${start}, ${start + count})`);
    if (i > 0 && shares[i - 1] === nonce) throw wrong('twice');
    hasher.run(nonce);
    if (!hasher.meets(sw)) throw wrong('as a share, but its hash is above the share target');
    if (hasher.meets(tw)) solutions.push(nonce);
  });
  return { shares, solutions };
}
