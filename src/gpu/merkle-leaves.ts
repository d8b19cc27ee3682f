import source from './merkle-leaves.wgsl?raw';
import { ErrorCode, TabgridError } from '../errors';
import { MAX_WORKGROUPS } from './pacer';
import { PipelineCache } from './pipelines';
import { withRunBuffers, type RunBuffers } from './run';
import type { GpuDevices } from './device';

const WORKGROUP_SIZE = 64;

/**
 * The Merkle leaf hashes of a result's rows, computed where the rows are (merkle-leaves.wgsl):
 * leaf(row) = SHA-256(0x00 ‖ row), as hash/merkle.ts defines it, so only 32 bytes per row need
 * hashing into the tree on the CPU (buildMerkleTreeOfLeafHashes) and the root is the one the
 * host checks, unchanged.
 */
export class MerkleLeavesGpu {
  private readonly pipelines = new PipelineCache('merkle-leaves.wgsl', source, { WORKGROUP_SIZE });

  pipeline(device: GPUDevice): Promise<GPUComputePipeline> {
    return this.pipelines.get(device);
  }

  /**
   * Encodes the leaf hashes of `rows` rows of `words` 32-bit words each, back to back at the start
   * of `data`, into a new output of the run (8 words per row). The caller submits the encoder.
   */
  encode(buffers: RunBuffers, pipeline: GPUComputePipeline, encoder: GPUCommandEncoder, data: GPUBuffer, rows: number, words: number): GPUBuffer {
    if (!Number.isInteger(rows) || rows < 1 || Math.ceil(rows / WORKGROUP_SIZE) > MAX_WORKGROUPS) {
      throw new TabgridError(ErrorCode.BadInput, `leaf hashes of ${rows} rows: need 1..${MAX_WORKGROUPS * WORKGROUP_SIZE}`);
    }
    // Padded message lengths stay far below 2^32 bits.
    if (!Number.isInteger(words) || words < 1 || words > 1 << 20) throw new TabgridError(ErrorCode.BadInput, `leaf rows of ${words} words: need 1..2^20`);
    const { device } = buffers;
    const digests = buffers.scratch(rows * 32, 'leaf hashes');
    const params = buffers.uniform(16, 'leaf hash params');
    device.queue.writeBuffer(params, 0, Uint32Array.of(rows, words, 0, 0));
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [data, digests, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = encoder.beginComputePass({ label: 'leaf hashes' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(rows / WORKGROUP_SIZE));
    pass.end();
    return digests;
  }

  /**
   * Reads a kernel's output `c` (rows × words, `bytes` long) back, with its rows' leaf hashes
   * when `pipeline` is given: hashed on the GPU in one more submit, read in the same readback.
   */
  async readWithLeaves(
    buffers: RunBuffers,
    pipeline: GPUComputePipeline | undefined,
    c: GPUBuffer,
    rows: number,
    words: number,
    bytes: number,
  ): Promise<{ c: ArrayBuffer; leafHashes?: Uint8Array }> {
    if (!pipeline) return { c: await buffers.read(c, bytes) };
    const { device } = buffers;
    const digests = buffers.errors.run(() => {
      const encoder = device.createCommandEncoder();
      const out = this.encode(buffers, pipeline, encoder, c, rows, words);
      device.queue.submit([encoder.finish()]);
      return out;
    });
    const [data, digestWords] = await buffers.readMany([
      { source: c, size: bytes },
      { source: digests, size: rows * 32 },
    ]);
    return { c: data!, leafHashes: digestBytes(new Uint32Array(digestWords!)) };
  }

  /** The leaf hashes of rows of `data` (rows × words), computed on the GPU: 32 bytes per row. */
  async hashRows(devices: GpuDevices, data: Uint32Array, words: number): Promise<Uint8Array> {
    if (data.length === 0 || data.length % words !== 0) throw new TabgridError(ErrorCode.BadInput, `${data.length} words are not whole rows of ${words}`);
    const rows = data.length / words;
    const device = await devices.acquire();
    const pipeline = await this.pipeline(device);
    return withRunBuffers(device, async (buffers) => {
      const input = buffers.input(data, 'leaf rows');
      const digests = buffers.errors.run(() => {
        const encoder = device.createCommandEncoder();
        const out = this.encode(buffers, pipeline, encoder, input, rows, words);
        device.queue.submit([encoder.finish()]);
        return out;
      });
      return digestBytes(new Uint32Array(await buffers.read(digests, rows * 32)));
    });
  }
}

/** SHA-256 state words (as the kernel leaves them) to digest bytes: each word big-endian. */
export function digestBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(4 * i, words[i]!, false);
  return out;
}
