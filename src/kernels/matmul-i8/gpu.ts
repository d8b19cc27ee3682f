import kernelSource from './matmul-i8.wgsl?raw';
import seededSource from './seeded-i8.wgsl?raw';
import { MerkleLeavesGpu } from '../../gpu/merkle-leaves';
import { MAX_WORKGROUPS } from '../../gpu/pacer';
import type { RunBuffers } from '../../gpu/run';
import { operandBase } from '../matmul/inputs';
import { seededInt8 } from './inputs';

const SEEDED_WORKGROUP = 256;
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import type { GpuDevices } from '../../gpu/device';
import { DispatchPacer } from '../../gpu/pacer';
import { PipelineCache } from '../../gpu/pipelines';
import { runPaced, submitDispatch, withRunBuffers, type RunOptions } from '../../gpu/run';
import { DEFAULT_COMPUTE_LIMITS, type ComputeLimits } from '../matmul/gpu';
import { checkShape, type MatmulShape } from '../matmul/matmul';
import { packColumns, packedWords, packRows } from './matmul-i8';
import { SubgroupMatrixI8 } from './subgroup-matrix';
import type { MatrixShader } from './subgroup-matrix-wgsl';

/** The WGSL language feature that brings `dot4I8Packed` (Chrome 123 and later). */
export const PACKED_DOT_FEATURE = 'packed_4x8_integer_dot_product';

/**
 * How the product is computed: matmul-i8.wgsl with dot4 of two packed words by the builtin, or by
 * shifts where the adapter lacks it (the portable paths); or tensor cores through Dawn's subgroup
 * matrices, where the adapter offers them and the on-device canary passed (subgroup-matrix.ts).
 */
export const I8Path = { Packed: 'dot4I8Packed', Shifts: 'shifts', SubgroupMatrix: 'subgroup-matrix' } as const;
export type I8Path = (typeof I8Path)[keyof typeof I8Path];
export type PortableI8Path = typeof I8Path.Packed | typeof I8Path.Shifts;

const DOT4: Record<PortableI8Path, string> = {
  [I8Path.Packed]: `requires ${PACKED_DOT_FEATURE};
fn dot4(a: u32, b: u32) -> i32 { return dot4I8Packed(a, b); }
`,
  // Byte i moved to the top, then an arithmetic shift sign-extends it: four int8 lanes as i32.
  [I8Path.Shifts]: `fn dot4(a: u32, b: u32) -> i32 {
  let s = vec4u(24u, 16u, 8u, 0u);
  return dot(bitcast<vec4i>(vec4u(a) << s) >> vec4u(24u), bitcast<vec4i>(vec4u(b) << s) >> vec4u(24u));
}
`,
};

/** The shader's tile: invocations, outputs per invocation, packed words of K per step. */
export interface I8Config {
  readonly wgX: number;
  readonly wgY: number;
  readonly tm: number;
  readonly tn: number;
  readonly tileK4: number;
}

export const DEFAULT_I8_CONFIG: I8Config = { wgX: 16, wgY: 16, tm: 4, tn: 4, tileK4: 8 };

export interface I8RunOptions extends RunOptions {
  readonly config?: I8Config;
  /** Pre-fill C with this word (tests: an unwritten element shows as poison). */
  readonly poisonOutput?: number;
  /** Most tile rows a dispatch covers (tests: force several dispatches). */
  readonly maxTileRows?: number;
}

/** Bytes of workgroup memory a configuration's two tiles take (rows padded by one word, as the shader lays them out). */
export const i8TileBytes = (c: I8Config) => (c.wgY * c.tm + c.wgX * c.tn) * (c.tileK4 + 1) * 4;

