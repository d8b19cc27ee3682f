import kernelSource from './matmul-i8.wgsl?raw';
import seededSource from './seeded-i8.wgsl?raw';
import { MerkleLeavesGpu, digestBytes } from '../../gpu/merkle-leaves';
import { MAX_WORKGROUPS } from '../../gpu/pacer';
import type { RunBuffers } from '../../gpu/run';
import { operandBase } from '../matmul/inputs';

const SEEDED_WORKGROUP = 256;
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import type { GpuDevices } from '../../gpu/device';
import { DispatchPacer } from '../../gpu/pacer';
import { PipelineCache } from '../../gpu/pipelines';
import { runPaced, submitDispatch, withRunBuffers, type RunOptions } from '../../gpu/run';
import { checkShape, type MatmulShape } from '../matmul/matmul';
import { packColumns, packedWords, packRows } from './matmul-i8';

/** The WGSL language feature that brings `dot4I8Packed` (Chrome 123 and later). */
export const PACKED_DOT_FEATURE = 'packed_4x8_integer_dot_product';

/** How dot4 of two packed words is computed: the builtin, or shifts where the adapter lacks it. */
export const I8Path = { Packed: 'dot4I8Packed', Shifts: 'shifts' } as const;
export type I8Path = (typeof I8Path)[keyof typeof I8Path];

const DOT4: Record<I8Path, string> = {
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

function checkConfig(c: I8Config): void {
  // Within WebGPU's default limits: 256 invocations, 16 KiB of workgroup memory.
  const tileBytes = (c.wgY * c.tm + c.wgX * c.tn) * (c.tileK4 + 1) * 4;
  const ok = c.tm >= 1 && c.tm <= 4 && c.tn >= 1 && c.tn <= 4 && c.wgX >= 1 && c.wgY >= 1 && c.wgX * c.wgY <= 256 && c.tileK4 >= 1 && tileBytes <= 16384;
  if (!ok) throw new RangeError(`bad matmul-i8 configuration ${JSON.stringify(c)}`);
}

/**
 * int8 products on the GPU (matmul-i8.wgsl). The path is chosen once per runner from the
 * adapter's WGSL language features (or forced, for tests); `path()` says which and why.
 * No tensor-core path yet: `chromium-experimental-subgroup-matrix` is left for later.
 */
export class MatmulI8Gpu {
  private readonly caches = new Map<string, PipelineCache>();
  private readonly seededPipelines = new PipelineCache('seeded-i8.wgsl', seededSource, { WORKGROUP_SIZE: SEEDED_WORKGROUP });
  private readonly leaves = new MerkleLeavesGpu();
  private chosen?: { readonly path: I8Path; readonly reason: string };

  constructor(
    private readonly devices: GpuDevices,
    private readonly forced?: I8Path,
  ) {}

  /** Which dot product the shader uses on this adapter, and why. */
  async path(): Promise<{ readonly path: I8Path; readonly reason: string }> {
    if (this.chosen) return this.chosen;
    await this.devices.acquire();
    // Read on use, never at import: nothing touches navigator.gpu before consent.
    const features = globalThis.navigator?.gpu?.wgslLanguageFeatures;
    this.chosen = this.forced
      ? { path: this.forced, reason: `${this.forced} forced` }
      : features?.has(PACKED_DOT_FEATURE)
        ? { path: I8Path.Packed, reason: `the adapter has ${PACKED_DOT_FEATURE}` }
        : { path: I8Path.Shifts, reason: `no ${PACKED_DOT_FEATURE} here: int8 lanes unpacked with shifts` };
    return this.chosen;
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
    const { path } = await this.path();
    const device = await this.devices.acquire();
    const pipeline = await this.cache(path, config).get(device);
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
      if (!leafPipeline) return { c: await buffers.read(c, outBytes) };
      const digests = buffers.errors.run(() => {
        const encoder = device.createCommandEncoder();
        const out = this.leaves.encode(buffers, leafPipeline, encoder, c, m, n);
        device.queue.submit([encoder.finish()]);
        return out;
      });
      const [bytes, words] = await buffers.readMany([
        { source: c, size: outBytes },
        { source: digests, size: m * 32 },
      ]);
      return { c: bytes!, leafHashes: digestBytes(new Uint32Array(words!)) };
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

  private cache(path: I8Path, config: I8Config): PipelineCache {
    const key = `${path}:${config.wgX}x${config.wgY}/${config.tm}x${config.tn}/k${config.tileK4}`;
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
