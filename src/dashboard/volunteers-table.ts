import { LitElement, html } from 'lit';
import { panelStyles, tableStyles } from './dashboard-styles';
import { shortId } from './unit-cells';
import { TrustShown, type TrustSummary, type VolunteerRow } from './volunteer-rows';

/**
 * <tg-volunteers-table>: every volunteer of the selected job: short id (full id in the title),
 * trust in the job, units accepted, credit, rejections and leases held.
 */
export class VolunteersTable extends LitElement {
  static override properties = {
    rows: { attribute: false },
  };

  declare rows: readonly VolunteerRow[];

  constructor() {
    super();
    this.rows = [];
  }

  override render() {
    return html`
      <section aria-labelledby="vol-title">
        <h2 id="vol-title">Volunteers</h2>
        ${
          this.rows.length === 0
            ? html`<p class="muted" data-field="no-volunteers">No volunteer has connected yet. Share the volunteer link above.</p>`
            : html`<table>
                <caption class="visually-hidden">
                  Volunteers, most credit first
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Volunteer</th>
                    <th scope="col">Trust</th>
                    <th scope="col" class="num">Accepted</th>
                    <th scope="col" class="num">Credit</th>
                    <th scope="col" class="num">Rejected</th>
                    <th scope="col" class="num">Holding</th>
                  </tr>
                </thead>
                <tbody>
                  ${this.rows.map(
                    (r) =>
                      html`<tr data-volunteer=${r.id}>
                        <th scope="row"><code title=${r.id}>${shortId(r.id)}</code></th>
                        <td>${describeTrust(r.trust)}</td>
                        <td class="num">${r.accepted}</td>
                        <td class="num">${r.credit.toLocaleString('en')}</td>
                        <td class="num">${r.rejected}</td>
                        <td class="num">${r.holding}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
      </section>
    `;
  }

  static override styles = [panelStyles, tableStyles];
}

/** "trusted (streak 14, checked 59%)", "banned", "always checked (no trust policy)". */
export function describeTrust(t: TrustSummary): string {
  if (t.level === TrustShown.AlwaysChecked) return 'every result checked (no trust policy)';
  if (t.banned) return 'banned from this job';
  return `${t.level} (streak ${t.streak}, next result checked with p = ${Math.round(t.checkRate * 100)}%)`;
}

if (!customElements.get('tg-volunteers-table')) customElements.define('tg-volunteers-table', VolunteersTable);

declare global {
  interface HTMLElementTagNameMap {
    'tg-volunteers-table': VolunteersTable;
  }
}
