import { LitElement, html, nothing } from 'lit';
import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../net/signal';
import { createKeyPair, identityFromKeyPair, loadOrCreateIdentity, type Identity } from '../proof/identity';
import { acquireLeadership, type Leadership } from '../volunteer/leader';
import { VolunteerSession, VolunteerState, type VerdictDetail } from '../volunteer/session';
import { openVolunteerStore } from '../volunteer/store/idb-volunteer-store';
import { Persistence, requestPersistence } from '../volunteer/store/persistence';
import type { VolunteerStore } from '../volunteer/store/volunteer-store';
import { ComputeClient } from '../worker/client';
import type { EngineInfo } from '../worker/engine';
import type { Receipt } from '../protocol';
import { volunteerStyles } from './volunteer-styles';

/** The element's states: a session's, or waiting while another tab of this site contributes. */
export const WidgetState = { ...VolunteerState, Waiting: 'waiting' } as const;
export type WidgetState = (typeof WidgetState)[keyof typeof WidgetState];

/** One tab per origin computes (see volunteer/leader.ts): they share one store and one id. */
const LEADER_LOCK = 'tabgrid-volunteer';

/**
 * <tabgrid-volunteer host="PEER_ID" signal="ws://…">: a Start/Pause button and live status for a
 * visitor donating GPU time. Nothing runs, and no worker or GPU is touched, before Start.
 * `host` may list several host ids, comma-separated: the page then contributes to each, one
 * session per host sharing one compute worker.
 *
 * Work survives reloads: held units, checkpoints, the outbox and receipts live in IndexedDB,
 * and only one tab of a site computes at a time (the others wait, and say so).
 *
 * Read-only properties: state, unitsDone, credit, resumed, computed, storage. Event:
 * tabgrid-unit-accepted (detail: VerdictDetail), once per result the host accepts.
 */
export class TabgridVolunteer extends LitElement {
  static override properties = {
    host: { type: String },
    signal: { type: String },
    checkpointMs: { type: Number, attribute: 'checkpoint-ms' },
    tick: { state: true },
  };

  /** The job host's peer id (or several, comma-separated); defaults to the local demo host. */
  declare host: string | null;
  /** The signaling server's URL; defaults to the local one `npm start` runs. */
  declare signal: string | null;
  /** Aimed-for compute time between checkpoints, ms (default 3000). */
  declare checkpointMs: number | null;
  declare private tick: number;

  private sessions: VolunteerSession[] = [];
  private computer?: ComputeClient;
  private engine?: EngineInfo;
  private leadership?: Leadership;
  /** Set from Start until the lock is held and the sessions run. */
  private starting?: AbortController;
  private waitingForTab = false;
  private store?: VolunteerStore;
  private storageNote?: string;
  /** One key for every host this page serves, kept in the store when there is one. */
  private identity?: Identity;
  private persistence?: Persistence;

  constructor() {
    super();
    this.host = null;
    this.signal = null;
    this.checkpointMs = null;
    this.tick = 0;
  }

