import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { panelStyles, tableStyles } from './dashboard-styles';
import { formatEta, formatRate, JobState, type JobRow } from './job-overview';

/** What a researcher may do to a job from the overview. */
export const JobAction = {
  Pause: 'pause',
  Resume: 'resume',
  Cancel: 'cancel',
  Delete: 'delete',
} as const;
export type JobAction = (typeof JobAction)[keyof typeof JobAction];

/** Fired (bubbling, composed) when the researcher asks for an action (a confirmed one, for cancel and delete). */
export const JOB_ACTION = 'tg-job-action';
export type JobActionEvent = CustomEvent<{ readonly jobId: string; readonly action: JobAction }>;

/** Cancel and delete cannot be undone: each asks to be confirmed in its row first. */
const CONFIRMED: ReadonlySet<JobAction> = new Set([JobAction.Cancel, JobAction.Delete]);

/**
 * <tg-jobs-overview>: every job the host serves, one row each: its state, progress, recent
 * rate and time left, and buttons to pause, resume, cancel or delete it (`actions`; a watched
 * host's overview has none). A job that finishes while the page is open is announced in a live
 * region. Cancel and delete ask for confirmation in the row, naming what goes.
 */
export class JobsOverview extends LitElement {
  static override properties = {
    rows: { attribute: false },
    actions: { type: Boolean },
    busy: { type: Boolean },
    error: { type: String },
    confirming: { state: true },
    notice: { state: true },
  };

  declare rows: readonly JobRow[];
  /** Whether the buttons are offered (the host runs in this tab). */
  declare actions: boolean;
  /** An action is under way: the buttons wait for it. */
  declare busy: boolean;
  /** Why the last action failed ('' when it did not). */
  declare error: string;
  declare private confirming: { readonly jobId: string; readonly action: JobAction } | undefined;
  declare private notice: string;
  /** The state each job was last seen in, so a job finishing now is announced once (and one done before the page opened is not). */
  private readonly seen = new Map<string, JobState>();

