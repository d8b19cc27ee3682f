/**
 * The tile configurations the matmul-i8 tuner tries (autotune.ts), and their form in the tune
 * cache. A small space over matmul-i8.wgsl's override constants: workgroups of 64 to 256
 * invocations, 1×1 to 4×4 outputs each (the shader's bound), 1 to 16 packed words (4 to 64 int8
 * values) of K per step. Every one is tested bit-exact on lavapipe (test/unit/matmul-i8-tuning-dawn.test.ts)
 * and SwiftShader (test/browser/matmul-i8-gpu.test.ts); each is tried only where the device's limits admit it.
 */
import type { TileConfig } from '../../gpu/tune-cache';
import type { ComputeLimits } from '../matmul/gpu';
import { DEFAULT_I8_CONFIG, i8ConfigProblem, type I8Config } from './gpu';

export const I8_CANDIDATES: readonly I8Config[] = [
  DEFAULT_I8_CONFIG,
  { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK4: 8 },
  { wgX: 16, wgY: 16, tm: 4, tn: 4, tileK4: 16 },
  { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK4: 16 },
  { wgX: 16, wgY: 16, tm: 2, tn: 2, tileK4: 8 },
  { wgX: 16, wgY: 8, tm: 4, tn: 4, tileK4: 8 },
  { wgX: 32, wgY: 8, tm: 2, tn: 4, tileK4: 8 },
  { wgX: 8, wgY: 8, tm: 2, tn: 2, tileK4: 16 },
  { wgX: 16, wgY: 16, tm: 1, tn: 1, tileK4: 4 },
];

/** The candidates that fit a device with `limits`, in the given order. */
export function i8CandidatesFor(limits: ComputeLimits, candidates: readonly I8Config[] = I8_CANDIDATES): I8Config[] {
  return candidates.filter((c) => i8ConfigProblem(c, limits) === undefined);
}

/**
 * An i8 configuration as the tune cache keeps tile configurations: `tileK` counts int8 values of
 * K per step (four per packed word), so the cached form reads like the other kernels'.
 */
export const i8ToTile = (c: I8Config): TileConfig => ({ wgX: c.wgX, wgY: c.wgY, tm: c.tm, tn: c.tn, tileK: 4 * c.tileK4 });

/** The i8 configuration a cached entry names, or undefined when the entry is not one (a damaged or foreign store entry reads as a miss). */
export function i8FromTile(t: TileConfig): I8Config | undefined {
  if (t.vec4 || t.tileK % 4 !== 0) return undefined;
  const c: I8Config = { wgX: t.wgX, wgY: t.wgY, tm: t.tm, tn: t.tn, tileK4: t.tileK / 4 };
  return i8ConfigProblem(c, {
    maxComputeWorkgroupStorageSize: Infinity,
    maxComputeInvocationsPerWorkgroup: Infinity,
    maxComputeWorkgroupSizeX: Infinity,
    maxComputeWorkgroupSizeY: Infinity,
  }) === undefined
    ? c
    : undefined;
}
