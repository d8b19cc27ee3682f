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

/**
 * Compiled kernels, shared by every Sha256Gpu (each PipelineCache keeps one pipeline per device):
 * one per (message length, workgroup size) seen, the least recently used dropped past this.
 */
const MAX_KERNELS = 16;
const kernels = new Map<string, PipelineCache>();

function kernelFor(fixedLength: number | undefined, workgroupSize: number): PipelineCache {
  const key = `${fixedLength ?? 'any'}/${workgroupSize}`;
  let cache = kernels.get(key);
  if (cache) {
    kernels.delete(key); // re-inserted last: most recently used
  } else {
    const [label, code] =
      fixedLength === undefined ? ['sha256 variable length', variableLengthShader()] : [`sha256 fixed length ${fixedLength}`, fixedLengthShader(fixedLength)];
    cache = new PipelineCache(label, code, { WORKGROUP_SIZE: workgroupSize });
    if (kernels.size >= MAX_KERNELS) kernels.delete(kernels.keys().next().value!);
  }
  kernels.set(key, cache);
  return cache;
}

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
  private readonly workgroupSize: number;
  private readonly maxPerDispatch: number;

  constructor(
    private readonly devices: GpuDevices,
    private readonly options: Sha256GpuOptions = {},
  ) {
    this.workgroupSize = options.workgroupSize ?? 64;
    this.maxPerDispatch = maxItemsPerDispatch('maxMessagesPerDispatch', options.maxMessagesPerDispatch, this.workgroupSize);
  }

  /** Returns count × 32 digest bytes. */
  async hash(batch: MessageBatch, options: RunOptions = {}): Promise<Uint8Array> {
    validateBatch(batch);
    throwIfAborted(options.signal);
    const fixedLength = this.options.variableOnly ? undefined : fixedLengthOf(batch);
    const device = await this.devices.acquire();
    const pipeline = await kernelFor(fixedLength, this.workgroupSize).get(device);
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
