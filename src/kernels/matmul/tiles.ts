/**
 * A big product C = A·B from the researcher's datasets, cut into units. A (rows×inner) is one
 * dataset; B (inner×cols) is cut into column panels of `n` columns, each its own dataset, so a
 * unit's operands are two contiguous slices: a band of `m` rows of A and one panel of B. Units
 * run panel by panel (all bands of panel 0, then panel 1, …), so a volunteer leased units in
 * order keeps reading the panel it already holds (sticky inputs). Ingestion (host/ingest/)
 * builds the datasets and the spec; the wire carries only roots and byte ranges.
 */
import * as v from 'valibot';
import { MAX_DATASET_BYTES, type DatasetSlice } from '../../data/dataset';
import { datasetRoot, list } from '../../protocol/fields';
import type { MatrixGrid } from '../host-kernel';
import { fields, intIn } from '../spec-fields';
import { MAX_UNIT_INNER_DIM, MAX_UNIT_MATRIX_DIM } from './unit';

/** The most rows or columns of a tiled product's operands (C has at most 2^20 × 2^20 elements). */
export const MAX_TILED_DIM = 1 << 20;
/** The most column panels of B (and so the most units per band of A). */
export const MAX_PANELS = 4096;

/** A tiled job's datasets: A's root, C's shape, the inner dimension, and B's panels' roots, left to right. */
export const matmulDataSchema = v.pipe(
  fields(
    {
      a: datasetRoot,
      rows: intIn('data.rows', 1, MAX_TILED_DIM),
      cols: intIn('data.cols', 1, MAX_TILED_DIM),
      inner: intIn('data.inner', 1, MAX_UNIT_INNER_DIM),
      panels: list(datasetRoot, MAX_PANELS),
    },
    { notObject: 'data must be an object', unknown: (key) => `data has an unknown field '${key}'` },
  ),
  v.check((d) => 4 * d.rows * d.inner <= MAX_DATASET_BYTES, `data: A must be at most ${MAX_DATASET_BYTES} bytes`),
);
export type MatmulData = v.InferOutput<typeof matmulDataSchema>;

interface TiledSpec {
  readonly id: string;
  readonly units: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly seed: number;
  readonly data?: MatmulData;
}

/** Why a tiled spec's sizes disagree with its datasets, or undefined. */
export function tilesProblem(spec: TiledSpec): string | undefined {
  const d = spec.data;
  if (d === undefined) return spec.k > MAX_UNIT_MATRIX_DIM ? `k must be an integer in 1..${MAX_UNIT_MATRIX_DIM} (larger only with data)` : undefined;
  if (spec.seed !== 0) return 'seed must be 0 for a job that reads datasets';
  if (spec.k !== d.inner) return `k must equal data.inner (${d.inner})`;
  if (d.panels.length !== Math.ceil(d.cols / spec.n)) return `data.panels must list ${Math.ceil(d.cols / spec.n)} panels (data.cols / n, rounded up)`;
  if (4 * spec.k * spec.n > MAX_DATASET_BYTES) return `a panel of B (k×n words) must be at most ${MAX_DATASET_BYTES} bytes`;
  const units = Math.ceil(d.rows / spec.m) * d.panels.length;
  if (spec.units !== units) return `units must be ${units} (bands of m rows × panels of n columns)`;
  return undefined;
}

/** Where unit `index` of a tiled job lies in C, and its two slices. */
export function tileOf(
  spec: TiledSpec & { readonly data: MatmulData },
  index: number,
): { row: number; col: number; m: number; n: number; a: DatasetSlice; b: DatasetSlice } {
  const d = spec.data;
  const bands = Math.ceil(d.rows / spec.m);
  const panel = Math.floor(index / bands);
  const band = index % bands;
  const m = Math.min(spec.m, d.rows - band * spec.m);
  const n = Math.min(spec.n, d.cols - panel * spec.n);
  const k = d.inner;
  const root = d.panels[panel];
  if (root === undefined || index < 0 || !Number.isInteger(index)) throw new RangeError(`unit ${index} of ${spec.id} is not in 0..${spec.units - 1}`);
  return {
    row: band * spec.m,
    col: panel * spec.n,
    m,
    n,
    a: { root: d.a, bytes: 4 * d.rows * k, offset: 4 * band * spec.m * k, length: 4 * m * k },
    b: { root, bytes: 4 * k * n, offset: 0, length: 4 * k * n },
  };
}

/** C's shape and the unit grid of a tiled job; undefined for a seeded one (independent products). */
export function matmulGrid(spec: TiledSpec): MatrixGrid | undefined {
  const d = spec.data;
  if (d === undefined) return undefined;
  const tiled = { ...spec, data: d };
  return {
    rows: d.rows,
    cols: d.cols,
    units: spec.units,
    tile: (index) => {
      const { row, col, m, n } = tileOf(tiled, index);
      return { row, col, m, n };
    },
  };
}

/** The sides of the units of a product of rows×inner by inner×cols sized to about `targetFlops` (2·m·n·k) each. */
export function tileSides(rows: number, cols: number, inner: number, targetFlops: number): { m: number; n: number } {
  const n = Math.min(cols, MAX_UNIT_MATRIX_DIM, Math.max(1, Math.floor(MAX_DATASET_BYTES / (4 * inner))));
  const m = Math.max(1, Math.min(rows, MAX_UNIT_MATRIX_DIM, Math.round(targetFlops / (2 * n * inner))));
  return { m, n };
}
