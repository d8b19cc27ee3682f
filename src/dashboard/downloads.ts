import { LitElement, css, html } from 'lit';
import type { JobSpec } from '../host/job';
import { panelStyles } from './dashboard-styles';
import { RESULTS_NOTE, resultsFileName, type ResultsFile } from './results-file';

export interface DownloadJob {
  readonly spec: JobSpec;
  readonly accepted: number;
}

/**
 * <tg-downloads>: one button per job that saves its results file (JSON: roots, volunteers,
 * host-signed receipts, proof-of-work solutions, and the host's public key). The file is
 * built on click, not on every refresh.
 */
export class Downloads extends LitElement {
  static override properties = {
    jobs: { attribute: false },
    build: { attribute: false },
  };

  declare jobs: readonly DownloadJob[];
  /** Builds a job's results file (the dashboard binds it to its host). */
  declare build: ((jobId: string) => ResultsFile) | undefined;

  constructor() {
    super();
    this.jobs = [];
    this.build = undefined;
  }

  /** Saves the results of `jobId` as a file; returns its name. */
  download(jobId: string): string {
    if (!this.build) throw new Error('no host to download from yet');
    const name = resultsFileName(jobId);
    const blob = new Blob([JSON.stringify(this.build(jobId), null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.click();
    // The click has started the download by the next task; the URL is no longer needed.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    return name;
  }

  override render() {
    return html`
      <section aria-labelledby="dl-title">
        <h2 id="dl-title">Downloads</h2>
        <p class="help">${RESULTS_NOTE} Each file holds the host's public key, so anyone can check the receipts' signatures.</p>
        ${this.jobs.length === 0 ? html`<p class="muted">No jobs yet.</p>` : null}
        <ul>
          ${this.jobs.map(
            (j) => html`<li>
              <button type="button" ?disabled=${!this.build} @click=${() => this.download(j.spec.id)} data-job=${j.spec.id}>
                Download results of ${j.spec.id} (JSON)
              </button>
              <span class="muted">${j.accepted} of ${j.spec.units} units accepted${j.accepted < j.spec.units ? '; the file holds those so far' : ''}</span>
            </li>`,
          )}
        </ul>
      </section>
    `;
  }

  static override styles = [
    panelStyles,
    css`
      ul {
        list-style: none;
        padding: 0;
        margin: 0;
        display: grid;
        gap: 0.4rem;
      }
    `,
  ];
}

if (!customElements.get('tg-downloads')) customElements.define('tg-downloads', Downloads);

declare global {
  interface HTMLElementTagNameMap {
    'tg-downloads': Downloads;
  }
}
