import shaderSource from '../../shaders/sha256.wgsl?raw';
import { ErrorCode, TabgridError, throwIfAborted } from '../errors';
import { DIGEST_BYTES, validateBatch, type MessageBatch } from '../kernels/sha256-batch';
import { withErrorScopes, type GpuDevices } from './device';

export interface Sha256GpuOptions {
  /** The shader's WORKGROUP_SIZE override. */
  readonly workgroupSize?: number;
  /** Messages per dispatch: small enough that one dispatch stays well under GPU watchdogs. */
  readonly messagesPerDispatch?: number;
  /**
   * Fill the output buffer with this word before the kernel runs, so a digest the kernel
   * failed to write shows up as the poison rather than as plausible zeros (tests use it).
   */
  readonly poisonOutput?: number;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  /** Called after each dispatch completes with the number of messages hashed so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** SHA-256 of message batches on the GPU (shaders/sha256.wgsl). */
export class Sha256Gpu {
  private readonly pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();
  private readonly workgroupSize: number;
  private readonly messagesPerDispatch: number;
  private readonly poisonOutput: number | undefined;

  constructor(
    private readonly devices: GpuDevices,
    options: Sha256GpuOptions = {},
  ) {
    this.workgroupSize = options.workgroupSize ?? 64;
    this.messagesPerDispatch = options.messagesPerDispatch ?? 4096;
    this.poisonOutput = options.poisonOutput;
    if (this.messagesPerDispatch < 1 || Math.ceil(this.messagesPerDispatch / this.workgroupSize) > 65535) {
      throw new TabgridError(ErrorCode.BadInput, `messagesPerDispatch ${this.messagesPerDispatch} needs 1..65535 workgroups`);
    }
  }

  /** Returns count × 32 digest bytes. */
  async hash(batch: MessageBatch, options: RunOptions = {}): Promise<Uint8Array> {
    validateBatch(batch);
    throwIfAborted(options.signal);
    const device = await this.devices.acquire();
    const pipeline = await this.pipeline(device);
    const count = batch.lengths.length;
    const outBytes = count * 8 * 4;
    if (batch.data.length > device.limits.maxStorageBufferBindingSize || outBytes > device.limits.maxStorageBufferBindingSize) {
      throw new TabgridError(ErrorCode.BadInput, `batch of ${batch.data.length} bytes exceeds this device's storage binding limit`);
    }

    const buffers: GPUBuffer[] = [];
    const make = (size: number, usage: number, label: string, fill?: number) => {
      const buffer = device.createBuffer({ size: Math.max(16, (size + 3) & ~3), usage, label, mappedAtCreation: fill !== undefined });
      if (fill !== undefined) {
        new Uint32Array(buffer.getMappedRange()).fill(fill);
        buffer.unmap();
      }
      buffers.push(buffer);
      return buffer;
    };
    try {
      const upload = (bytes: Uint8Array, label: string) => {
        const buffer = make(bytes.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label);
        // writeBuffer needs a multiple of 4 bytes; batches are packed that way already.
        device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, (bytes.byteLength + 3) & ~3);
        return buffer;
      };
      const { data, offsets, lengths, digests, params, readback, groups } = await withErrorScopes(device, () => {
        const data = upload(batch.data.length % 4 === 0 ? batch.data : padTo4(batch.data), 'sha256 data');
        const offsets = upload(new Uint8Array(batch.offsets.buffer, batch.offsets.byteOffset, batch.offsets.byteLength), 'sha256 offsets');
        const lengths = upload(new Uint8Array(batch.lengths.buffer, batch.lengths.byteOffset, batch.lengths.byteLength), 'sha256 lengths');
        const digests = make(outBytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'sha256 digests', this.poisonOutput);
        const params = make(8, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'sha256 params');
        const readback = make(outBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'sha256 readback');
        const groups = Math.ceil(this.messagesPerDispatch / this.workgroupSize);
        return { data, offsets, lengths, digests, params, readback, groups };
      });
      const bindGroup = await withErrorScopes(device, () =>
        device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [data, offsets, lengths, digests, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
        }),
      );

      // One dispatch per slice, each awaited, so abort and progress act between dispatches.
      for (let base = 0; base < count; base += this.messagesPerDispatch) {
        throwIfAborted(options.signal);
        const n = Math.min(this.messagesPerDispatch, count - base);
        await withErrorScopes(device, () => {
          device.queue.writeBuffer(params, 0, new Uint32Array([base, n]));
          const encoder = device.createCommandEncoder();
          const pass = encoder.beginComputePass();
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(Math.min(groups, Math.ceil(n / this.workgroupSize)));
          pass.end();
          device.queue.submit([encoder.finish()]);
        });
        await device.queue.onSubmittedWorkDone();
        options.onProgress?.(base + n, count);
      }

      await withErrorScopes(device, () => {
        const encoder = device.createCommandEncoder();
        encoder.copyBufferToBuffer(digests, 0, readback, 0, outBytes);
        device.queue.submit([encoder.finish()]);
      });
      await readback.mapAsync(GPUMapMode.READ, 0, outBytes);
      return wordsToDigests(new Uint32Array(readback.getMappedRange(0, outBytes)), count);
    } catch (err) {
      if (err instanceof TabgridError) throw err;
      // mapAsync and onSubmittedWorkDone reject when the device is lost mid-run.
      throw new TabgridError(ErrorCode.DeviceLost, `the GPU work failed: ${String(err)}`, { cause: err });
    } finally {
      for (const b of buffers) b.destroy();
    }
  }

  /** Compiled once per device; a shader or pipeline error fails the call, never passes silently. */
  private async pipeline(device: GPUDevice): Promise<GPUComputePipeline> {
    let pipeline = this.pipelines.get(device);
    if (!pipeline) {
      pipeline = await withErrorScopes(device, () =>
        device.createComputePipeline({
          layout: 'auto',
          compute: {
            module: device.createShaderModule({ code: shaderSource, label: 'sha256.wgsl' }),
            entryPoint: 'main',
            constants: { WORKGROUP_SIZE: this.workgroupSize },
          },
          label: 'sha256',
        }),
      );
      this.pipelines.set(device, pipeline);
    }
    return pipeline;
  }
}

function padTo4(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array((bytes.length + 3) & ~3);
  out.set(bytes);
  return out;
}

/** The kernel writes the 8 state words of each digest; a digest is those words big-endian. */
function wordsToDigests(words: Uint32Array, count: number): Uint8Array {
  const out = new Uint8Array(count * DIGEST_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count * 8; i++) view.setUint32(4 * i, words[i]!);
  return out;
}
