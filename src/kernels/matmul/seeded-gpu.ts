import source from './seeded.wgsl?raw';
import { ErrorCode, TabgridError } from '../../errors';
import { PipelineCache } from '../../gpu/pipelines';
import { MAX_WORKGROUPS } from '../../gpu/pacer';
import { withRunBuffers, type RunBuffers } from '../../gpu/run';
import type { GpuDevices } from '../../gpu/device';
import { operandBase } from './inputs';

const WORKGROUP_SIZE = 256;

/** Which seeded operand to make: `count` elements of operand `tag` (1 = A, 2 = B) from element `offset` on. */
export interface SeededOperand {
  readonly seed: number;
  readonly tag: number;
  readonly offset: number;
  readonly count: number;
  /** 0 for f32 values, else the prime modulus of residues. */
  readonly p: number;
}

/**
 * A matmul unit's seeded operands made on the GPU (seeded.wgsl), bit for bit the values
 * inputs.ts makes on the CPU, straight into the buffer the product reads: a seeded unit then
 * uploads nothing and its CPU makes nothing.
 */
export class SeededGpu {
  private readonly pipelines = new PipelineCache('seeded.wgsl', source, { WORKGROUP_SIZE });

  pipeline(device: GPUDevice): Promise<GPUComputePipeline> {
    return this.pipelines.get(device);
  }

  /**
   * Encodes the generation of `operand` into a new storage buffer of the run (its uniform too,
   * written on the queue before `encoder` is submitted). The caller submits the encoder.
   */
  encode(buffers: RunBuffers, pipeline: GPUComputePipeline, encoder: GPUCommandEncoder, operand: SeededOperand, label: string): GPUBuffer {
    const { device } = buffers;
    const { offset, count, p } = operand;
    for (const [name, v] of [
      ['offset', offset],
      ['count', count],
      ['p', p],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TabgridError(ErrorCode.BadInput, `seeded operand ${name} = ${v} is not a u32`);
    }
    const groups = Math.ceil(count / WORKGROUP_SIZE);
    const x = Math.min(groups, MAX_WORKGROUPS);
    const y = Math.ceil(groups / x);
    if (y > MAX_WORKGROUPS) throw new TabgridError(ErrorCode.BadInput, `seeded operand of ${count} elements is too large for one dispatch`);
    const out = buffers.scratch(count * 4, label);
    const params = buffers.uniform(16, `${label} params`);
    device.queue.writeBuffer(params, 0, Uint32Array.of(operandBase(operand.seed, operand.tag), offset, count, p));
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [out, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    if (count > 0) {
      const pass = encoder.beginComputePass({ label });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y);
      pass.end();
    }
    return out;
  }

  /** The operand's words read back (tests, and anyone who wants them on the CPU from the GPU). */
  async words(devices: GpuDevices, operand: SeededOperand): Promise<Uint32Array> {
    const device = await devices.acquire();
    const pipeline = await this.pipeline(device);
    return withRunBuffers(device, async (buffers) => {
      const encoder = device.createCommandEncoder();
      const out = buffers.errors.run(() => this.encode(buffers, pipeline, encoder, operand, `seeded operand ${operand.tag}`));
      buffers.errors.run(() => device.queue.submit([encoder.finish()]));
      return new Uint32Array(await buffers.read(out, operand.count * 4));
    });
  }
}