  /** waiting for another tab; else running if any host's session runs; else error if any failed; else paused or idle. */
  get state(): WidgetState {
    if (this.waitingForTab) return WidgetState.Waiting;
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

  /** True when a unit resumed from a checkpoint after a reload or pause. */
  get resumed(): boolean {
    return this.sessions.some((x) => x.resumed !== undefined);
  }

  /** Leaves (or nonces) computed by this page: a resumed unit counts only what was left. */
  get computed(): number {
    return this.sum((x) => x.computed);
  }

  /** Finished results waiting for their verdict (the outbox). */
  get outbox(): number {
    return this.sum((x) => x.awaitingVerdict);
  }

  /** Checkpoints written to IndexedDB by this page. */
  get checkpoints(): number {
    return this.sum((x) => x.journal.checkpoints);
  }

  /** How work is kept: persisted, best-effort, unavailable, or failing (a storage error code). */
  get storage(): string {
    const problem = this.sessions.find((x) => x.journal.problem)?.journal.problem;
    if (problem) return problem.code;
    if (this.storageNote) return Persistence.Unavailable;
    return this.persistence ?? 'not started';
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
    this.starting?.abort();
    for (const x of this.sessions) x.close();
    this.computer?.terminate();
    this.leadership?.release();
    this.store?.close();
    this.sessions = [];
    this.computer = undefined;
    this.leadership = this.store = undefined;
  }

  private toggle(): void {
    if (this.state === WidgetState.Running || this.starting) {
      this.starting?.abort();
      this.starting = undefined;
      this.waitingForTab = false;
      for (const x of this.sessions) x.pause();
      // Paused: another tab of this site may take over.
      this.leadership?.release();
      this.leadership = undefined;
      this.tick++;
      return;
    }
    void this.begin();
  }

  /** Waits to lead (another tab may be contributing), opens storage once, then starts. */
  private async begin(): Promise<void> {
    const starting = new AbortController();
    this.starting = starting;
    this.tick++;
    try {
      this.leadership = await acquireLeadership(LEADER_LOCK, {
        signal: starting.signal,
        onWaiting: () => {
          this.waitingForTab = true;
          this.tick++;
        },
      });
    } catch {
      return; // paused while waiting
    }
    this.waitingForTab = false;
    if (this.sessions.length === 0) await this.openStorage();
    if (starting.signal.aborted) return;
    this.starting = undefined;
    for (const x of this.ensureSessions()) x.start();
    this.tick++;
  }

  /** A failed open leaves the volunteer computing without resume, and saying so. */
  private async openStorage(): Promise<void> {
    try {
      this.store = await openVolunteerStore();
      this.persistence = await requestPersistence();
      this.identity = await loadOrCreateIdentity(this.store);
    } catch (err) {
      this.storageNote = `storage unavailable (${(err as Error).message}): computing without resume`;
    }
    this.identity ??= await identityFromKeyPair(await createKeyPair());
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
        store: this.store,
        identity: this.identity,
        ...(this.checkpointMs ? { checkpointMs: this.checkpointMs } : {}),
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
    const running = this.state === WidgetState.Running || this.starting !== undefined;
    const progress = this.sessions.find((x) => x.state === VolunteerState.Running && x.progress)?.progress;
    const rejected = this.sum((x) => x.unitsRejected);
    const many = this.sessions.length > 1;
    const status = this.waitingForTab
      ? 'Another tab of this site is contributing; this one takes over when it closes or pauses.'
      : this.sessions.length === 0
        ? 'Press Start to contribute.'
        : this.sessions.map((x) => (many ? `${x.options.hostId}: ${x.status}` : x.status)).join(' · ');
    const resumed = this.sessions.find((x) => x.resumed)?.resumed;
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
          <dt>Saved work</dt>
          <dd data-field="storage">${this.describeStorage()}</dd>
          ${resumed ? html`<dt>Resumed</dt><dd data-field="resumed">${resumed.unitId} from its checkpoint (${resumed.from} of ${resumed.total})</dd>` : nothing}
          ${this.relayChildren > 0 ? html`<dt>Relaying for</dt><dd data-field="relaying">${this.relayChildren} volunteer(s)</dd>` : nothing}
        </dl>
        ${progress && running
          ? html`<progress part="progress" max=${progress.total} value=${progress.done} aria-label="Progress of ${progress.unitId}"></progress>`
          : nothing}
        <p class="status" role="status" aria-live="polite" data-field="status">${status}</p>
      </div>
    `;
  }

  private describeStorage(): string {
    const problem = this.sessions.find((x) => x.journal.problem)?.journal.problem;
    if (problem) return problem.code === 'storage-full' ? 'storage is full: computing goes on, without checkpoints' : `storage failed (${problem.message}): computing goes on without resume`;
    if (this.storageNote) return this.storageNote;
    if (this.persistence === Persistence.Persisted) return 'kept in this browser (persistent)';
    if (this.persistence) return 'kept in this browser (may be evicted when the disk is full)';
    return 'not started';
  }

  private describeEngine(): string {
    const e = this.engine;
    if (!e) return this.sessions.length > 0 ? 'detecting…' : 'not started';
    if (e.backend === 'cpu') return `CPU (no usable GPU: ${e.reason ?? 'unknown'})`;
    const a = e.adapter!;
    const name = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ');
    return `WebGPU: ${name || 'unknown adapter'}${a.isFallbackAdapter ? ' (software fallback)' : ''}`;
  }

  static override styles = volunteerStyles;
}

if (!customElements.get('tabgrid-volunteer')) customElements.define('tabgrid-volunteer', TabgridVolunteer);

declare global {
  interface HTMLElementTagNameMap {
    'tabgrid-volunteer': TabgridVolunteer;
  }
}
