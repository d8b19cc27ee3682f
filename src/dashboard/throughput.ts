/**
 * Accepted units per interval, for the throughput chart. The interval grows with the job's age
 * so that a long job still fits in a fixed number of bars; the series ends at `now`.
 */

/** Candidate bar widths, ms: the smallest that fits the span in `maxBars` bars is used. */
export const BAR_WIDTHS_MS = [1_000, 5_000, 15_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000] as const;

export interface ThroughputSeries {
  /** Width of one bar, ms. */
  readonly barMs: number;
  /** Epoch ms at which the first bar starts. */
  readonly start: number;
  /** Accepted units in each bar, oldest first. */
  readonly counts: readonly number[];
  /** Largest bar (0 for none). */
  readonly peak: number;
  readonly total: number;
}

/**
 * `acceptedAt`: the acceptance times (null for units not accepted, ignored). The series covers
 * from the first acceptance (at least `minBars` bars back) to `now`.
 */
export function throughputSeries(acceptedAt: readonly (number | null)[], now: number, maxBars = 60, minBars = 12): ThroughputSeries {
  let first = now;
  const times: number[] = [];
  for (const t of acceptedAt) {
    if (t === null || t > now) continue;
    times.push(t);
    if (t < first) first = t;
  }
  const span = now - first;
  const barMs = BAR_WIDTHS_MS.find((w) => span < w * maxBars) ?? BAR_WIDTHS_MS[BAR_WIDTHS_MS.length - 1];
  // Bars aligned to multiples of their width, so they do not shift as time passes.
  const end = Math.floor(now / barMs) * barMs + barMs;
  const bars = Math.min(maxBars, Math.max(minBars, Math.ceil((end - Math.floor(first / barMs) * barMs) / barMs)));
  const start = end - bars * barMs;
  const counts = new Array<number>(bars).fill(0);
  for (const t of times) {
    const i = Math.floor((t - start) / barMs);
    if (i >= 0 && i < bars) counts[i]!++;
  }
  return { barMs, start, counts, peak: Math.max(0, ...counts), total: times.length };
}

/** "5 s", "15 min", "3 min 55 s", "1 h 20 min": a span for labels, in whole units (never "3.9166666666666665 min"). */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  const min = Math.round(s / 60);
  return min % 60 === 0 ? `${min / 60} h` : `${Math.floor(min / 60)} h ${min % 60} min`;
}
