import { ErrorCode, TabgridError } from '../errors';

/**
 * Sizes GPU dispatches by time: each should take about `targetMs`, well under the watchdogs
 * that reset a GPU busy for seconds, and short enough that pause and throttle act quickly. It
 * learns the device's rate from each finished dispatch and scales the next one to fit.
 */
export interface PacerOptions {
  /** Aim for dispatches of about this long (ms). */
  readonly targetMs?: number;
  /** Items in the first dispatch, before anything is measured. */
  readonly initial: number;
  /** Never fewer / more items per dispatch than this. */
  readonly min?: number;
  readonly max: number;
}

export class DispatchPacer {
  readonly targetMs: number;
  private readonly min: number;
  private readonly max: number;
  private size: number;
  /** Smoothed items per millisecond; undefined until the first measurement. */
  private rate?: number;

  constructor(options: PacerOptions) {
    this.targetMs = options.targetMs ?? 25;
    this.min = Math.max(1, options.min ?? 1);
    this.max = Math.max(this.min, options.max);
    this.size = this.clamp(options.initial);
  }

  /** How many items the next dispatch should take, of `remaining`. */
  next(remaining: number): number {
    return Math.max(1, Math.min(remaining, this.size));
  }

  /** Records that `items` took `ms`; adjusts the next size toward the target. */
  record(items: number, ms: number): void {
    if (items <= 0) return;
    const rate = items / Math.max(ms, 0.05);
    // Smooth, but let a much slower dispatch pull the rate down at once (watchdog safety).
    this.rate = this.rate === undefined || rate < this.rate / 2 ? rate : 0.7 * this.rate + 0.3 * rate;
    // Grow at most 4x per step: one fast measurement should not jump straight to a huge dispatch.
    this.size = this.clamp(Math.min(this.size * 4, this.rate * this.targetMs));
  }

  private clamp(n: number): number {
    return Math.max(this.min, Math.min(this.max, Math.floor(n)));
  }
}

/** Workgroups one dimension of a dispatch may have (WebGPU's default limit). */
export const MAX_WORKGROUPS = 65535;

/**
 * The most items a 1-D kernel of `workgroupSize` can take per dispatch: `requested` if given
 * (checked), else everything one dispatch can hold.
 */
export function maxItemsPerDispatch(name: string, requested: number | undefined, workgroupSize: number): number {
  const max = requested ?? MAX_WORKGROUPS * workgroupSize;
  if (!Number.isInteger(max) || max < 1 || Math.ceil(max / workgroupSize) > MAX_WORKGROUPS) {
    throw new TabgridError(ErrorCode.BadInput, `${name} ${max} needs 1..${MAX_WORKGROUPS} workgroups of ${workgroupSize}`);
  }
  return max;
}
