/**
 * matmul-i8's tensor-core path: Dawn's `chromium-experimental-subgroup-matrix` (i8 → i32
 * configurations), on shaders generated per configuration (subgroup-matrix-wgsl.ts). It has never
 * run on a device it was built on (none here offers the feature), so it is trusted per device only
 * after a canary: a product of fixed seeded operands at an odd shape compared bit for bit with
 * the CPU reference. A compile or validation error, or any difference, demotes the path for that
 * device (the portable path runs instead, and the reason is reported), so a wrong result is
 * never returned.
 */
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import type { GpuDevices } from '../../gpu/device';
import { DispatchPacer } from '../../gpu/pacer';
import { PipelineCache } from '../../gpu/pipelines';
import { runPaced, submitDispatch, withRunBuffers } from '../../gpu/run';
import type { MatmulShape } from '../matmul/matmul';
import type { I8RunOptions } from './gpu';
import { seededInt8 } from './inputs';
import { matmulI8Ref, packColumns, packRows, packedWords } from './matmul-i8';
import { SUBGROUP_MATRIX_FEATURE, chooseI8MatrixConfig, matrixConfigKey, type SubgroupMatrixConfig } from './subgroup-matrix-config';
import { MatrixAddressing, matrixTile, subgroupMatrixWgsl, type MatrixShader } from './subgroup-matrix-wgsl';

/** The canary's shape: odd against every tile and K step, so padding and edges are exercised. */
export const CANARY_SHAPE: MatmulShape = { m: 77, n: 45, k: 100 };

/** Result matrices per workgroup (2 × 2, as int8 GEMMs on this feature are usually blocked). */
const BLOCKS = 2;

/** Whether the path may be used on a device: the shader that passed the canary, or why none did. */
export type MatrixVerdict = { readonly ok: true; readonly shader: MatrixShader; readonly note: string } | { readonly ok: false; readonly reason: string };

/**
 * Runs `product` for each candidate in turn on the canary's operands and keeps the first whose
 * product equals the CPU reference bit for bit. A GPU error (compile, validation) or a difference
 * rules a candidate out; anything else (a lost device, an abort) is rethrown, deciding nothing.
 */
export async function runCanary<V>(
  candidates: readonly V[],
  name: (v: V) => string,
  product: (v: V, a: Int8Array, b: Int8Array, shape: MatmulShape) => Promise<Int32Array>,
): Promise<{ readonly ok: true; readonly chosen: V } | { readonly ok: false; readonly reason: string }> {
  const shape = CANARY_SHAPE;
  const a = seededInt8(0x15ca, 1, shape.m * shape.k);
  const b = seededInt8(0x15ca, 2, shape.k * shape.n);
  const want = matmulI8Ref(a, b, shape);
  const why: string[] = [];
  for (const v of candidates) {
    let got: Int32Array;
    try {
      got = await product(v, a, b, shape);
    } catch (err) {
      if (!(err instanceof TabgridError) || err.code !== ErrorCode.GpuError) throw err;
      why.push(`${name(v)}: ${err.message}`);
      continue;
    }
    const at = got.length === want.length ? want.findIndex((w, i) => got[i] !== w) : 0;
    if (at < 0) return { ok: true, chosen: v };
    why.push(
      got.length !== want.length
        ? `${name(v)}: ${got.length} results, not ${want.length}`
        : `${name(v)}: C[${Math.floor(at / shape.n)}][${at % shape.n}] = ${got[at]}, the CPU says ${want[at]}`,
    );
  }
  return { ok: false, reason: `the canary product failed: ${why.join('; ') || 'no candidate'}` };
}

/** Rows of `words` u32 words each, copied into rows of `stride` words (zeros after), `rows` of them of `total`. */
function padRows(words: Uint32Array, rows: number, width: number, stride: number, total: number): Uint32Array {
  const out = new Uint32Array(total * stride);
  for (let r = 0; r < rows; r++) out.set(words.subarray(r * width, (r + 1) * width), r * stride);
  return out;
}

/** The tensor-core runner for one adapter's configuration, and its per-device canary verdicts. */
export class SubgroupMatrixI8 {
  private readonly caches = new Map<string, PipelineCache>();
  private readonly verdicts = new WeakMap<GPUDevice, Promise<MatrixVerdict>>();

  constructor(private readonly devices: GpuDevices) {}

  /**
   * Whether the path may run on the current device: the adapter must offer an i8 → i32
   * configuration, the device must have been requested with the feature, and the canary must
   * pass, once per device. A lost device or abort during the canary rejects and decides nothing.
   */
  async verdict(): Promise<MatrixVerdict> {
    const device = await this.devices.acquire();
    let verdict = this.verdicts.get(device);
    if (!verdict) {
      verdict = this.judge(device);
      verdict.catch(() => this.verdicts.delete(device));
      this.verdicts.set(device, verdict);
    }
    return verdict;
  }

