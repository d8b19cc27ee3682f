import { LitElement, css, html, type PropertyValues } from 'lit';
import type { UnitView } from '../host/host-views';
import { panelStyles, stateStyles } from './dashboard-styles';
import { CellState, gridModel, type GridModel } from './unit-cells';

/**
 * <tg-unit-grid>: a job's units as coloured cells (queued, leased, verifying, accepted,
 * recently rejected), with a legend and a one-line text summary. Each cell carries its state
 * in title and aria-label; the model is computed when the inputs change, not on every render.
 */
export class UnitGrid extends LitElement {
  static override properties = {
    jobId: { type: String, attribute: 'job-id' },
    units: { attribute: false },
    rejectedAt: { attribute: false },
    now: { type: Number },
  };

  declare jobId: string;
  declare units: readonly UnitView[];
  /** Unit id → time of its last rejection (from the verification log). */
  declare rejectedAt: ReadonlyMap<string, number>;
  declare now: number;
  private model: GridModel = gridModel([], new Map(), 0);

  constructor() {
    super();
    this.jobId = '';
    this.units = [];
    this.rejectedAt = new Map();
    this.now = 0;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('units') || changed.has('rejectedAt') || changed.has('now')) this.model = gridModel(this.units, this.rejectedAt, this.now);
  }

  override render() {
    const { cells, counts, summary } = this.model;
    return html`
      <section aria-labelledby="grid-title">
        <h2 id="grid-title">Progress${this.jobId ? html` of <code>${this.jobId}</code>` : ''}</h2>
        <p class="summary" data-field="summary">${summary}</p>
        <ul class="legend" aria-label="Legend">
          ${Object.values(CellState).map((s) => html`<li><span class="swatch s-${s}" aria-hidden="true"></span>${s === CellState.Rejected ? 'rejected recently' : s} (${counts[s]})</li>`)}
        </ul>
        <div class="grid" role="list" aria-label="Units of job ${this.jobId}">
          ${cells.map((c) => html`<span role="listitem" class="cell s-${c.state}" data-state=${c.state} title=${c.label} aria-label=${c.label}></span>`)}
        </div>
      </section>
    `;
  }

  static override styles = [
    panelStyles,
    stateStyles,
    css`
      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1rem;
        list-style: none;
        padding: 0;
        margin: 0 0 0.5rem;
        font-size: 0.9rem;
      }
      .swatch {
        display: inline-block;
        width: 0.8rem;
        height: 0.8rem;
        border-radius: 2px;
        margin-right: 0.3rem;
        vertical-align: -0.1rem;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(var(--tabgrid-cell, 14px), 1fr));
        gap: 2px;
      }
      .cell {
        aspect-ratio: 1;
        border-radius: 2px;
      }
      /* Rejected cells also differ by shape, not by colour alone. */
      .cell.s-rejected {
        border-radius: 50%;
      }
    `,
  ];
}

if (!customElements.get('tg-unit-grid')) customElements.define('tg-unit-grid', UnitGrid);

declare global {
  interface HTMLElementTagNameMap {
    'tg-unit-grid': UnitGrid;
  }
}
