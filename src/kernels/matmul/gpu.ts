import f32Source from '../matmul-f32/matmul-f32.wgsl?raw';
import f32Vec4Source from '../matmul-f32/matmul-f32-vec4.wgsl?raw';
import f32Vec4WideSource from '../matmul-f32/matmul-f32-vec4-wide.wgsl?raw';
import modpSource from '../matmul-modp/matmul-modp.wgsl?raw';
import { throwIfAborted } from '../../errors';
import { checkModulus, checkResidues, checkShape, type MatmulShape } from './matmul';
import type { GpuDevices } from '../../gpu/device';
import type { TileConfig } from '../../gpu/tune-cache';
import type { Pace } from '../../duty-cycle';
import { DispatchPacer } from '../../gpu/pacer';
import { PipelineCache } from '../../gpu/pipelines';
import { runPaced, submitDispatch, withRunBuffers } from '../../gpu/run';

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

/** Matrix products on the GPU (matmul-f32/matmul-f32*.wgsl, matmul-modp/matmul-modp.wgsl). */
export class MatmulGpu {
  private readonly caches = new Map<string, PipelineCache>();

  constructor(private readonly devices: GpuDevices) {}

  async f32(a: Float32Array, b: Float32Array, shape: MatmulShape, config = DEFAULT_MATMUL_CONFIG, options: MatmulRunOptions = {}): Promise<Float32Array> {
    checkShape(shape, a.length, b.length);
    const out = await this.run(MatmulKind.F32, a, b, shape, 0, config, options);
    return new Float32Array(out);
  }

  async modp(
    a: Uint32Array,
    b: Uint32Array,
    shape: MatmulShape,
    p: number,
    config = DEFAULT_MATMUL_CONFIG,
    options: MatmulRunOptions = {},
  ): Promise<Uint32Array> {
    checkShape(shape, a.length, b.length);
    checkModulus(p);
    checkResidues('A', a, p);
    checkResidues('B', b, p);
    return new Uint32Array(await this.run(MatmulKind.Modp, a, b, shape, p, config, options));
  }

  /** The pipeline for a kind and configuration on `device` (default: the current device), compiled once. */
  async pipeline(kind: MatmulKind, config: MatmulConfig, device?: GPUDevice): Promise<GPUComputePipeline> {
    return this.cache(kind, config).get(device ?? (await this.devices.acquire()));
  }

  /** The device the runs use (requested on first use). */
  device(): Promise<GPUDevice> {
    return this.devices.acquire();
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
    a: Float32Array | Uint32Array,
    b: Float32Array | Uint32Array,
    shape: MatmulShape,
    p: number,
    config: MatmulConfig,
    options: MatmulRunOptions,
  ): Promise<ArrayBuffer> {
    const { m, n, k } = shape;
    config = effectiveConfig(kind, shape, config);
    throwIfAborted(options.signal);
    const device = await this.devices.acquire();
    checkConfig(config, device.limits);
    const pipeline = await this.cache(kind, config).get(device);
    const tileM = config.wgY * config.tm;
    const tileN = config.wgX * config.tn;
    const tileRows = Math.ceil(m / tileM);
    const outBytes = m * n * 4;
    return withRunBuffers(device, async (buffers) => {
      const dims = buffers.uniform(32, `matmul-${kind} dims`);
      const c = buffers.output(outBytes, `matmul-${kind} C`, options.poisonOutput);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [buffers.input(a, 'A'), buffers.input(b, 'B'), c, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      await runPaced({
        device,
        total: tileRows,
        pacer: new DispatchPacer({
          initial: options.initialTileRows ?? 1,
          max: Math.min(65535, options.maxTileRows ?? 65535),
          targetMs: options.targetDispatchMs,
        }),
        signal: options.signal,
        pace: options.pace,
        onProgress: options.onProgress && ((done) => options.onProgress!(Math.min(m, done * tileM), m)),
        dispatch: (tileRow, count) =>
          submitDispatch(device, pipeline, bindGroup, { buffer: dims, words: new Uint32Array([m, n, k, tileRow, p, 0, 0, 0]) }, Math.ceil(n / tileN), count),
      });
      return buffers.read(c, outBytes);
    });
  }
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
