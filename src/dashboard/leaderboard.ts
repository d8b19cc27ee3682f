import { LitElement, css, html, nothing } from 'lit';
import type { TeamStanding, VolunteerStanding } from '../host/standings';
import { panelStyles, tableStyles } from './dashboard-styles';
import { shortId } from './unit-cells';

/** The host's standings, as the leaderboard shows them. */
export interface Leaderboard {
  readonly volunteers: readonly VolunteerStanding[];
  readonly teams: readonly TeamStanding[];
}

/** Rows shown per table: the leaders (a snapshot lists at most MAX_OBSERVED_ITEMS donors anyway). */
export const LEADERBOARD_ROWS = 50;

/** "3 min ago", "2 h ago", "5 d ago": when a donor last had a result accepted or set its profile. */
export function ago(at: number | undefined, now: number): string {
  if (at === undefined) return '—';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

const number = (n: number) => Math.round(n).toLocaleString('en');

/**
 * <tg-leaderboard>: donors and teams, most credit first: rank, name (beside the key's short id:
 * names are not unique and not checked), credit, accepted units, recent average credit (credit
 * per day, decaying with a one-week half-life, as BOINC computes it) and when last seen. Names
 * are text, never markup (lit escapes them).
 */
export class LeaderboardPanel extends LitElement {
  static override properties = {
    board: { attribute: false },
    now: { type: Number },
  };

  declare board: Leaderboard;
  declare now: number;

  constructor() {
    super();
    this.board = { volunteers: [], teams: [] };
    this.now = 0;
  }

  override render() {
    const { volunteers, teams } = this.board;
    const donors = volunteers.filter((v) => v.credit > 0).slice(0, LEADERBOARD_ROWS);
    const ranked = teams.filter((t) => t.credit > 0).slice(0, LEADERBOARD_ROWS);
    return html`
      <section aria-labelledby="lb-title">
        <h2 id="lb-title">Leaderboard</h2>
        <p class="muted">
          Credit is the work of accepted results (each with a receipt signed by this host's key, which the donor can show). Recent average credit is credit per
          day, halving each week without work (BOINC's).
        </p>
        ${
          donors.length === 0
            ? html`<p class="muted" data-field="no-leaders">No result has been accepted yet.</p>`
            : html`<table data-table="donors">
                <caption>
                  Donors, most credit first
                </caption>
                <thead>
                  <tr>
                    <th scope="col" class="num">Rank</th>
                    <th scope="col">Donor</th>
                    <th scope="col">Team</th>
                    <th scope="col" class="num">Credit</th>
                    <th scope="col" class="num">Units</th>
                    <th scope="col" class="num">Recent credit/day</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  ${donors.map(
                    (v) =>
                      html`<tr data-donor=${v.id}>
                        <td class="num" data-field="rank">${v.rank ?? '—'}</td>
                        <th scope="row"><span data-field="name">${v.name ?? 'anonymous'}</span> <code class="muted" title=${v.id}>${shortId(v.id)}</code></th>
                        <td data-field="team">${v.team ?? nothing}</td>
                        <td class="num" data-field="credit">${number(v.credit)}</td>
                        <td class="num" data-field="units">${v.accepted.toLocaleString('en')}</td>
                        <td class="num" data-field="rac">${number(v.rac)}</td>
                        <td>${ago(v.lastSeen, this.now)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
        ${
          ranked.length === 0
            ? nothing
            : html`<table data-table="teams">
                <caption>
                  Teams, most credit first (credit earned while in the team)
                </caption>
                <thead>
                  <tr>
                    <th scope="col" class="num">Rank</th>
                    <th scope="col">Team</th>
                    <th scope="col" class="num">Members</th>
                    <th scope="col" class="num">Credit</th>
                    <th scope="col" class="num">Units</th>
                    <th scope="col" class="num">Recent credit/day</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  ${ranked.map(
                    (t) =>
                      html`<tr data-team=${t.key}>
                        <td class="num" data-field="rank">${t.rank ?? '—'}</td>
                        <th scope="row" data-field="name">${t.name}</th>
                        <td class="num" data-field="members">${t.members}</td>
                        <td class="num" data-field="credit">${number(t.credit)}</td>
                        <td class="num" data-field="units">${t.accepted.toLocaleString('en')}</td>
                        <td class="num" data-field="rac">${number(t.rac)}</td>
                        <td>${ago(t.lastSeen, this.now)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
      </section>
    `;
  }

  static override styles = [
    panelStyles,
    tableStyles,
    css`
      table {
        margin-top: 0.5rem;
      }
      caption {
        text-align: left;
        font-weight: 600;
      }
      /* Numbers and headings never break; a long name wraps, and a narrow screen scrolls the table. */
      thead th,
      .num {
        white-space: nowrap;
      }
      tbody th,
      [data-field='team'] {
        overflow-wrap: anywhere;
        min-width: 6rem;
      }
    `,
  ];
}

if (!customElements.get('tg-leaderboard')) customElements.define('tg-leaderboard', LeaderboardPanel);

declare global {
  interface HTMLElementTagNameMap {
    'tg-leaderboard': LeaderboardPanel;
  }
}
