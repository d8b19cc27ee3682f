import shaderSource from './sha256.wgsl?raw';
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import { DIGEST_BYTES, validateBatch, type MessageBatch } from './batch';
import type { GpuDevices } from '../../gpu/device';
import { DispatchPacer, maxItemsPerDispatch } from '../../gpu/pacer';
import { PipelineCache } from '../../gpu/pipelines';
import { runPaced, submitDispatch, withRunBuffers, type RunOptions } from '../../gpu/run';

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
}

/** SHA-256 of message batches on the GPU (sha256.wgsl). */
export class Sha256Gpu {
  private readonly pipelines: PipelineCache;
  private readonly workgroupSize: number;
  private readonly maxPerDispatch: number;

  constructor(
    private readonly devices: GpuDevices,
    private readonly options: Sha256GpuOptions = {},
  ) {
    this.workgroupSize = options.workgroupSize ?? 64;
    this.maxPerDispatch = maxItemsPerDispatch('maxMessagesPerDispatch', options.maxMessagesPerDispatch, this.workgroupSize);
    this.pipelines = new PipelineCache('sha256.wgsl', shaderSource, { WORKGROUP_SIZE: this.workgroupSize });
  }

  /** Returns count × 32 digest bytes. */
  async hash(batch: MessageBatch, options: RunOptions = {}): Promise<Uint8Array> {
    validateBatch(batch);
    throwIfAborted(options.signal);
    const device = await this.devices.acquire();
    const pipeline = await this.pipelines.get(device);
    const count = batch.lengths.length;
    const outBytes = count * DIGEST_BYTES;
    const limit = device.limits.maxStorageBufferBindingSize;
    if (batch.data.length > limit || outBytes > limit) {
      throw new TabgridError(ErrorCode.BadInput, `batch of ${batch.data.length} bytes exceeds this device's storage binding limit (${limit})`);
    }
    return withRunBuffers(device, async (buffers) => {
      const params = buffers.uniform(8, 'sha256 params');
      const digests = buffers.output(outBytes, 'sha256 digests', this.options.poisonOutput);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          buffers.input(batch.data, 'sha256 data'),
          buffers.input(batch.offsets, 'sha256 offsets'),
          buffers.input(batch.lengths, 'sha256 lengths'),
          digests,
          params,
        ].map((buffer, binding) => ({ binding, resource: { buffer } })),
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
      return wordsToDigests(new Uint32Array(await buffers.read(digests, outBytes)), count);
    });
  }
}

/** The kernel writes the 8 state words of each digest; a digest is those words big-endian. */
function wordsToDigests(words: Uint32Array, count: number): Uint8Array {
  const out = new Uint8Array(count * DIGEST_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count * 8; i++) view.setUint32(4 * i, words[i]!);
  return out;
}
