import f32Source from '../matmul-f32/matmul-f32.wgsl?raw';
import f32Vec4Source from '../matmul-f32/matmul-f32-vec4.wgsl?raw';
import f32Vec4WideSource from '../matmul-f32/matmul-f32-vec4-wide.wgsl?raw';
import modpSource from '../matmul-modp/matmul-modp.wgsl?raw';
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import { checkModulus, checkResidues, checkShape, type MatmulShape } from './matmul';
import type { GpuDevices } from '../../gpu/device';
import type { TileConfig } from '../../gpu/tune-cache';
import type { Pace } from '../../duty-cycle';
import { DispatchPacer } from '../../gpu/pacer';
import { PipelineCache } from '../../gpu/pipelines';
import { runPaced, submitDispatch, withRunBuffers } from '../../gpu/run';
import { bufferPoolOf, type BufferPool } from '../../gpu/buffer-pool';
import { SeededGpu, type SeededOperand } from './seeded-gpu';
import { MerkleLeavesGpu } from '../../gpu/merkle-leaves';

/** A tile configuration: the shader's override constants (kept per adapter by the tune cache). */
export type MatmulConfig = TileConfig;

export const DEFAULT_MATMUL_CONFIG: MatmulConfig = { wgX: 16, wgY: 16, tm: 4, tn: 4, tileK: 16 };

export const MatmulKind = { F32: 'f32', Modp: 'modp' } as const;
export type MatmulKind = (typeof MatmulKind)[keyof typeof MatmulKind];

export interface MatmulRunOptions {
  readonly signal?: AbortSignal;
  /** The throttle, applied between dispatches. */
  readonly pace?: Pace;
  /** Rows of C finished so far, of M. */
  readonly onProgress?: (rowsDone: number, rows: number) => void;
  /** Pre-fill C with this word (tests: an unwritten element shows as poison). */
  readonly poisonOutput?: number;
  /** Target milliseconds per dispatch (default 25). */
  readonly targetDispatchMs?: number;
  /** Start with dispatches of this many tile rows (default 1) and never exceed the max. */
  readonly initialTileRows?: number;
  readonly maxTileRows?: number;
}

export interface ProductOptions extends MatmulRunOptions {
  /** Also compute the rows' Merkle leaf hashes on the GPU. */
  readonly leafHashes?: boolean;
}

export interface Product {
  /** C, row-major, its words as the GPU stores them. */
  readonly c: ArrayBuffer;
  /** leaf(row) for each row of C, 32 bytes each (with ProductOptions.leafHashes). */
  readonly leafHashes?: Uint8Array;
}

/** Matrix products on the GPU (matmul-f32/matmul-f32*.wgsl, matmul-modp/matmul-modp.wgsl). */
export class MatmulGpu {
  private readonly caches = new Map<string, PipelineCache>();
  private readonly seeded = new SeededGpu();
  private readonly leaves = new MerkleLeavesGpu();
  /** Per device: a new device (after a loss) may be another adapter, and learns its own rates. */
  private readonly pacers = new WeakMap<GPUDevice, Map<string, DispatchPacer>>();

  constructor(
    private readonly devices: GpuDevices,
    /** Where runs borrow buffers (default: the device's pool; a pool of capacity 0 makes every buffer fresh). */
    private readonly poolOf: (device: GPUDevice) => BufferPool = bufferPoolOf,
  ) {}

  async f32(a: Float32Array, b: Float32Array, shape: MatmulShape, config = DEFAULT_MATMUL_CONFIG, options: MatmulRunOptions = {}): Promise<Float32Array> {
    const out = await this.run(MatmulKind.F32, { a, b }, shape, 0, config, options);
    return new Float32Array(out);
  }

  /**
   * Rows [rowStart, rowStart + shape.m) of the f32 product of a seeded unit (inputs.ts), its
   * operands made on the GPU (seeded-gpu.ts): nothing is made on the CPU or uploaded.
   */
  async f32Seeded(seed: number, shape: MatmulShape, rowStart: number, config = DEFAULT_MATMUL_CONFIG, options: MatmulRunOptions = {}): Promise<Float32Array> {
    return new Float32Array(await this.run(MatmulKind.F32, { seed, rowStart }, shape, 0, config, options));
  }

  /** A seeded operand's words as the GPU makes them for a product (tests compare them with inputs.ts). */
  seededWords(operand: SeededOperand): Promise<Uint32Array> {
    return this.seeded.words(this.devices, operand);
  }

  /** As f32Seeded, for residues modulo `p`. */
  async modpSeeded(
    seed: number,
    shape: MatmulShape,
    rowStart: number,
    p: number,
    config = DEFAULT_MATMUL_CONFIG,
    options: MatmulRunOptions = {},
  ): Promise<Uint32Array> {
    return new Uint32Array(await this.run(MatmulKind.Modp, { seed, rowStart }, shape, p, config, options));
  }