  private async judge(device: GPUDevice): Promise<MatrixVerdict> {
    const adapter = await this.devices.gpuAdapter();
    const choice = chooseI8MatrixConfig({ features: adapter.features, info: adapter.info as MatrixAdapterInfo });
    if (!choice.config) return { ok: false, reason: choice.reason };
    if (!device.features.has(SUBGROUP_MATRIX_FEATURE)) return { ok: false, reason: `the device was not granted ${SUBGROUP_MATRIX_FEATURE}` };
    return this.canary(choice.config, choice.subgroupSize);
  }

  /**
   * The canary for `config` on the current device: each generated shader in turn (shadersFor)
   * multiplies the canary's operands; the first exact one is kept, else the path is demoted.
   */
  async canary(config: SubgroupMatrixConfig, subgroupSize: number): Promise<MatrixVerdict> {
    const outcome = await runCanary(
      shadersFor(config, subgroupSize),
      (s) => `${s.addressing} addressing`,
      (shader, a, b, shape) => this.packed(packRows(a, shape.m, shape.k), packColumns(b, shape.k, shape.n), shape, shader, { poisonOutput: 0x7fc0dead }),
    );
    if (!outcome.ok) return { ok: false, reason: `${matrixConfigKey(config)}: ${outcome.reason}` };
    return { ok: true, shader: outcome.chosen, note: `${matrixConfigKey(config)}, ${outcome.chosen.addressing} addressing, canary exact` };
  }

  /** C = A·B from packed operands (packRows of A, packColumns of B) with `shader`, on the current device. */
  async packed(aPacked: Uint32Array, btPacked: Uint32Array, shape: MatmulShape, shader: MatrixShader, options: I8RunOptions = {}): Promise<Int32Array> {
    const { m, n, k } = shape;
    const k4 = packedWords(k);
    if (aPacked.length !== m * k4 || btPacked.length !== n * k4)
      throw new TabgridError(ErrorCode.BadInput, `packed operands of ${aPacked.length} and ${btPacked.length} words do not fit ${m}×${n}×${k}`);
    throwIfAborted(options.signal);
    const tile = matrixTile(shader);
    const kp = Math.ceil(k / shader.config.K) * shader.config.K;
    const mp = Math.ceil(m / tile.m) * tile.m;
    const np = Math.ceil(n / tile.n) * tile.n;
    const device = await this.devices.acquire();
    const pipeline = await this.cache(shader).get(device);
    // Zero rows past the end as well: the draft's bound for a load or store (offset + stride ·
    // rows · columns, in either reading of its units) stays within every buffer, so no bounds
    // check of a compiler that reads it so can alter a load.
    const { M, N, K } = shader.config;
    const a = padRows(aPacked, m, k4, kp / 4, mp + M * K);
    const bt = padRows(btPacked, n, k4, kp / 4, np + N * K);
    const cBytes = (mp + M * N) * np * 4;
    const padded = await withRunBuffers(device, async (buffers) => {
      const dims = buffers.uniform(16, 'matmul-i8 subgroup-matrix dims');
      const c = buffers.output(cBytes, 'matmul-i8 subgroup-matrix C', options.poisonOutput);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [buffers.input(a, 'A padded'), buffers.input(bt, 'Bt padded'), c, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      await runPaced({
        device,
        total: mp / tile.m,
        pacer: new DispatchPacer({ initial: 1, max: Math.min(65535, options.maxTileRows ?? 65535) }),
        signal: options.signal,
        pace: options.pace,
        onProgress: options.onProgress && ((done) => options.onProgress!(Math.min(m, done * tile.m), m)),
        dispatch: (tileRow, count) =>
          submitDispatch(device, pipeline, bindGroup, { buffer: dims, words: new Uint32Array([kp, np, tileRow, 0]) }, np / tile.n, count),
      });
      return new Int32Array(await buffers.read(c, mp * np * 4));
    });
    if (np === n) return padded.slice(0, m * n);
    const out = new Int32Array(m * n);
    for (let r = 0; r < m; r++) out.set(padded.subarray(r * np, r * np + n), r * n);
    return out;
  }

  private cache(shader: MatrixShader): PipelineCache {
    const key = JSON.stringify(shader);
    let cache = this.caches.get(key);
    if (!cache) {
      cache = new PipelineCache(`matmul-i8 subgroup-matrix ${matrixConfigKey(shader.config)} (${shader.addressing})`, subgroupMatrixWgsl(shader));
      this.caches.set(key, cache);
    }
    return cache;
  }
}

type MatrixAdapterInfo = { readonly subgroupMatrixConfigs?: Iterable<SubgroupMatrixConfig>; readonly subgroupMaxSize?: number };

/** The shaders the canary tries for a configuration, in order: int8-element addressing first (the draft's wording), then 32-bit words. */
export function shadersFor(config: SubgroupMatrixConfig, subgroupSize: number): MatrixShader[] {
  return [MatrixAddressing.Elements, MatrixAddressing.Words].map((addressing) => ({ config, subgroupSize, blocksM: BLOCKS, blocksN: BLOCKS, addressing }));
}