  constructor() {
    super();
    this.rows = [];
    this.actions = false;
    this.busy = false;
    this.error = '';
    this.confirming = undefined;
    this.notice = '';
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('rows')) return;
    const finished = this.rows.filter((r) => r.state === JobState.Done && this.seen.has(r.id) && this.seen.get(r.id) !== JobState.Done);
    if (finished.length > 0) this.notice = finished.map((r) => `Job ${r.id} is done: all ${r.total.toLocaleString('en')} units accepted.`).join(' ');
    this.seen.clear();
    for (const r of this.rows) this.seen.set(r.id, r.state);
    if (this.confirming && !this.rows.some((r) => r.id === this.confirming!.jobId)) this.confirming = undefined;
  }

  private ask(jobId: string, action: JobAction): void {
    if (CONFIRMED.has(action) && this.confirming?.jobId !== jobId) {
      this.confirming = { jobId, action };
      return;
    }
    this.confirming = undefined;
    this.dispatchEvent(new CustomEvent(JOB_ACTION, { detail: { jobId, action }, bubbles: true, composed: true }));
  }

  private buttons(r: JobRow) {
    const c = this.confirming;
    if (c?.jobId === r.id) {
      const what =
        c.action === JobAction.Delete
          ? `Delete job ${r.id} and its units, kept outputs and datasets no other job reads? This cannot be undone.`
          : `Cancel job ${r.id}? Its ${(r.total - r.accepted).toLocaleString('en')} remaining units will not be computed; this cannot be undone.`;
      return html`<div role="group" aria-label=${`Confirm: ${c.action} ${r.id}`} class="confirm">
        <span>${what}</span>
        <button class="danger" data-action=${`confirm-${c.action}`} ?disabled=${this.busy} @click=${() => this.ask(r.id, c.action)}>
          ${c.action === JobAction.Delete ? 'Delete' : 'Cancel job'}
        </button>
        <button class="quiet" data-action="keep" @click=${() => (this.confirming = undefined)}>Keep it</button>
      </div>`;
    }
    const button = (action: JobAction, label: string, cls = '') =>
      html`<button class=${cls} data-action=${action} aria-label=${`${label} job ${r.id}`} ?disabled=${this.busy} @click=${() => this.ask(r.id, action)}>
        ${label}
      </button>`;
    switch (r.state) {
      case JobState.Running:
        return html`${button(JobAction.Pause, 'Pause', 'quiet')} ${button(JobAction.Cancel, 'Cancel', 'quiet')}`;
      case JobState.Paused:
        return html`${button(JobAction.Resume, 'Resume')} ${button(JobAction.Cancel, 'Cancel', 'quiet')}`;
      case JobState.Cancelled:
      case JobState.Done:
        return button(JobAction.Delete, 'Delete', 'danger');
    }
  }

  override render() {
    return html`
      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title">Jobs</h2>
        <p role="status" aria-live="polite" data-field="job-notice" class="notice">${this.notice}</p>
        ${this.error ? html`<p role="alert" class="error" data-field="job-action-error">${this.error}</p>` : nothing}
        ${
          this.rows.length === 0
            ? html`<p class="muted" data-field="no-jobs">No job yet. Create one with the form.</p>`
            : html`<div class="scroll">
                <table>
                  <caption class="visually-hidden">
                    Every job on this host: state, units accepted, rate and time left
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Job</th>
                      <th scope="col">State</th>
                      <th scope="col">Progress</th>
                      <th scope="col" class="num">Rate</th>
                      <th scope="col">Time left</th>
                      ${this.actions ? html`<th scope="col">Actions</th>` : nothing}
                    </tr>
                  </thead>
                  <tbody>
                    ${this.rows.map(
                      (r) =>
                        html`<tr data-job=${r.id} data-state=${r.state}>
                          <th scope="row">${r.id} <span class="muted">${r.kernel}</span></th>
                          <td data-field="state">
                            ${r.state}${r.inFlight > 0 && r.state !== JobState.Done ? html` <span class="muted">(${r.inFlight} in flight)</span>` : nothing}
                          </td>
                          <td class="progress">
                            <progress max=${r.total} .value=${r.accepted} aria-label=${`${r.id}: ${r.accepted} of ${r.total} units accepted`}></progress>
                            <span data-field="progress">${r.accepted.toLocaleString('en')} / ${r.total.toLocaleString('en')}</span>
                            <span class="muted">(${r.total === 0 ? 0 : Math.floor((r.accepted / r.total) * 100)}%)</span>
                          </td>
                          <td class="num" data-field="rate">${r.state === JobState.Running ? formatRate(r.perMinute) : '—'}</td>
                          <td data-field="eta">${r.state === JobState.Done ? 'done' : formatEta(r.etaMs)}</td>
                          ${this.actions ? html`<td class="actions">${this.buttons(r)}</td>` : nothing}
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }
      </section>
    `;
  }

  protected override updated(changed: PropertyValues): void {
    // Focus follows a confirmation: into it when asked, so a keyboard user answers it next.
    if (changed.has('confirming') && this.confirming) this.renderRoot.querySelector<HTMLButtonElement>('.confirm button')?.focus();
  }

  static override styles = [
    panelStyles,
    tableStyles,
    css`
      .scroll {
        overflow-x: auto;
      }
      th,
      td {
        padding: 0.25rem 0.5rem;
        vertical-align: middle;
      }
      .progress {
        white-space: nowrap;
      }
      progress {
        width: 6rem;
        vertical-align: middle;
      }
      .actions button {
        padding: 0.2rem 0.6rem;
        margin: 0.1rem 0;
      }
      button.quiet {
        background: var(--tabgrid-quiet, #e4e4ea);
        color: var(--tabgrid-fg, #1b1b1f);
      }
      button.danger {
        background: var(--tabgrid-error, #b91c1c);
        color: #fff;
      }
      .confirm {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
      }
      .notice {
        color: var(--tabgrid-accepted, #15803d);
        font-weight: 600;
        margin: 0 0 0.4rem;
      }
    `,
  ];
}

if (!customElements.get('tg-jobs-overview')) customElements.define('tg-jobs-overview', JobsOverview);

declare global {
  interface HTMLElementTagNameMap {
    'tg-jobs-overview': JobsOverview;
  }
  interface HTMLElementEventMap {
    [JOB_ACTION]: JobActionEvent;
  }
}