/** Why a configuration cannot run (the shader's bounds, or the device's limits; WebGPU's defaults when none are given), or undefined. */
export function i8ConfigProblem(c: I8Config, limits: ComputeLimits = DEFAULT_COMPUTE_LIMITS): string | undefined {
  if (![c.wgX, c.wgY, c.tm, c.tn, c.tileK4].every((x) => Number.isInteger(x) && x >= 1)) return 'every field must be a positive integer';
  if (c.tm > 4 || c.tn > 4) return 'at most 4×4 outputs per invocation';
  if (c.wgX > limits.maxComputeWorkgroupSizeX || c.wgY > limits.maxComputeWorkgroupSizeY || c.wgX * c.wgY > limits.maxComputeInvocationsPerWorkgroup)
    return `the workgroup exceeds the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations`;
  if (i8TileBytes(c) > limits.maxComputeWorkgroupStorageSize)
    return `the tiles take ${i8TileBytes(c)} bytes, over the device's ${limits.maxComputeWorkgroupStorageSize}`;
  return undefined;
}

export const i8ConfigKey = (c: I8Config) => `${c.wgX}x${c.wgY}/${c.tm}x${c.tn}/k4x${c.tileK4}`;

function checkConfig(c: I8Config, limits?: ComputeLimits): void {
  const problem = i8ConfigProblem(c, limits);
  if (problem) throw new RangeError(`bad matmul-i8 configuration ${i8ConfigKey(c)}: ${problem}`);
}

/** Workgroups along N (x) and M (y) covering `shape` with `config`'s tiles. */
export function i8WorkgroupGrid(config: I8Config, shape: MatmulShape): { x: number; y: number } {
  return { x: Math.ceil(shape.n / (config.wgX * config.tn)), y: Math.ceil(shape.m / (config.wgY * config.tm)) };
}

/**
 * int8 products on the GPU: the tensor-core path where the adapter offers an i8 subgroup-matrix
 * configuration and the device's canary passed (subgroup-matrix.ts), else matmul-i8.wgsl, whose
 * dot product is chosen once per runner from the adapter's WGSL language features. A path may be
 * forced (tests, benches; a forced tensor path that failed its canary throws). `path()` says which and why.
 */
export class MatmulI8Gpu {
  private readonly caches = new Map<string, PipelineCache>();
  private readonly seededPipelines = new PipelineCache('seeded-i8.wgsl', seededSource, { WORKGROUP_SIZE: SEEDED_WORKGROUP });
  private readonly leaves = new MerkleLeavesGpu();
  private chosen?: { readonly path: PortableI8Path; readonly reason: string };
  private readonly matrix: SubgroupMatrixI8;

  constructor(
    private readonly devices: GpuDevices,
    private readonly forced?: I8Path,
  ) {
    this.matrix = new SubgroupMatrixI8(devices);
  }

  /** The path products take on the current device, and why (the tensor path's demotion included). */
  async path(): Promise<{ readonly path: I8Path; readonly reason: string }> {
    return (await this.route()).chosen;
  }

  /** The portable shader's dot product on this adapter, and why: what tile tuning is for. */
  async portablePath(): Promise<{ readonly path: PortableI8Path; readonly reason: string }> {
    if (this.chosen) return this.chosen;
    await this.devices.acquire();
    // Read on use, never at import: nothing touches navigator.gpu before consent. In Node the
    // GPU is Dawn's, which GpuDevices hands out (there is no navigator.gpu).
    const features = this.devices.wgslLanguageFeatures();
    this.chosen =
      this.forced === I8Path.Packed || this.forced === I8Path.Shifts
        ? { path: this.forced, reason: `${this.forced} forced` }
        : features?.has(PACKED_DOT_FEATURE)
          ? { path: I8Path.Packed, reason: `the adapter has ${PACKED_DOT_FEATURE}` }
          : { path: I8Path.Shifts, reason: `no ${PACKED_DOT_FEATURE} here: int8 lanes unpacked with shifts` };
    return this.chosen;
  }

