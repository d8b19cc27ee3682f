import { LitElement, css, html, svg, type PropertyValues } from 'lit';
import { panelStyles } from './dashboard-styles';
import { formatDuration, throughputSeries, type ThroughputSeries } from './throughput';

const WIDTH = 480;
const HEIGHT = 96;

/**
 * <tg-throughput-chart>: accepted units per interval as an inline SVG bar chart. The chart is
 * an image with a text description (role="img", aria-label), since its bars carry no
 * information the description does not.
 */
export class ThroughputChart extends LitElement {
  static override properties = {
    acceptedAt: { attribute: false },
    now: { type: Number },
    subject: { type: String },
  };

  /** Acceptance times of the job's units (null for units not accepted yet). */
  declare acceptedAt: readonly (number | null)[];
  declare now: number;
  /** What the units counted are of ("all 3 jobs", "job sha-small"): in the heading and the description. */
  declare subject: string;
  private series: ThroughputSeries = throughputSeries([], 0);

  constructor() {
    super();
    this.acceptedAt = [];
    this.now = 0;
    this.subject = '';
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('acceptedAt') || changed.has('now')) this.series = throughputSeries(this.acceptedAt, this.now);
  }

  /** The chart in words: what a screen reader hears and the caption shows. */
  get description(): string {
    const { barMs, counts, peak, total } = this.series;
    const per = formatDuration(barMs);
    const of = this.subject ? ` (${this.subject})` : '';
    if (total === 0) return `No units accepted yet${of} (bars of ${per}).`;
    return `Accepted units${of} per ${per} over the last ${formatDuration(barMs * counts.length)}: ${total} in all, peak ${peak}, latest ${counts[counts.length - 1]}.`;
  }

  override render() {
    const { counts, peak } = this.series;
    const bar = WIDTH / Math.max(1, counts.length);
    const scale = peak === 0 ? 0 : (HEIGHT - 14) / peak;
    const description = this.description;
    return html`
      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Throughput${this.subject ? `: ${this.subject}` : ''}</h2>
        <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label=${description}>
          <title>${description}</title>
          <line x1="0" y1=${HEIGHT - 0.5} x2=${WIDTH} y2=${HEIGHT - 0.5} class="axis"></line>
          ${counts.map((n, i) =>
            n === 0 ? null : svg`<rect class="bar" x=${i * bar + 1} y=${HEIGHT - 1 - n * scale} width=${Math.max(1, bar - 2)} height=${n * scale}></rect>`,
          )}
          ${peak > 0 ? svg`<text x="4" y="11" class="label">${peak}</text>` : null}
        </svg>
        <p class="muted" data-field="throughput">${description}</p>
      </section>
    `;
  }

  static override styles = [
    panelStyles,
    css`
      svg {
        width: 100%;
        height: auto;
        max-height: 8rem;
        display: block;
      }
      .bar {
        fill: var(--tabgrid-accepted, #15803d);
      }
      .axis {
        stroke: var(--tabgrid-muted, #4b4b57);
      }
      .label {
        font-size: 11px;
        fill: var(--tabgrid-muted, #4b4b57);
      }
    `,
  ];
}

if (!customElements.get('tg-throughput-chart')) customElements.define('tg-throughput-chart', ThroughputChart);

declare global {
  interface HTMLElementTagNameMap {
    'tg-throughput-chart': ThroughputChart;
  }
}
