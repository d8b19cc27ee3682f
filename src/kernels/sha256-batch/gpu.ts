import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import { DIGEST_BYTES, validateBatch, type MessageBatch } from './batch';
import type { GpuDevices } from '../../gpu/device';
import { DispatchPacer, maxItemsPerDispatch } from '../../gpu/pacer';
import { PipelineCache } from '../../gpu/pipelines';
import { runPaced, submitDispatch, withRunBuffers, type RunOptions } from '../../gpu/run';
import { fixedLengthShader, fixedReadsData, variableLengthShader } from './shader';

export interface Sha256GpuOptions {
  /** The shader's WORKGROUP_SIZE override. */
  readonly workgroupSize?: number;
  /** Most messages per dispatch (the pacer picks fewer to keep each dispatch short). */
  readonly maxMessagesPerDispatch?: number;
  /** Messages in the first dispatch, before the pacer has measured anything. */
  readonly initialMessagesPerDispatch?: number;
  /** Target milliseconds per dispatch. */
  readonly targetDispatchMs?: number;
  /** Pre-fill the output with this word (tests: an unwritten digest shows as poison). */
  readonly poisonOutput?: number;
  /** Never take the fixed-length kernel (tests and benchmarks compare the two). */
  readonly variableOnly?: boolean;
}

/** Fixed-length kernels kept per Sha256Gpu: one per message length seen, the oldest dropped past this. */
const MAX_FIXED_PIPELINES = 8;

/**
 * The length every message of `batch` has when they lie back to back from offset 0, each at a
 * multiple of 4 (as allocateBatch lays them out): the fixed-length kernel's case. Else undefined.
 */
export function fixedLengthOf(batch: MessageBatch): number | undefined {
  const { offsets, lengths } = batch;
  const length = lengths[0]!;
  const stride = (length + 3) & ~3;
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i] !== length || offsets[i] !== i * stride) return undefined;
  }
  return length;
}

/** SHA-256 of message batches on the GPU (shader.ts: a fixed-length and a variable-length kernel). */
export class Sha256Gpu {
  private readonly variable: PipelineCache;
  private readonly fixed = new Map<number, PipelineCache>();
  private readonly workgroupSize: number;
  private readonly maxPerDispatch: number;

  constructor(
    private readonly devices: GpuDevices,
    private readonly options: Sha256GpuOptions = {},
  ) {
    this.workgroupSize = options.workgroupSize ?? 64;
    this.maxPerDispatch = maxItemsPerDispatch('maxMessagesPerDispatch', options.maxMessagesPerDispatch, this.workgroupSize);
    this.variable = new PipelineCache('sha256 variable length', variableLengthShader(), { WORKGROUP_SIZE: this.workgroupSize });
  }

  private fixedPipelines(length: number): PipelineCache {
    let cache = this.fixed.get(length);
    if (cache) {
      // Most recently used last, so the eviction below drops the least recently used.
      this.fixed.delete(length);
    } else {
      cache = new PipelineCache(`sha256 fixed length ${length}`, fixedLengthShader(length), { WORKGROUP_SIZE: this.workgroupSize });
      if (this.fixed.size >= MAX_FIXED_PIPELINES) this.fixed.delete(this.fixed.keys().next().value!);
    }
    this.fixed.set(length, cache);
    return cache;
  }

  /** Returns count × 32 digest bytes. */
  async hash(batch: MessageBatch, options: RunOptions = {}): Promise<Uint8Array> {
    validateBatch(batch);
    throwIfAborted(options.signal);
    const fixedLength = this.options.variableOnly ? undefined : fixedLengthOf(batch);
    const device = await this.devices.acquire();
    const pipeline = await (fixedLength === undefined ? this.variable : this.fixedPipelines(fixedLength)).get(device);
    const count = batch.lengths.length;
    const outBytes = count * DIGEST_BYTES;
    const limit = device.limits.maxStorageBufferBindingSize;
    if (batch.data.length > limit || outBytes > limit) {
      throw new TabgridError(ErrorCode.BadInput, `batch of ${batch.data.length} bytes exceeds this device's storage binding limit (${limit})`);
    }
    return withRunBuffers(device, async (buffers) => {
      const params = buffers.uniform(8, 'sha256 params');
      const digests = buffers.output(outBytes, 'sha256 digests', this.options.poisonOutput);
      // Binding numbers as shader.ts declares them; the fixed kernel reads no offsets or lengths.
      const entries: [number, GPUBuffer][] =
        fixedLength === undefined
          ? [
              [0, buffers.input(batch.data, 'sha256 data')],
              [1, buffers.input(batch.offsets, 'sha256 offsets')],
              [2, buffers.input(batch.lengths, 'sha256 lengths')],
              [3, digests],
              [4, params],
            ]
          : [...(fixedReadsData(fixedLength) ? [[0, buffers.input(batch.data, 'sha256 data')] as [number, GPUBuffer]] : []), [1, digests], [2, params]];
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: entries.map(([binding, buffer]) => ({ binding, resource: { buffer } })),
      });
      await runPaced({
        device,
        total: count,
        pacer: new DispatchPacer({
          initial: this.options.initialMessagesPerDispatch ?? 1024,
          max: this.maxPerDispatch,
          targetMs: this.options.targetDispatchMs,
        }),
        signal: options.signal,
        onProgress: options.onProgress,
        pace: options.pace,
        dispatch: (base, n) =>
          submitDispatch(device, pipeline, bindGroup, { buffer: params, words: Uint32Array.of(base, n) }, Math.ceil(n / this.workgroupSize)),
      });
      // The kernel writes each digest's bytes in order: nothing to convert.
      return new Uint8Array(await buffers.read(digests, outBytes));
    });
  }
}