  private async route(): Promise<{ readonly chosen: { readonly path: I8Path; readonly reason: string }; readonly shader?: MatrixShader }> {
    if (this.forced === I8Path.Packed || this.forced === I8Path.Shifts) return { chosen: await this.portablePath() };
    const verdict = await this.matrix.verdict();
    if (verdict.ok) return { chosen: { path: I8Path.SubgroupMatrix, reason: verdict.note }, shader: verdict.shader };
    if (this.forced === I8Path.SubgroupMatrix)
      throw new TabgridError(ErrorCode.GpuError, `the subgroup-matrix path was forced but is unavailable: ${verdict.reason}`);
    const portable = await this.portablePath();
    return { chosen: { path: portable.path, reason: `${portable.reason} (no tensor-core path: ${verdict.reason})` } };
  }

  /** C = A·B, A m×k and B k×n int8 row-major, C int32. */
  async matmul(a: Int8Array, b: Int8Array, shape: MatmulShape, options: I8RunOptions = {}): Promise<Int32Array> {
    checkShape(shape, a.length, b.length);
    return this.packed(packRows(a, shape.m, shape.k), packColumns(b, shape.k, shape.n), shape, options);
  }

  /** The same from operands already packed (packRows of A, packColumns of B): a unit packs B once for all its segments. */
  async packed(aPacked: Uint32Array, btPacked: Uint32Array, shape: MatmulShape, options: I8RunOptions = {}): Promise<Int32Array> {
    const { m, n, k } = shape;
    const k4 = packedWords(k);
    if (aPacked.length !== m * k4 || btPacked.length !== n * k4) {
      throw new TabgridError(ErrorCode.BadInput, `packed operands of ${aPacked.length} and ${btPacked.length} words do not fit ${m}×${n}×${k}`);
    }
    return new Int32Array((await this.product({ aPacked, btPacked }, shape, options)).c);
  }

  /**
   * Rows [rowStart, rowStart + shape.m) of a seeded unit's C (matmul-i8/inputs.ts), the operands
   * made on the GPU already packed (seeded-i8.wgsl): nothing made on the CPU or uploaded. With
   * `leafHashes`, the rows' Merkle leaf hashes are computed there too (gpu/merkle-leaves.ts).
   */
  async seeded(
    seed: number,
    shape: MatmulShape,
    rowStart: number,
    options: I8RunOptions & { leafHashes?: boolean } = {},
  ): Promise<{ c: ArrayBuffer; leafHashes?: Uint8Array }> {
    checkShape(shape, shape.m * shape.k, shape.k * shape.n);
    return this.product({ seed, rowStart }, shape, options);
  }

