import { svg, type SVGTemplateResult } from 'lit';

/**
 * Throughput over the last minutes: a fixed ring of per-second rates (work items per second),
 * fed with the cumulative count of items computed, and scaled into sparkline points.
 */
export class ThroughputHistory {
  private readonly ring: Float64Array;
  private head = 0;
  private size = 0;
  private last?: { total: number; at: number };

  constructor(readonly capacity = 180) {
    this.ring = new Float64Array(capacity);
  }

  /** Records that `total` items had been computed by time `atMs`; adds the rate since the last call. */
  record(total: number, atMs: number): void {
    const prev = this.last;
    this.last = { total, at: atMs };
    if (!prev || atMs <= prev.at) return;
    // A counter that went back (a new session) counts from zero, not as a negative rate.
    const items = total >= prev.total ? total - prev.total : total;
    this.push((items * 1000) / (atMs - prev.at));
  }

  push(rate: number): void {
    this.ring[(this.head + this.size) % this.capacity] = rate;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
  }

  /** Oldest first. */
  values(): number[] {
    return Array.from({ length: this.size }, (_, i) => this.ring[(this.head + i) % this.capacity]!);
  }

  get latest(): number | undefined {
    return this.size === 0 ? undefined : this.ring[(this.head + this.size - 1) % this.capacity];
  }

  get peak(): number {
    return this.values().reduce((m, v) => Math.max(m, v), 0);
  }
}

/**
 * SVG polyline points for `values` in a width × height box: the newest at the right edge, one
 * step per slot of `capacity`, the peak at the top (a flat zero line when nothing ran).
 */
export function sparklinePoints(values: readonly number[], width: number, height: number, capacity: number): string {
  if (values.length === 0) return '';
  const step = capacity > 1 ? width / (capacity - 1) : 0;
  const top = Math.max(...values, 0);
  const x0 = width - step * (values.length - 1);
  return values
    .map((v, i) => {
      const y = top > 0 ? height - (Math.max(0, v) / top) * height : height;
      return `${round(x0 + i * step)},${round(y)}`;
    })
    .join(' ');
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** "1.2 k/s" style, for the figure next to the sparkline. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k/s`;
  return `${perSecond.toFixed(perSecond < 10 ? 1 : 0)} /s`;
}

const WIDTH = 200;
const HEIGHT = 36;

/**
 * Throughput of the last minutes as an inline SVG line (no library, no canvas), with its
 * latest rate and peak in words for screen readers, since a line carries no text.
 */
export function renderSparkline(history: ThroughputHistory, unit: string): SVGTemplateResult {
  const values = history.values();
  const latest = history.latest ?? 0;
  const label =
    values.length === 0
      ? 'Throughput: no samples yet'
      : `Throughput: now ${formatRate(latest)} ${unit}, peak ${formatRate(history.peak)} over the last ${Math.ceil(values.length / 60)} min`;
  return svg`<svg part="sparkline" class="sparkline" viewBox="0 0 ${WIDTH} ${HEIGHT}" width=${WIDTH} height=${HEIGHT}
      preserveAspectRatio="none" role="img" aria-label=${label}>
    <title>${label}</title>
    <line x1="0" y1=${HEIGHT - 0.5} x2=${WIDTH} y2=${HEIGHT - 0.5} class="baseline"></line>
    <polyline points=${sparklinePoints(values, WIDTH, HEIGHT - 2, history.capacity)} transform="translate(0 1)"></polyline>
  </svg>`;
}
