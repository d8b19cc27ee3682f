import { concat } from '../bytes';
import { ErrorCode, TabgridError } from '../errors';
import type { DatasetSlice } from '../data/dataset';
import type { Progress } from './engine';

/** Where a unit run starts and how it reports checkpoints (see ComputeEngine.runUnit). */
export interface ResumeOptions {
  /** Progress already done (a checkpoint's counter): the run computes only what follows. */
  readonly from?: number;
  /**
   * Called after each finished segment except the last, with the progress reached and the
   * output bytes that segment added. Without it the unit runs as one segment.
   */
  readonly onCheckpoint?: (done: number, append: Uint8Array) => void;
  /** Aimed-for compute time between checkpoints (default 3 s). */
  readonly checkpointMs?: number;
  /**
   * The verified bytes of the dataset slices the unit reads (data/dataset.ts), which its
   * volunteer fetched and checked against their roots: held on the worker's shelf while the
   * unit runs, where the kernel's inputs read them. A dataset unit without them fails.
   */
  readonly inputs?: readonly UnitInput[];
}

/** One dataset slice of a unit and its verified bytes. */
export interface UnitInput {
  readonly slice: DatasetSlice;
  readonly data: Uint8Array;
}

export const DEFAULT_CHECKPOINT_MS = 3000;

/** Computes items [start, end) of a unit and returns the output bytes they add. */
export type Segment = (start: number, end: number, onProgress: Progress | undefined) => Promise<Uint8Array>;

/**
 * Runs items [from, total) in segments sized to take about `checkpointMs` each: the first is
 * a sixteenth of the unit, and each next one is scaled by how long the last took (at most 4×
 * up or down, and never below a 64th of the unit), so a checkpoint comes every few seconds of
 * compute whatever the device's speed, and never per dispatch. Returns the bytes of [from, total).
 */
export async function runSegments(
  total: number,
  options: ResumeOptions & { onProgress?: Progress },
  segment: Segment,
  now = () => performance.now(),
): Promise<Uint8Array> {
  const from = options.from ?? 0;
  if (!Number.isInteger(from) || from < 0 || from > total) throw new TabgridError(ErrorCode.BadInput, `resume point ${from} is outside 0..${total}`);
  const onProgress = options.onProgress;
  if (!options.onCheckpoint) {
    if (from === total) return new Uint8Array(0);
    return segment(from, total, onProgress && ((done) => onProgress(from + done, total)));
  }
  const target = options.checkpointMs ?? DEFAULT_CHECKPOINT_MS;
  const parts: Uint8Array[] = [];
  let size = Math.max(1, Math.ceil(total / 16));
  // At most 64 checkpoints a unit, however fast they are asked for.
  const floor = Math.max(1, Math.ceil(total / 64));
  for (let at = from; at < total;) {
    const end = Math.min(total, at + size);
    const start = now();
    const base = at;
    const bytes = await segment(at, end, onProgress && ((done) => onProgress(base + done, total)));
    const ms = Math.max(1, now() - start);
    parts.push(bytes);
    at = end;
    if (at < total) options.onCheckpoint(at, bytes);
    size = Math.max(floor, Math.round(size * Math.min(4, Math.max(0.25, target / ms))));
  }
  return concat(parts);
}
