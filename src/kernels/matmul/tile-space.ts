/**
 * The tile configurations the matmul tuner tries, and the shape classes it tunes per. Small
 * register blocks suit integrated and software adapters; the wide vec4 blocks (up to 8 × 8
 * outputs per invocation, 128 × 128 tiles) and the configurations over WebGPU's default limits
 * are for big GPUs, and each is tried only where the device's limits admit it.
 */
import { DEFAULT_MATMUL_CONFIG, MatmulKind, configProblem, type ComputeLimits, type MatmulConfig } from './gpu';
import type { MatmulShape } from './matmul';

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
  // Wide vec4 blocks (matmul-f32-vec4-wide.wgsl): more outputs per invocation, 128-wide tiles.
  { wgX: 16, wgY: 16, tm: 8, tn: 8, tileK: 8, vec4: true },
  { wgX: 16, wgY: 16, tm: 8, tn: 8, tileK: 16, vec4: true },
  { wgX: 16, wgY: 16, tm: 4, tn: 8, tileK: 16, vec4: true },
  { wgX: 16, wgY: 16, tm: 8, tn: 4, tileK: 16, vec4: true },
  { wgX: 8, wgY: 16, tm: 8, tn: 8, tileK: 16, vec4: true },
  // Over WebGPU's default limits (512 invocations or 32 KiB of workgroup memory): big GPUs only.
  { wgX: 16, wgY: 16, tm: 8, tn: 8, tileK: 32, vec4: true },
  { wgX: 32, wgY: 16, tm: 4, tn: 8, tileK: 16, vec4: true },
  { wgX: 32, wgY: 16, tm: 4, tn: 4, tileK: 8 },
];

/**
 * A unit's shape rounded to its class: each side up to a power of two (at least 16), and whether
 * the vec4 kernels can take it. Units of one class share a tuning.
 */
export interface ShapeClass {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** K and N multiples of 4: the vec4 kernels apply. */
  readonly vec4: boolean;
}

export function shapeClass(shape: MatmulShape): ShapeClass {
  const up = (x: number) => Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, x))));
  return { m: up(shape.m), n: up(shape.n), k: up(shape.k), vec4: shape.k % 4 === 0 && shape.n % 4 === 0 };
}

export function shapeClassKey(c: ShapeClass): string {
  return `${c.m}x${c.n}x${c.k}${c.vec4 ? '' : '/scalar'}`;
}

/** The candidates a kernel tries for a shape class on a device with `limits`, in the given order. */
export function candidatesFor(
  kind: MatmulKind,
  cls: ShapeClass,
  limits: ComputeLimits,
  candidates: readonly MatmulConfig[] = MATMUL_CANDIDATES,
): MatmulConfig[] {
  // The vec4 kernels exist for f32 only, and only for shapes of whole vec4s.
  return candidates.filter((c) => (!c.vec4 || (kind === MatmulKind.F32 && cls.vec4)) && configProblem(c, limits) === undefined);
}