  async modp(
    a: Uint32Array,
    b: Uint32Array,
    shape: MatmulShape,
    p: number,
    config = DEFAULT_MATMUL_CONFIG,
    options: MatmulRunOptions = {},
  ): Promise<Uint32Array> {
    return new Uint32Array(await this.run(MatmulKind.Modp, { a, b }, shape, p, config, options));
  }

  /** The pipeline for a kind and configuration on `device` (default: the current device), compiled once. */
  async pipeline(kind: MatmulKind, config: MatmulConfig, device?: GPUDevice): Promise<GPUComputePipeline> {
    return this.cache(kind, config).get(device ?? (await this.devices.acquire()));
  }

  /** The device the runs use (requested on first use). */
  device(): Promise<GPUDevice> {
    return this.devices.acquire();
  }

  /**
   * The dispatch sizer for a kernel, tile and row shape: kept across runs, so a stream of units
   * starts each at the rate the last one learned instead of one tile row; a run that sets its
   * own sizing gets a fresh one.
   */
  private pacer(device: GPUDevice, key: string, options: MatmulRunOptions): DispatchPacer {
    const own = options.initialTileRows !== undefined || options.maxTileRows !== undefined || options.targetDispatchMs !== undefined;
    const make = () =>
      new DispatchPacer({ initial: options.initialTileRows ?? 1, max: Math.min(65535, options.maxTileRows ?? 65535), targetMs: options.targetDispatchMs });
    if (own) return make();
    let kept = this.pacers.get(device);
    if (!kept) this.pacers.set(device, (kept = new Map()));
    let pacer = kept.get(key);
    if (!pacer) {
      // Bounded: a few shapes per kernel in practice; forget them all rather than grow without end.
      if (kept.size >= 64) kept.clear();
      kept.set(key, (pacer = make()));
    }
    return pacer;
  }

  private cache(kind: MatmulKind, config: MatmulConfig): PipelineCache {
    const key = `${kind}:${configKey(config)}`;
    let cache = this.caches.get(key);
    if (!cache) {
      const tiles = { WG_X: config.wgX, WG_Y: config.wgY, TILE_K: config.tileK };
      cache = !config.vec4
        ? new PipelineCache(`matmul-${kind}.wgsl`, kind === MatmulKind.F32 ? f32Source : modpSource, { ...tiles, TM: config.tm, TN: config.tn })
        : isWide(config)
          ? new PipelineCache('matmul-f32-vec4-wide.wgsl', f32Vec4WideSource, { ...tiles, TM: config.tm, TN4: config.tn / 4 })
          : new PipelineCache('matmul-f32-vec4.wgsl', f32Vec4Source, tiles);
      this.caches.set(key, cache);
    }
    return cache;
  }

  private async run(
    kind: MatmulKind,
    operands: MatmulOperands,
    shape: MatmulShape,
    p: number,
    config: MatmulConfig,
    options: MatmulRunOptions,
  ): Promise<ArrayBuffer> {
    return (await this.product(kind, operands, shape, p, config, options)).c;
  }

