import { html, nothing, type TemplateResult } from 'lit';
import { KERNELS, kernelName } from '../kernels/units';
import { MIN_THROTTLE, type CourtesySettings } from './choices';
import { UPLOAD_STEP_MBPS } from './upload-choice';
import { formatCount, formatUnitsPerMinute } from './numbers';
import { renderSparkline, type ThroughputHistory } from './sparkline';
import { renderDonor, type DonorActions, type DonorView } from './donor-view';

/** Everything the widget shows, computed by the element from its sessions. */
export interface VolunteerView {
  readonly state: string;
  /** The visitor has said Start (the main button offers Pause). */
  readonly consented: boolean;
  readonly hosts: readonly string[];
  readonly status: string;
  /** Why courtesy holds the work back, in words. */
  readonly hold?: string;
  readonly adapter: string;
  readonly connection: string;
  readonly unit?: { readonly unitId: string; readonly kernel?: string; readonly done: number; readonly total: number };
  readonly unitsDone: number;
  readonly credit: number;
  /** The credit in the work it paid for: "262,144 points = 262,144 SHA-256 blocks". */
  readonly creditText: string;
  /** Units per minute and points per day, once measured. */
  readonly pace?: { readonly unitsPerMinute: number; readonly pointsPerDay: number };
  /** The current rate in the current kernel's items: "12,345 hashes/s". */
  readonly rateText: string;
  /** "about 40 s left" for the current unit, at the current rate. */
  readonly unitLeft?: string;
  readonly rejected: number;
  readonly lastRejection?: string;
  readonly storage: string;
  readonly resumed?: string;
  readonly relaying: number;
  readonly history: ThroughputHistory;
  readonly courtesy: CourtesySettings;
  /** The swarm: the visitor's upload share (MB/s, 0 for none), the most the page offers, and what serving does now, in words. */
  readonly upload: { readonly mbps: number; readonly max: number; readonly serving: string };
  readonly batteryOption: boolean;
  readonly idleSeconds: number;
  readonly receipts: number;
  /** Set when something failed that the visitor can retry. */
  readonly error?: string;
  /** Why the host cannot be reached (kept through the retries, so the alert speaks once). */
  readonly connectProblem?: string;
  /** Set when the proof-of-credit download failed. */
  readonly creditProblem?: string;
  /** The donor panel: name, team, own total and rank. */
  readonly donor: DonorView;
}

export interface VolunteerActions extends DonorActions {
  toggle(): void;
  retry(): void;
  throttle(percent: number): void;
  uploadShare(mbps: number): void;
  onlyWhenIdle(on: boolean): void;
  pauseOnBattery(on: boolean): void;
  downloadCredit(): void;
}

/** The one-sentence answer to "what runs here, and for whom". */
function whatRuns(hosts: readonly string[]) {
  const names = KERNELS.map(kernelName).join(', ');
  return html`<p class="what" part="consent">
    With your consent, this page runs compute work for the job host ${hosts.map((h, i) => html`${i > 0 ? ', ' : ''}<strong class="host">${h}</strong>`)}: only
    the built-in WebGPU kernels (${names}), on your GPU or, without one, your CPU. Nothing runs until you press Start, and Pause always stops it.
  </p>`;
}

function controls(v: VolunteerView, a: VolunteerActions) {
  const c = v.courtesy;
  return html`<fieldset class="controls" part="controls">
    <legend>Courtesy</legend>
    <div class="throttle">
      <label for="throttle">Use at most</label>
      <input
        id="throttle"
        part="throttle"
        type="range"
        min=${MIN_THROTTLE}
        max="100"
        step="10"
        .value=${String(c.throttle)}
        aria-valuetext="${c.throttle} percent of compute time"
        @input=${(e: Event) => a.throttle(Number((e.target as HTMLInputElement).value))}
      />
      <output for="throttle" data-field="throttle">${c.throttle} %</output>
    </div>
    <div class="throttle">
      <label for="upload-share">Share inputs with other volunteers: up to</label>
      <input
        id="upload-share"
        part="upload-share"
        type="range"
        min="0"
        max=${v.upload.max}
        step=${UPLOAD_STEP_MBPS}
        .value=${String(v.upload.mbps)}
        aria-valuetext="${v.upload.mbps === 0 ? 'none: inputs are not shared' : `${v.upload.mbps} megabytes per second`}"
        aria-describedby="upload-note"
        @input=${(e: Event) => a.uploadShare(Number((e.target as HTMLInputElement).value))}
      />
      <output for="upload-share" data-field="upload-share">${v.upload.mbps === 0 ? 'none' : `${v.upload.mbps} MB/s`}</output>
    </div>
    <p class="note" id="upload-note" data-field="upload-note">
      Other volunteers of this host may fetch the input data you hold from you, only while you contribute and never on a connection your browser marks as
      metered or data-saving. ${v.upload.serving}
    </p>
    <label class="check">
      <input type="checkbox" data-control="idle" .checked=${c.onlyWhenIdle} @change=${(e: Event) => a.onlyWhenIdle((e.target as HTMLInputElement).checked)} />
      Only when this tab is hidden or I'm idle (no input for ${v.idleSeconds} s)
    </label>
    ${
      v.batteryOption
        ? html`<label class="check">
            <input
              type="checkbox"
              data-control="battery"
              .checked=${c.pauseOnBattery}
              @change=${(e: Event) => a.pauseOnBattery((e.target as HTMLInputElement).checked)}
            />
            Pause on battery
          </label>`
        : nothing
    }
  </fieldset>`;
}