  private async product(
    operands: { aPacked: Uint32Array; btPacked: Uint32Array } | { seed: number; rowStart: number },
    shape: MatmulShape,
    options: I8RunOptions & { leafHashes?: boolean },
  ): Promise<{ c: ArrayBuffer; leafHashes?: Uint8Array }> {
    const { m, n, k } = shape;
    const k4 = packedWords(k);
    const config = options.config ?? DEFAULT_I8_CONFIG;
    checkConfig(config);
    throwIfAborted(options.signal);
    const { shader } = await this.route();
    if (shader) {
      // The tensor-core path reads operands from the CPU: a seeded unit's are made there for it.
      const packed =
        'seed' in operands
          ? {
              aPacked: packRows(seededInt8(operands.seed, 1, (operands.rowStart + m) * k).subarray(operands.rowStart * k), m, k),
              btPacked: packColumns(seededInt8(operands.seed, 2, k * n), k, n),
            }
          : operands;
      const c = await this.matrix.packed(packed.aPacked, packed.btPacked, shape, shader, options);
      return { c: c.buffer.slice(c.byteOffset, c.byteOffset + c.byteLength) as ArrayBuffer };
    }
    const device = await this.devices.acquire();
    checkConfig(config, device.limits);
    const pipeline = await this.pipeline(config, device);
    const seededPipeline = 'seed' in operands ? await this.seededPipelines.get(device) : undefined;
    const leafPipeline = options.leafHashes ? await this.leaves.pipeline(device) : undefined;
    const tileM = config.wgY * config.tm;
    const tileN = config.wgX * config.tn;
    const outBytes = m * n * 4;
    return withRunBuffers(device, async (buffers) => {
      const dims = buffers.uniform(16, 'matmul-i8 dims');
      const c = buffers.output(outBytes, 'matmul-i8 C', options.poisonOutput);
      const [aBuffer, bBuffer] =
        'seed' in operands
          ? buffers.errors.run(() => {
              const encoder = device.createCommandEncoder();
              const make = (tag: number, rowStart: number, rows: number, transposed: number) =>
                this.encodeSeeded(buffers, seededPipeline!, encoder, [operandBase(operands.seed, tag), rowStart, rows, k, n, transposed, k4, 0]);
              const made = [make(1, operands.rowStart, m, 0), make(2, 0, n, 1)] as const;
              device.queue.submit([encoder.finish()]);
              return made;
            })
          : [buffers.input(operands.aPacked, 'A packed'), buffers.input(operands.btPacked, 'B packed')];
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [aBuffer, bBuffer, c, dims].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        })),
      });
      await runPaced({
        device,
        total: Math.ceil(m / tileM),
        pacer: new DispatchPacer({ initial: 1, max: Math.min(65535, options.maxTileRows ?? 65535) }),
        errors: buffers.errors,
        signal: options.signal,
        pace: options.pace,
        onProgress: options.onProgress && ((done) => options.onProgress!(Math.min(m, done * tileM), m)),
        dispatch: (tileRow, count) =>
          submitDispatch(device, pipeline, bindGroup, { buffer: dims, words: new Uint32Array([m, n, k4, tileRow]) }, Math.ceil(n / tileN), count),
      });
      return this.leaves.readWithLeaves(buffers, leafPipeline, c, m, n, outBytes);
    });
  }

  /** Encodes one packed seeded operand (seeded-i8.wgsl) into a new buffer of the run; `params` are the shader's. */
  private encodeSeeded(buffers: RunBuffers, pipeline: GPUComputePipeline, encoder: GPUCommandEncoder, params: number[]): GPUBuffer {
    const { device } = buffers;
    const words = params[2]! * params[6]!;
    const out = buffers.scratch(words * 4, 'i8 seeded operand');
    const uniform = buffers.uniform(32, 'i8 seeded params');
    device.queue.writeBuffer(uniform, 0, Uint32Array.from(params));
    const groups = Math.ceil(words / SEEDED_WORKGROUP);
    const x = Math.min(groups, MAX_WORKGROUPS);
    const pass = encoder.beginComputePass({ label: 'i8 seeded operand' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [out, uniform].map((buffer, binding) => ({ binding, resource: { buffer } })) }),
    );
    pass.dispatchWorkgroups(x, Math.ceil(groups / x));
    pass.end();
    return out;
  }

  /** The portable pipeline of `config` on this adapter's dot product, on `device` (default: the current device), compiled once. */
  async pipeline(config: I8Config, device?: GPUDevice): Promise<GPUComputePipeline> {
    const { path } = await this.portablePath();
    return this.cache(path, config).get(device ?? (await this.devices.acquire()));
  }

  /** The device the runs use (requested on first use). */
  device(): Promise<GPUDevice> {
    return this.devices.acquire();
  }

  private cache(path: PortableI8Path, config: I8Config): PipelineCache {
    const key = `${path}:${i8ConfigKey(config)}`;
    let cache = this.caches.get(key);
    if (!cache) {
      cache = new PipelineCache(`matmul-i8.wgsl (${path})`, DOT4[path] + kernelSource, {
        WG_X: config.wgX,
        WG_Y: config.wgY,
        TM: config.tm,
        TN: config.tn,
        TILE_K4: config.tileK4,
      });
      this.caches.set(key, cache);
    }
    return cache;
  }
}
