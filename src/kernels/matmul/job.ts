import type { MatmulF32JobSpec } from '../matmul-f32/spec';
import type { MatmulModpJobSpec } from '../matmul-modp/spec';
import { unitSeed } from './inputs';
import { tileOf, type MatmulData } from './tiles';

/** A job of either matrix kernel. */
export type MatmulJobSpec = MatmulF32JobSpec | MatmulModpJobSpec;

/** What a unit of a matrix kernel takes from its job: seeded sizes, or its tile of a job that reads datasets (tiles.ts). */
export function matmulUnitFields(
  spec: {
    readonly id: string;
    readonly units: number;
    readonly seed: number;
    readonly m: number;
    readonly n: number;
    readonly k: number;
    readonly data?: MatmulData;
  },
  index: number,
) {
  const ids = { jobId: spec.id, unitId: `${spec.id}/${index}` };
  if (spec.data) {
    const { m, n, a, b } = tileOf({ ...spec, data: spec.data }, index);
    return { ...ids, seed: 0, m, n, k: spec.k, a, b };
  }
  return { ...ids, seed: unitSeed(spec.seed, index), m: spec.m, n: spec.n, k: spec.k };
}

/** Credit for a product: its multiply-adds. */
export const matmulWork = (unit: { readonly m: number; readonly n: number; readonly k: number }) => unit.m * unit.n * unit.k;
