/**
 * How fast this page earns: units accepted per minute and points per day, over a sliding window
 * of samples (one a second from the widget's sampler; bounded to `windowMs`). Nothing is claimed
 * before the window holds `minMs` of samples and one accepted unit.
 */
export class Pace {
  private readonly samples: { at: number; units: number; credit: number }[] = [];

  constructor(
    readonly windowMs = 10 * 60_000,
    readonly minMs = 20_000,
  ) {}

  record(atMs: number, units: number, credit: number): void {
    const last = this.samples[this.samples.length - 1];
    // Counters that went back (a new session after a reload) start the window again.
    if (last && (units < last.units || credit < last.credit || atMs < last.at)) this.samples.length = 0;
    this.samples.push({ at: atMs, units, credit });
    while (this.samples.length > 2 && atMs - this.samples[1]!.at >= this.windowMs) this.samples.shift();
  }

  private span(): { ms: number; units: number; credit: number } | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < this.minMs || last.units === first.units) return undefined;
    return { ms: last.at - first.at, units: last.units - first.units, credit: last.credit - first.credit };
  }

  get unitsPerMinute(): number | undefined {
    const s = this.span();
    return s && (s.units * 60_000) / s.ms;
  }

  get pointsPerDay(): number | undefined {
    const s = this.span();
    return s && (s.credit * 86_400_000) / s.ms;
  }
}
