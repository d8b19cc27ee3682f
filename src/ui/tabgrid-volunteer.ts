import { LitElement, css, html, nothing } from 'lit';
import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../net/signal';
import { VolunteerSession, VolunteerState, type VerdictDetail } from '../volunteer/session';
import { ComputeClient } from '../worker/client';
import type { EngineInfo } from '../worker/engine';
import type { Receipt } from '../protocol';

/**
 * <tabgrid-volunteer host="PEER_ID" signal="ws://…">: a Start/Pause button and live status for a
 * visitor donating GPU time. Nothing runs, and no worker or GPU is touched, before Start.
 * `host` may list several host ids, comma-separated: the page then contributes to each, one
 * session per host sharing one compute worker.
 *
 * Read-only properties: state, unitsDone, credit. Event: tabgrid-unit-accepted (detail:
 * VerdictDetail), once per result the host accepts.
 */
export class TabgridVolunteer extends LitElement {
  static override properties = {
    host: { type: String },
    signal: { type: String },
    tick: { state: true },
  };

  /** The job host's peer id (or several, comma-separated); defaults to the local demo host. */
  declare host: string | null;
  /** The signaling server's URL; defaults to the local one `npm start` runs. */
  declare signal: string | null;
  declare private tick: number;

  private sessions: VolunteerSession[] = [];
  private computer?: ComputeClient;
  private engine?: EngineInfo;

  constructor() {
    super();
    this.host = null;
    this.signal = null;
    this.tick = 0;
  }

  /** running if any host's session runs; else error if any failed; else paused or idle. */
  get state(): VolunteerState {
    const states = this.sessions.map((x) => x.state);
    if (states.length === 0) return VolunteerState.Idle;
    for (const st of [VolunteerState.Running, VolunteerState.Error, VolunteerState.Paused]) if (states.includes(st)) return st;
    return VolunteerState.Idle;
  }

  get unitsDone(): number {
    return this.sum((x) => x.unitsDone);
  }

  get credit(): number {
    return this.sum((x) => x.credit);
  }

  /** True while this volunteer reaches a host through a relay. */
  get relayed(): boolean {
    return this.sessions.some((x) => x.relayed);
  }

  /** Volunteers this one is relaying for. */
  get relayChildren(): number {
    return this.sum((x) => x.relayChildren);
  }

  /** Receipts of the results the hosts accepted from this volunteer (proof of its credit). */
  get receipts(): readonly Receipt[] {
    return this.sessions.flatMap((x) => x.receipts);
  }