  /**
   * C = A·B (checked by the callers above), read back with, when asked, the Merkle leaf hashes
   * of its rows computed on the GPU (gpu/merkle-leaves.ts) in the same submit and readback.
   */
  async product(kind: MatmulKind, operands: MatmulOperands, shape: MatmulShape, p: number, config: MatmulConfig, options: ProductOptions): Promise<Product> {
    const { m, n, k } = shape;
    if ('a' in operands) checkShape(shape, operands.a.length, operands.b.length);
    else checkShape(shape, m * k, k * n);
    if ('staged' in operands && (operands.staged.k !== k || operands.staged.n !== n || operands.rowStart + m > operands.staged.rows)) {
      throw new TabgridError(ErrorCode.BadInput, `rows ${operands.rowStart}..${operands.rowStart + m} of ${m}×${n}×${k} do not fit the staged operands`);
    }
    if (kind === MatmulKind.Modp) {
      checkModulus(p);
      // Staged operands were checked when they were staged (staged.ts).
      if ('a' in operands) {
        checkResidues('A', operands.a as Uint32Array, p);
        checkResidues('B', operands.b as Uint32Array, p);
      }
    }
    config = effectiveConfig(kind, shape, config);
    throwIfAborted(options.signal);
    const device = await this.devices.acquire();
    checkConfig(config, device.limits);
    const pipeline = await this.cache(kind, config).get(device);
    const seeded = 'seed' in operands ? { ...operands, pipeline: await this.seeded.pipeline(device) } : undefined;
    const leafPipeline = options.leafHashes ? await this.leaves.pipeline(device) : undefined;
    const tileM = config.wgY * config.tm;
    const tileN = config.wgX * config.tn;
    const tileRows = Math.ceil(m / tileM);
    const outBytes = m * n * 4;
    return withRunBuffers(
      device,
      async (buffers) => {
        const dims = buffers.uniform(32, `matmul-${kind} dims`);
        const c = buffers.output(outBytes, `matmul-${kind} C`, options.poisonOutput);
        let ab: [GPUBuffer, GPUBuffer];
        if (seeded) {
          const made = kind === MatmulKind.F32 ? 0 : p;
          ab = buffers.errors.run(() => {
            const encoder = device.createCommandEncoder();
            const a = this.seeded.encode(
              buffers,
              seeded.pipeline,
              encoder,
              { seed: seeded.seed, tag: 1, offset: seeded.rowStart * k, count: m * k, p: made },
              'A',
            );
            const b = this.seeded.encode(buffers, seeded.pipeline, encoder, { seed: seeded.seed, tag: 2, offset: 0, count: k * n, p: made }, 'B');
            device.queue.submit([encoder.finish()]);
            return [a, b];
          });
        } else if ('staged' in operands) {
          const { staged, rowStart } = operands;
          if (staged.device !== device) throw new TabgridError(ErrorCode.DeviceLost, 'the staged operands belong to a lost device');
          // The band of A is copied on the GPU; B is bound where it lies.
          const band = buffers.scratch(m * k * 4, 'A band');
          buffers.errors.run(() => {
            const encoder = device.createCommandEncoder();
            encoder.copyBufferToBuffer(staged.a, rowStart * k * 4, band, 0, m * k * 4);
            device.queue.submit([encoder.finish()]);
          });
          ab = [band, staged.b];
        } else {
          const { a, b } = operands as { a: Float32Array | Uint32Array; b: Float32Array | Uint32Array };
          ab = [buffers.input(a, 'A'), buffers.input(b, 'B')];
        }
        const bindGroup = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [...ab, c, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
        await runPaced({
          device,
          total: tileRows,
          pacer: this.pacer(device, `${kind}:${configKey(config)}:${n}x${k}`, options),
          errors: buffers.errors,
          signal: options.signal,
          pace: options.pace,
          onProgress: options.onProgress && ((done) => options.onProgress!(Math.min(m, done * tileM), m)),
          dispatch: (tileRow, count) =>
            submitDispatch(device, pipeline, bindGroup, { buffer: dims, words: new Uint32Array([m, n, k, tileRow, p, 0, 0, 0]) }, Math.ceil(n / tileN), count),
        });
        return this.leaves.readWithLeaves(buffers, leafPipeline, c, m, n, outBytes);
      },
      this.poolOf(device),
    );
  }

  /**
   * Milliseconds one whole product of `shape` takes on the GPU with its data resident: `reps`
   * back-to-back dispatches of the full grid after a warm-up, timed together (the figure the
   * unit stream's "GPU busy" share is made of; seeded operands, no transfers).
   */
  async residentKernelMs(
    kind: MatmulKind,
    shape: MatmulShape,
    config = DEFAULT_MATMUL_CONFIG,
    reps = 5,
    p = kind === MatmulKind.F32 ? 0 : 65521,
  ): Promise<number> {
    const { m, n, k } = shape;
    checkShape(shape, m * k, k * n);
    config = effectiveConfig(kind, shape, config);
    const device = await this.devices.acquire();
    checkConfig(config, device.limits);
    const pipeline = await this.cache(kind, config).get(device);
    const seeded = await this.seeded.pipeline(device);
    return withRunBuffers(device, async (buffers) => {
      const dims = buffers.uniform(32, 'resident dims');
      const c = buffers.output(m * n * 4, 'resident C');
      const [a, b] = buffers.errors.run(() => {
        const encoder = device.createCommandEncoder();
        const made = [1, 2].map((tag) =>
          this.seeded.encode(buffers, seeded, encoder, { seed: 1, tag, offset: 0, count: tag === 1 ? m * k : k * n, p }, `resident ${tag}`),
        );
        device.queue.submit([encoder.finish()]);
        return made;
      });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [a!, b!, c, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const words = new Uint32Array([m, n, k, 0, p, 0, 0, 0]);
      const grid = [Math.ceil(n / (config.wgX * config.tn)), Math.ceil(m / (config.wgY * config.tm))] as const;
      buffers.errors.run(() => submitDispatch(device, pipeline, bindGroup, { buffer: dims, words }, ...grid));
      await device.queue.onSubmittedWorkDone();
      const started = performance.now();
      buffers.errors.run(() => {
        for (let r = 0; r < reps; r++) submitDispatch(device, pipeline, bindGroup, { buffer: dims, words }, ...grid);
      });
      await device.queue.onSubmittedWorkDone();
      return (performance.now() - started) / reps;
    });
  }
}

/**
 * A product's operands: given (uploaded for the run); a seeded unit's (rows from `rowStart` of A,
 * all of B), made on the GPU; or a unit's whole A and B already on the GPU (staged.ts), of which
 * the run reads rows from `rowStart` of A.
 */
export type MatmulOperands =
  | { readonly a: Float32Array | Uint32Array; readonly b: Float32Array | Uint32Array }
  | { readonly seed: number; readonly rowStart: number }
  | { readonly staged: StagedOperand; readonly rowStart: number };

/** A unit's whole operands resident on a device: A (rows × k) and B (k × n) words. */
export interface StagedOperand {
  readonly device: GPUDevice;
  readonly a: GPUBuffer;
  readonly b: GPUBuffer;
  readonly rows: number;
  readonly n: number;
  readonly k: number;
}

export function configKey(c: MatmulConfig): string {
  if (!c.vec4) return `${c.wgX}x${c.wgY}/${c.tm}x${c.tn}/k${c.tileK}`;
  return isWide(c) ? `${c.wgX}x${c.wgY}/vec4/${c.tm}x${c.tn}/k${c.tileK}` : `${c.wgX}x${c.wgY}/vec4/k${c.tileK}`;
}

/** A vec4 configuration other than 4×4 outputs runs matmul-f32-vec4-wide.wgsl. */
function isWide(c: MatmulConfig): boolean {
  return c.tm !== 4 || c.tn !== 4;
}

/** The configuration a run of `shape` really uses: the vec4 kernels need whole vec4 rows, so other shapes (and modp) take the scalar kernel. */
export function effectiveConfig(kind: MatmulKind, shape: MatmulShape, config: MatmulConfig): MatmulConfig {
  return config.vec4 && (kind !== MatmulKind.F32 || shape.k % 4 !== 0 || shape.n % 4 !== 0) ? { ...config, vec4: false, tm: 4, tn: 4 } : config;
}

/** The compute limits a configuration must fit (WebGPU's defaults unless the device has more). */
export type ComputeLimits = Pick<
  GPUSupportedLimits,
  'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupSizeY'
>;
export const DEFAULT_COMPUTE_LIMITS: ComputeLimits = {
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
};

/** Bytes of workgroup memory a configuration's two tiles take. */
export function tileBytes(c: MatmulConfig): number {
  return (c.wgY * c.tm + c.wgX * c.tn) * c.tileK * 4;
}

/** Why a configuration cannot run (its shader's bounds, or the limits), or undefined. */
export function configProblem(c: MatmulConfig, limits: ComputeLimits = DEFAULT_COMPUTE_LIMITS): string | undefined {
  const ints = [c.wgX, c.wgY, c.tm, c.tn, c.tileK].every((x) => Number.isInteger(x) && x >= 1);
  if (!ints) return 'every field must be a positive integer';
  if (c.vec4) {
    if (c.tileK % 4 !== 0) return 'vec4 configurations need TILE_K % 4 = 0';
    if (c.tm > 8 || (c.tn !== 4 && c.tn !== 8)) return 'vec4 configurations take 1..8 rows and 4 or 8 columns per invocation';
  } else if (c.tm > 4 || c.tn > 4) return 'scalar configurations take at most 4×4 outputs per invocation';
  if (c.wgX > limits.maxComputeWorkgroupSizeX || c.wgY > limits.maxComputeWorkgroupSizeY || c.wgX * c.wgY > limits.maxComputeInvocationsPerWorkgroup)
    return `the workgroup exceeds the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations`;
  if (tileBytes(c) > limits.maxComputeWorkgroupStorageSize)
    return `the tiles take ${tileBytes(c)} bytes, over the device's ${limits.maxComputeWorkgroupStorageSize}`;
  return undefined;
}

function checkConfig(c: MatmulConfig, limits?: ComputeLimits): void {
  const problem = configProblem(c, limits);
  if (problem) throw new RangeError(`bad matmul configuration ${configKey(c)}: ${problem}`);
}

/** Workgroups along N (x) and M (y) covering `shape` with `config`'s tiles. */
export function workgroupGrid(config: MatmulConfig, shape: MatmulShape): { x: number; y: number } {
  return { x: Math.ceil(shape.n / (config.wgX * config.tn)), y: Math.ceil(shape.m / (config.wgY * config.tm)) };
}
