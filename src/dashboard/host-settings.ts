import { LitElement, css, html } from 'lit';
import { fieldStyles, panelStyles } from './dashboard-styles';
import type { HostSettings } from './settings';

/** Fired with new settings; the dashboard reopens itself with them (a host id is its database). */
export const SETTINGS_CHANGE = 'tg-settings-change';

/**
 * <tg-host-settings>: the signaling server and host id of the host this tab runs, its status,
 * and the link volunteers open to join it.
 */
export class HostSettingsForm extends LitElement {
  static override properties = {
    settings: { attribute: false },
    status: { type: String },
    volunteerLink: { type: String, attribute: false },
  };

  declare settings: HostSettings;
  declare status: string;
  declare volunteerLink: string;

  constructor() {
    super();
    this.settings = { signalUrl: '', hostId: '' };
    this.status = '';
    this.volunteerLink = '';
  }

  private apply(e: Event): void {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
    const next: HostSettings = { signalUrl: value('signal'), hostId: value('host') };
    if (!next.signalUrl || !next.hostId) return;
    this.dispatchEvent(new CustomEvent(SETTINGS_CHANGE, { detail: next, bubbles: true, composed: true }));
  }

  override render() {
    return html`
      <section aria-labelledby="host-title">
        <h2 id="host-title">Job host in this tab</h2>
        <p role="status" data-field="host-status">${this.status}</p>
        ${this.volunteerLink ? html`<p>Volunteers join at <a href=${this.volunteerLink} data-field="volunteer-link">${this.volunteerLink}</a></p>` : null}
        <details>
          <summary>Settings</summary>
          <form @submit=${this.apply}>
            <label for="s-signal">Signaling server URL</label>
            <input id="s-signal" name="signal" .value=${this.settings.signalUrl} required />
            <label for="s-host">Host id (volunteers dial it; each id keeps its own state in this browser)</label>
            <input id="s-host" name="host" .value=${this.settings.hostId} required />
            <button type="submit">Restart the host with these settings</button>
          </form>
        </details>
        <p class="help">
          The host keeps its jobs, results and key in this browser (IndexedDB): keep the tab open while the job runs; reopening it resumes where it stopped.
        </p>
      </section>
    `;
  }

  static override styles = [
    panelStyles,
    fieldStyles,
    css`
      label {
        display: block;
        font-weight: 600;
        font-size: 0.92rem;
        margin-top: 0.4rem;
      }
      input {
        max-width: 30rem;
        margin-bottom: 0.4rem;
      }
      summary {
        cursor: pointer;
      }
      a {
        word-break: break-all;
      }
    `,
  ];
}

if (!customElements.get('tg-host-settings')) customElements.define('tg-host-settings', HostSettingsForm);

declare global {
  interface HTMLElementTagNameMap {
    'tg-host-settings': HostSettingsForm;
  }
}
