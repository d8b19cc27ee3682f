/**
 * Kernel-only timing of matmul-i8 tile configurations at one shape: packed A, packed Bᵀ, C and
 * the dimensions are uploaded once and stay resident, and each configuration's dispatches are
 * timed by the kernel timer (timestamps, or back-to-back dispatches), as matmul/tile-timing.ts
 * does for f32 and modp.
 */
import { ErrorCode, TabgridError } from '../../errors';
import { kernelTimerFor, type KernelTimer, type KernelTiming } from '../../gpu/kernel-timer';
import type { MatmulShape } from '../matmul/matmul';
import { ResidentTileBench, type TileTimingOptions } from '../matmul/tile-timing';
import { seededInt8 } from './inputs';
import { i8ConfigProblem, i8WorkgroupGrid, type I8Config, type MatmulI8Gpu } from './gpu';
import { packColumns, packRows } from './matmul-i8';

export class I8TileBench extends ResidentTileBench {
  private constructor(
    private readonly gpu: MatmulI8Gpu,
    shape: MatmulShape,
    device: GPUDevice,
    timer: KernelTimer,
    buffers: readonly GPUBuffer[],
  ) {
    super(shape, device, timer, buffers, 'matmul-i8 ');
  }

  /** Uploads seeded int8 operands of `shape`, packed as a run packs them. Destroy it after. */
  static async open(gpu: MatmulI8Gpu, shape: MatmulShape): Promise<I8TileBench> {
    const device = await gpu.device();
    const { m, n, k } = shape;
    const seed = m * 31 + n * 7 + k;
    const upload = (words: Uint32Array, label: string) => {
      const buffer = device.createBuffer({ size: Math.max(16, words.byteLength), usage: GPUBufferUsage.STORAGE, mappedAtCreation: true, label });
      new Uint32Array(buffer.getMappedRange()).set(words);
      buffer.unmap();
      return buffer;
    };
    const dims = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true, label: 'i8 tile bench dims' });
    new Uint32Array(dims.getMappedRange()).set([m, n, Math.ceil(k / 4), 0]);
    dims.unmap();
    const buffers = [
      upload(packRows(seededInt8(seed, 1, m * k), m, k), 'i8 tile bench A'),
      upload(packColumns(seededInt8(seed, 2, k * n), k, n), 'i8 tile bench Bt'),
      device.createBuffer({ size: Math.max(16, 4 * m * n), usage: GPUBufferUsage.STORAGE, label: 'i8 tile bench C' }),
      dims,
    ];
    return new I8TileBench(gpu, shape, device, kernelTimerFor(device), buffers);
  }

  /** Compiles `config`, runs it once, then times `repeats` dispatches of the whole shape. */
  async time(config: I8Config, options: TileTimingOptions = {}): Promise<KernelTiming> {
    this.checkOpen();
    const problem = i8ConfigProblem(config, this.device.limits);
    if (problem) throw new TabgridError(ErrorCode.BadInput, `matmul-i8 configuration does not fit this device: ${problem}`);
    const pipeline = await this.gpu.pipeline(config, this.device);
    return this.timeDispatch(pipeline, i8WorkgroupGrid(config, this.shape), options);
  }
}