  private sum(of: (x: VolunteerSession) => number): number {
    return this.sessions.reduce((n, x) => n + of(x), 0);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const x of this.sessions) x.close();
    this.computer?.terminate();
    this.sessions = [];
    this.computer = undefined;
  }

  private toggle(): void {
    if (this.state === VolunteerState.Running) {
      for (const x of this.sessions) x.pause();
      return;
    }
    for (const x of this.ensureSessions()) x.start();
  }

  private ensureSessions(): VolunteerSession[] {
    if (this.sessions.length > 0) return this.sessions;
    const computer = new ComputeClient();
    this.computer = computer;
    void computer.describe().then((info) => {
      this.engine = info;
      this.tick++;
    });
    const env = import.meta.env as Record<string, string | undefined>;
    const hosts = (this.host ?? env.VITE_TABGRID_HOST ?? DEMO_HOST_ID).split(',').map((h) => h.trim()).filter(Boolean);
    this.sessions = hosts.map((hostId) => {
      const session = new VolunteerSession({
        signalUrl: this.signal ?? env.VITE_TABGRID_SIGNAL ?? DEFAULT_SIGNAL_URL,
        hostId,
        computer,
        // Serving other volunteers when a host is full costs a little bandwidth; opt out with no-relay.
        relay: !this.hasAttribute('no-relay'),
      });
      session.addEventListener('change', () => this.tick++);
      session.addEventListener('verdict', (e) => {
        const detail = (e as CustomEvent<VerdictDetail>).detail;
        if (detail.counted) this.dispatchEvent(new CustomEvent('tabgrid-unit-accepted', { detail: { ...detail, hostId }, bubbles: true, composed: true }));
      });
      return session;
    });
    return this.sessions;
  }

  override render() {
    const running = this.state === VolunteerState.Running;
    const progress = this.sessions.find((x) => x.state === VolunteerState.Running && x.progress)?.progress;
    const rejected = this.sum((x) => x.unitsRejected);
    const many = this.sessions.length > 1;
    const status = this.sessions.length === 0 ? 'Press Start to contribute.' : this.sessions.map((x) => (many ? `${x.options.hostId}: ${x.status}` : x.status)).join(' · ');
    return html`
      <div class="card" part="card">
        <p class="what">
          Donate idle GPU time to a research job. It runs only while you allow it, and you can pause
          with one click.
        </p>
        <button part="button" @click=${this.toggle} aria-pressed=${running ? 'true' : 'false'}>
          ${running ? 'Pause' : 'Start'}
        </button>
        <dl part="status">
          <dt>State</dt>
          <dd data-field="state">${this.state}</dd>
          <dt>Adapter</dt>
          <dd data-field="adapter">${this.describeEngine()}</dd>
          <dt>Units done</dt>
          <dd data-field="units">${this.unitsDone}</dd>
          <dt>Credit</dt>
          <dd data-field="credit">${this.credit}</dd>
          ${rejected > 0 ? html`<dt>Rejected</dt><dd data-field="rejected">${rejected}</dd>` : nothing}
          ${this.relayChildren > 0 ? html`<dt>Relaying for</dt><dd data-field="relaying">${this.relayChildren} volunteer(s)</dd>` : nothing}
        </dl>
        ${progress && running
          ? html`<progress part="progress" max=${progress.total} value=${progress.done} aria-label="Progress of ${progress.unitId}"></progress>`
          : nothing}
        <p class="status" role="status" aria-live="polite" data-field="status">${status}</p>
      </div>
    `;
  }

  private describeEngine(): string {
    const e = this.engine;
    if (!e) return this.sessions.length > 0 ? 'detecting…' : 'not started';
    if (e.backend === 'cpu') return `CPU (no usable GPU: ${e.reason ?? 'unknown'})`;
    const a = e.adapter!;
    const name = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ');
    return `WebGPU: ${name || 'unknown adapter'}${a.isFallbackAdapter ? ' (software fallback)' : ''}`;
  }

  static override styles = css`
    :host {
      display: block;
      font: 15px/1.4 system-ui, sans-serif;
      color: var(--tabgrid-fg, #1b1b1f);
    }
    .card {
      border: 1px solid var(--tabgrid-border, #c9c9d1);
      border-radius: 8px;
      padding: 1rem 1.25rem;
      background: var(--tabgrid-bg, #fff);
      max-width: 32rem;
    }
    button {
      font: inherit;
      font-weight: 600;
      padding: 0.4rem 1.4rem;
      border-radius: 6px;
      border: none;
      color: #fff;
      background: var(--tabgrid-accent, #1d4ed8);
      cursor: pointer;
    }
    button:focus-visible {
      outline: 3px solid var(--tabgrid-focus, #f59e0b);
      outline-offset: 2px;
    }
    dl {
      display: grid;
      grid-template-columns: max-content 1fr;
      gap: 0.2rem 1rem;
    }
    dt {
      color: var(--tabgrid-muted, #4b4b57);
    }
    dd {
      margin: 0;
      font-variant-numeric: tabular-nums;
    }
    progress {
      width: 100%;
    }
  `;
}

if (!customElements.get('tabgrid-volunteer')) customElements.define('tabgrid-volunteer', TabgridVolunteer);

declare global {
  interface HTMLElementTagNameMap {
    'tabgrid-volunteer': TabgridVolunteer;
  }
}
