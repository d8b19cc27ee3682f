/**
 * Kernel-only timing of matmul tile configurations at one shape: A, B, C and the dimensions are
 * uploaded once and stay resident, and each configuration's dispatches are timed by the kernel
 * timer (timestamps, or back-to-back dispatches), so the tuner compares tiles and not transfers.
 */
import { ErrorCode, TabgridError } from '../../errors';
import { kernelTimerFor, type KernelTimer, type KernelTiming, type TimingMethod } from '../../gpu/kernel-timer';
import { seededRandom } from '../../work/seeded';
import { MatmulKind, effectiveConfig, workgroupGrid, type MatmulConfig, type MatmulGpu } from './gpu';
import { MODP_MAX, type MatmulShape } from './matmul';

export interface TileTimingOptions {
  readonly repeats?: number;
  readonly dispatchesPerPass?: number;
  readonly method?: TimingMethod;
  readonly signal?: AbortSignal;
}

/**
 * What the f32/modp and the i8 tile benches share (they differ only in how they upload operands
 * and pick the pipeline and grid): operands resident in `buffers`, the kernel timer, a watch on
 * device loss, and the timed dispatch. `prefix` names the kernel in errors ('' or 'matmul-i8 ').
 */
export abstract class ResidentTileBench {
  private destroyed = false;
  /** Set when the device is lost: a destroyed device's timings are meaningless (zeros, instant waits). */
  private lostDevice = false;

  protected constructor(
    readonly shape: MatmulShape,
    readonly device: GPUDevice,
    readonly timer: KernelTimer,
    private readonly buffers: readonly GPUBuffer[],
    private readonly prefix: string,
  ) {
    void device.lost.then(() => (this.lostDevice = true));
  }

  /** Throws device-lost if the device was lost since the bench opened. */
  checkDevice(): void {
    if (this.lostDevice) throw new TabgridError(ErrorCode.DeviceLost, `the GPU device was lost while timing ${this.prefix}tiles`);
  }

  protected checkOpen(): void {
    if (this.destroyed) throw new TabgridError(ErrorCode.BadInput, `the ${this.prefix}tile bench was destroyed`);
  }

  /** Binds the resident buffers in order (group 0), runs `pipeline` over `grid` once, then times it. */
  protected async timeDispatch(
    pipeline: GPUComputePipeline,
    grid: { readonly x: number; readonly y: number },
    options: TileTimingOptions,
  ): Promise<KernelTiming> {
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: this.buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    if (grid.y > this.device.limits.maxComputeWorkgroupsPerDimension)
      throw new TabgridError(ErrorCode.BadInput, `${this.shape.m} rows need ${grid.y} workgroups, over the device's limit`);
    const encode = (pass: GPUComputePassEncoder) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid.x, grid.y);
    };
    await this.timer.warmUp(encode);
    const timing = await this.timer.time(encode, options);
    // Let a pending loss report itself before the timing is believed.
    await this.device.queue.onSubmittedWorkDone();
    this.checkDevice();
    return timing;
  }

  destroy(): void {
    this.destroyed = true;
    for (const buffer of this.buffers) buffer.destroy();
  }
}

export class TileBench extends ResidentTileBench {
  private constructor(
    private readonly gpu: MatmulGpu,
    readonly kind: MatmulKind,
    shape: MatmulShape,
    device: GPUDevice,
    timer: KernelTimer,
    buffers: readonly GPUBuffer[],
  ) {
    super(shape, device, timer, buffers, '');
  }

  /** Uploads seeded operands of `shape` once (residues below 65521 for modp). Destroy it after. */
  static async open(gpu: MatmulGpu, kind: MatmulKind, shape: MatmulShape): Promise<TileBench> {
    const device = await gpu.device();
    const { m, n, k } = shape;
    const random = seededRandom(m * 31 + n * 7 + k);
    const operand = (length: number, label: string) => {
      const buffer = device.createBuffer({ size: Math.max(16, 4 * length), usage: GPUBufferUsage.STORAGE, mappedAtCreation: true, label });
      const range = buffer.getMappedRange();
      if (kind === MatmulKind.F32) {
        const words = new Float32Array(range);
        for (let i = 0; i < length; i++) words[i] = random() - 0.5;
      } else {
        const words = new Uint32Array(range);
        for (let i = 0; i < length; i++) words[i] = Math.floor(random() * MODP_MAX);
      }
      buffer.unmap();
      return buffer;
    };
    const dims = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true, label: 'tile bench dims' });
    new Uint32Array(dims.getMappedRange()).set([m, n, k, 0, kind === MatmulKind.F32 ? 0 : MODP_MAX, 0, 0, 0]);
    dims.unmap();
    const buffers = [
      operand(m * k, 'tile bench A'),
      operand(k * n, 'tile bench B'),
      device.createBuffer({ size: Math.max(16, 4 * m * n), usage: GPUBufferUsage.STORAGE, label: 'tile bench C' }),
      dims,
    ];
    return new TileBench(gpu, kind, shape, device, kernelTimerFor(device), buffers);
  }

  /** Compiles `config`, runs it once, then times `repeats` dispatches of the whole shape. */
  async time(config: MatmulConfig, options: TileTimingOptions = {}): Promise<KernelTiming> {
    this.checkOpen();
    const used = effectiveConfig(this.kind, this.shape, config);
    const pipeline = await this.gpu.pipeline(this.kind, used, this.device);
    return this.timeDispatch(pipeline, workgroupGrid(used, this.shape), options);
  }
}
