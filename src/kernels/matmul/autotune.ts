import type { TuneCache } from '../../gpu/tune-cache';
import { seededRandom } from '../../work/seeded';
import { DEFAULT_MATMUL_CONFIG, MatmulKind, configKey, type MatmulConfig, type MatmulGpu } from './gpu';
import { MODP_MAX } from './matmul';

/**
 * The tile shapes tried: big register blocks suit discrete GPUs, small ones suit integrated
 * and software adapters with little register space. All fit WebGPU's default limits.
 */
export const MATMUL_CANDIDATES: readonly MatmulConfig[] = [
  DEFAULT_MATMUL_CONFIG,
  { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16, vec4: true },
  { wgX: 16, wgY: 16, tm: 4, tn: 4, tileK: 8, vec4: true },
  { wgX: 8, wgY: 16, tm: 4, tn: 4, tileK: 32, vec4: true },
  { wgX: 16, wgY: 16, tm: 2, tn: 2, tileK: 16 },
  { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16 },
  { wgX: 16, wgY: 8, tm: 4, tn: 4, tileK: 8 },
  { wgX: 8, wgY: 8, tm: 2, tn: 2, tileK: 32 },
  { wgX: 16, wgY: 16, tm: 1, tn: 1, tileK: 16 },
];

export interface TuneResult {
  readonly config: MatmulConfig;
  /** Best time per candidate (ms); empty when the cache answered. */
  readonly timings: readonly { readonly config: string; readonly ms: number }[];
  readonly cached: boolean;
}

export interface TuneOptions {
  readonly adapterKey: string;
  readonly cache: TuneCache;
  /** Edge of the square problem timed (default 256: a fraction of a second even on SwiftShader). */
  readonly size?: number;
  readonly candidates?: readonly MatmulConfig[];
  readonly repeats?: number;
  readonly signal?: AbortSignal;
}

/**
 * Picks the fastest tile configuration of a matmul kernel on this adapter by timing each
 * candidate on a small problem (best of `repeats`, after one warm-up that compiles it), and
 * remembers the answer for the adapter.
 */
export async function tuneMatmul(gpu: MatmulGpu, kind: MatmulKind, options: TuneOptions): Promise<TuneResult> {
  const key = `matmul-${kind}@${options.adapterKey}`;
  const known = await options.cache.get(key);
  if (known) return { config: known, timings: [], cached: true };

  const n = options.size ?? 256;
  const shape = { m: n, n, k: n };
  const random = seededRandom(n);
  const p = MODP_MAX;
  const af = Float32Array.from({ length: n * n }, () => random() - 0.5);
  const bf = Float32Array.from({ length: n * n }, () => random() - 0.5);
  const au = Uint32Array.from(af, (x) => Math.floor((x + 0.5) * p));
  const bu = Uint32Array.from(bf, (x) => Math.floor((x + 0.5) * p));
  // One big dispatch per run: the pacer's splitting would blur the comparison.
  const run = (config: MatmulConfig) =>
    kind === MatmulKind.F32
      ? gpu.f32(af, bf, shape, config, { signal: options.signal, initialTileRows: 65535 })
      : gpu.modp(au, bu, shape, p, config, { signal: options.signal, initialTileRows: 65535 });

  const timings: { config: string; ms: number }[] = [];
  let best = { config: DEFAULT_MATMUL_CONFIG, ms: Infinity };
  // The vec4 kernel exists for f32 only.
  const candidates = (options.candidates ?? MATMUL_CANDIDATES).filter((c) => kind === MatmulKind.F32 || !c.vec4);
  for (const config of candidates) {
    await run(config); // compiles the pipeline and warms caches
    let ms = Infinity;
    for (let r = 0; r < (options.repeats ?? 2); r++) {
      const started = performance.now();
      await run(config);
      ms = Math.min(ms, performance.now() - started);
    }
    timings.push({ config: configKey(config), ms });
    if (ms < best.ms) best = { config, ms };
  }
  await options.cache.set(key, best.config);
  return { config: best.config, timings, cached: false };
}