function unitLine(v: VolunteerView) {
  const u = v.unit;
  if (!u) return nothing;
  const pct = u.total > 0 ? Math.floor((100 * u.done) / u.total) : 0;
  return html`<dt>Current unit</dt>
    <dd data-field="unit">${u.unitId}${u.kernel ? ` (${kernelName(u.kernel) ?? u.kernel})` : ''}: ${pct} %${v.unitLeft ? `, ${v.unitLeft}` : ''}</dd>`;
}

export function renderVolunteer(v: VolunteerView, a: VolunteerActions): TemplateResult {
  return html`
    <section class="card" part="card" aria-label="tabgrid volunteer">
      ${whatRuns(v.hosts)}
      <div class="buttons">
        <button part="button" class="primary" @click=${a.toggle}>${v.consented ? 'Pause' : 'Start'}</button>
        ${v.error || v.connectProblem ? html`<button part="button retry" class="secondary" data-action="retry" @click=${a.retry}>Retry now</button>` : nothing}
        <button part="button download" class="secondary" data-action="download" ?disabled=${v.receipts === 0} @click=${a.downloadCredit}>
          Download proof of credit (${v.receipts} ${v.receipts === 1 ? 'receipt' : 'receipts'})
        </button>
      </div>
      <p class="status" part="status-line" role="status" aria-live="polite" data-field="status">${v.status}</p>
      ${v.error ? html`<p class="error" part="error" data-field="error">${v.error}</p>` : nothing}
      ${v.connectProblem ? html`<p class="error" part="error" role="alert" data-field="connect-problem">${v.connectProblem}</p>` : nothing}
      ${v.creditProblem ? html`<p class="error" part="error" role="alert" data-field="credit-problem">${v.creditProblem}</p>` : nothing} ${controls(v, a)}
      <dl part="status">
        <dt>State</dt>
        <dd data-field="state">${v.state}</dd>
        ${
          v.hold
            ? html`<dt>Waiting</dt>
                <dd data-field="hold">${v.hold}</dd>`
            : nothing
        }
        <dt>Adapter</dt>
        <dd data-field="adapter">${v.adapter}</dd>
        <dt>Connection</dt>
        <dd data-field="connection">${v.connection}</dd>
        ${unitLine(v)}
        <dt>Units done</dt>
        <dd data-field="units">${formatCount(v.unitsDone)}</dd>
        <dt>Credit</dt>
        <dd data-field="credit">${v.creditText}</dd>
        <dt>Pace</dt>
        <dd data-field="pace">
          ${v.pace ? `${formatUnitsPerMinute(v.pace.unitsPerMinute)} · about ${formatCount(v.pace.pointsPerDay)} points per day at this pace` : 'measuring (shown after 20 s of work with a unit accepted)'}
        </dd>
        ${
          v.rejected > 0
            ? html`<dt>Rejected</dt>
                <dd data-field="rejected">${v.rejected}${v.lastRejection ? ` (last: ${v.lastRejection})` : ''}</dd>`
            : nothing
        }
        <dt>Saved work</dt>
        <dd data-field="storage">${v.storage}</dd>
        ${
          v.resumed
            ? html`<dt>Resumed</dt>
                <dd data-field="resumed">${v.resumed}</dd>`
            : nothing
        }
        ${
          v.relaying > 0
            ? html`<dt>Relaying for</dt>
                <dd data-field="relaying">${v.relaying} volunteer(s)</dd>`
            : nothing
        }
        <dt>Throughput</dt>
        <dd class="throughput">${renderSparkline(v.history, 'items')}<span data-field="rate">${v.rateText}</span></dd>
      </dl>
      ${renderDonor(v.donor, a)}
      ${v.unit ? html`<progress part="progress" max=${v.unit.total} .value=${v.unit.done} aria-label="Progress of ${v.unit.unitId}"></progress>` : nothing}
    </section>
  `;
}
