import type { MatmulF32JobSpec } from '../matmul-f32/spec';
import type { MatmulModpJobSpec } from '../matmul-modp/spec';
import { unitSeed } from './inputs';

/** A job of either matrix kernel. */
export type MatmulJobSpec = MatmulF32JobSpec | MatmulModpJobSpec;

/** What a unit of either matrix kernel takes from its job. */
export function matmulUnitFields(
  spec: { readonly id: string; readonly seed: number; readonly m: number; readonly n: number; readonly k: number },
  index: number,
) {
  return { jobId: spec.id, unitId: `${spec.id}/${index}`, seed: unitSeed(spec.seed, index), m: spec.m, n: spec.n, k: spec.k };
}

/** Credit for a product: its multiply-adds. */
export const matmulWork = (unit: { readonly m: number; readonly n: number; readonly k: number }) => unit.m * unit.n * unit.k;
