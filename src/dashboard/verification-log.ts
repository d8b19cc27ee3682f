import { LitElement, css, html } from 'lit';
import type { VerdictEvent } from '../host/host-views';
import { panelStyles } from './dashboard-styles';
import { shortId } from './unit-cells';

/** Entries the log shows; older ones scroll off (the host's store keeps the outcome). */
export const LOG_SHOWN = 50;

/**
 * <tg-verification-log>: the host's last verdicts, newest first, with the reason (verified,
 * accepted on a trusted key's commitment, rejected and why, duplicate, pending a replica).
 * A polite live region, so screen readers hear verdicts as they come.
 */
export class VerificationLog extends LitElement {
  static override properties = {
    entries: { attribute: false },
  };

  /** Verdicts, oldest first (the order they were committed). */
  declare entries: readonly VerdictEvent[];

  constructor() {
    super();
    this.entries = [];
  }

  override render() {
    const shown = this.entries.slice(-LOG_SHOWN).reverse();
    return html`
      <section aria-labelledby="log-title">
        <h2 id="log-title">Verification log</h2>
        <p class="help">Verdicts since this page opened, newest first (the last ${LOG_SHOWN}).</p>
        <ol role="log" aria-live="polite" aria-labelledby="log-title" tabindex="0">
          ${shown.length === 0 ? html`<li class="muted">No results judged yet.</li>` : null}
          ${shown.map(
            (e) =>
              html`<li data-verdict=${e.verdict}>
                <time datetime=${new Date(e.at).toISOString()}>${new Date(e.at).toLocaleTimeString('en-GB')}</time>
                <span class="verdict v-${e.verdict}">${e.verdict}</span>
                <code>${e.unitId}</code> from <code title=${e.volunteer}>${shortId(e.volunteer)}</code>:
                <span class="reason">${e.reason}</span>${e.credit > 0 ? html` <span class="muted">(+${e.credit.toLocaleString('en')} credit)</span>` : null}
              </li>`,
          )}
        </ol>
      </section>
    `;
  }

  static override styles = [
    panelStyles,
    css`
      ol {
        list-style: none;
        padding: 0;
        margin: 0;
        max-height: 16rem;
        overflow-y: auto;
        font-size: 0.9rem;
      }
      li {
        padding: 0.15rem 0;
        border-bottom: 1px solid var(--tabgrid-border, #c9c9d1);
      }
      time {
        color: var(--tabgrid-muted, #4b4b57);
        font-variant-numeric: tabular-nums;
      }
      .verdict {
        font-weight: 600;
        color: var(--tabgrid-muted, #4b4b57);
      }
      .v-accepted {
        color: var(--tabgrid-accepted-text, #166534);
      }
      .v-rejected {
        color: var(--tabgrid-error, #b91c1c);
      }
    `,
  ];
}

if (!customElements.get('tg-verification-log')) customElements.define('tg-verification-log', VerificationLog);

declare global {
  interface HTMLElementTagNameMap {
    'tg-verification-log': VerificationLog;
  }
}
