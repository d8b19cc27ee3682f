import { LitElement, type PropertyValues } from 'lit';
import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../net/signal';
import type { Backend, Receipt } from '../protocol';
import { forgetRetired } from '../remembered';
import { VolunteerState, type Standing } from '../volunteer/session';
import { parseBackend } from '../worker/backend-choice';
import { parseIceConfig, type IceConfig } from '../protocol/ice';
import type { IcePath } from '../net/ice-route';
import { iceUrlProblem } from '../net/ice-url';
import { Contribution } from './contribution';
import { clampThrottle, Consent, DEFAULT_COURTESY, recallConsent, recallCourtesy, rememberConsent, rememberCourtesy, type CourtesySettings } from './choices';
import { batteryApiAvailable, CourtesyHold, CourtesyWatcher } from './courtesy-watcher';
import { describeConnection, describeEngine, describeHold, describeStatus, describeStorage } from './describe';
import { renderVolunteer, type VolunteerActions } from './volunteer-view';
import { volunteerStyles } from './volunteer-styles';
import { describeCredit, estimateLeft, formatItemsPerSecond } from './numbers';
import type { ThroughputHistory } from './sparkline';
import type { Kernel } from '../kernels/units';
import { describeWidgetState, widgetState, type WidgetState } from './widget-state';
import { clampUploadShare, recallUploadShare, rememberUploadShare } from './upload-choice';
import { DEFAULT_UPLOAD_MBPS, MAX_UPLOAD_MBPS } from '../volunteer/upload-share';
import { connectionSaysSpare } from '../volunteer/metered';
import { formatBytes } from './numbers';

export { WidgetState } from './widget-state';

/**
 * <tabgrid-volunteer host="PEER_ID" signal="ws://…">: a visitor's consent, courtesy controls
 * and live status for donating GPU time. Nothing runs, and no worker or GPU is touched, before
 * Start; the answer is remembered per origin and host (consent.ts), so a returning visitor who
 * pressed Start resumes and one who pressed Pause stays paused. `host` may list several host
 * ids, comma-separated: one session per host, sharing one compute worker (contribution.ts).
 *
 * `backend="webgpu|cpu"` forces where every kernel runs (tests, farms); WebGPU forced where there
 * is none is an error shown, never a quiet CPU run.
 *
 * Properties: state, unitsDone, credit, resumed, computed, outbox, checkpoints, storage,
 * receipts, consentState, throttle (percent). Event: tabgrid-unit-accepted.
 */
export class TabgridVolunteer extends LitElement {
  static override properties = {
    host: { type: String },
    signal: { type: String },
    checkpointMs: { type: Number, attribute: 'checkpoint-ms' },
    throttle: { type: Number },
    idleSeconds: { type: Number, attribute: 'idle-seconds' },
    backend: { type: String },
    uploadMbps: { type: Number, attribute: 'upload-mbps' },
    ice: { type: String },
    iceUrl: { type: String, attribute: 'ice-url' },
    tick: { state: true },
  };

  /** The job host's peer id (or several, comma-separated); defaults to the local demo host. */
  declare host: string | null;
  /** The signaling server's URL; defaults to the local one `npm start` runs. */
  declare signal: string | null;
  /** Aimed-for compute time between checkpoints, ms (default 3000). */
  declare checkpointMs: number | null;
  /** Share of compute time in percent, 10–100 (default 100); a visitor's remembered choice wins. */
  declare throttle: number;
  /** "Idle" means no input for this many seconds (default 60). */
  declare idleSeconds: number;
  /** Run every kernel on `webgpu` or `cpu` instead of choosing (tests, farms); read at Start. Any other value is refused. */
  declare backend: string | null;
  /** The most upload, MB/s, the page offers to share inputs with other volunteers (default 2, at most 10); the visitor may lower it, to 0. */
  declare uploadMbps: number;
  /**
   * STUN/TURN servers as JSON (protocol/ice.ts: `{"iceServers": [...], "iceTransportPolicy": "relay"}`
   * or a bare list), else a child `<script type="application/json" data-tabgrid-ice>`. Short-lived
   * TURN credentials only (a site mints them, and the host hands fresh ones over); a bad value
   * is the error the widget shows instead of starting. Changing it reconnects a failed session now.
   */
  declare ice: string | null;
  /**
   * Where to read the STUN/TURN servers instead: a signaling server's `GET /ice` (`npm run signal
   * -- --turn … --turn-secret …`), which mints TURN credentials for each visitor, so none is
   * written into the page. https:// (http:// on localhost only). Read before connecting.
   */
  declare iceUrl: string | null;
  declare private tick: number;
  /** The visitor's upload share, MB/s (remembered; at most uploadMbps). */
  private uploadShare = DEFAULT_UPLOAD_MBPS;

  private consent: Consent = Consent.Unasked;
  private courtesy: CourtesySettings = DEFAULT_COURTESY;
  private watcher?: CourtesyWatcher;
  /** What happened to the last name or team saved here. */
  private profileNote?: string;
  private work = this.newContribution();

  constructor() {
    super();
    this.host = null;
    this.signal = null;
    this.checkpointMs = null;
    this.throttle = DEFAULT_COURTESY.throttle;
    this.idleSeconds = 60;
    this.backend = null;
    this.uploadMbps = DEFAULT_UPLOAD_MBPS;
    this.ice = null;
    this.iceUrl = null;
    this.tick = 0;
  }

  /** See widgetState: running only while some host's session has work. */
  get state(): WidgetState {
    return widgetState({
      problem: this.forced.problem !== undefined,
      waitingForTab: this.work.waitingForTab,
      resting: this.hold !== undefined && this.work.leading,
      sessions: this.work.sessions,
    });
  }

  get unitsDone(): number {
    return this.work.sum((x) => x.unitsDone);
  }

  get credit(): number {
    return this.work.sum((x) => x.credit);
  }

  /** Credit counted on this page, by the kernel that earned it (credit from before a reload is not attributed). */
  get creditByKernel(): ReadonlyMap<Kernel, number> {
    const by = new Map<Kernel, number>();
    for (const x of this.work.sessions) for (const [k, c] of x.creditByKernel) by.set(k, (by.get(k) ?? 0) + c);
    return by;
  }

  /** True while this volunteer reaches a host through a relay. */
  get relayed(): boolean {
    return this.work.sessions.some((x) => x.relayed);
  }

  /** How each host's connection travels (getStats' selected candidate pair: direct, or through TURN); undefined where not connected or not yet known. */
  get icePaths(): readonly (IcePath | undefined)[] {
    return this.work.sessions.map((x) => x.path);
  }

  /** Volunteers this one is relaying for. */
  get relayChildren(): number {
    return this.work.sum((x) => x.relayChildren);
  }

  /**
   * True while every host link this page has open over PeerJS has its peer on the signaling
   * server (where relay children find it; a page frozen for a minute is dropped and rejoins on
   * thaw); false when one is off it, or none is connected.
   */
  get signaling(): boolean {
    const on = this.work.sessions.map((x) => x.signaling).filter((s) => s !== undefined);
    return on.length > 0 && on.every(Boolean);
  }

  /** True when a unit resumed from a checkpoint after a reload or pause. */
  get resumed(): boolean {
    return this.work.sessions.some((x) => x.resumed !== undefined);
  }
  /** True while this tab computes a unit (farms time compute with it). */
  get computing(): boolean {
    return this.work.sessions.some((x) => x.computing);
  }

  /** Leaves (or nonces) computed by this page: a resumed unit counts only what was left. */
  get computed(): number {
    return this.work.sum((x) => x.computed);
  }

  /** Finished results waiting for their verdict (the outbox). */
  get outbox(): number {
    return this.work.sum((x) => x.awaitingVerdict);
  }

  /** Checkpoints written to IndexedDB by this page. */
  get checkpoints(): number {
    return this.work.sum((x) => x.journal.checkpoints);
  }

  /** How work is kept: persisted, best-effort, unavailable, or failing (a storage error code). */
  get storage(): string {
    const problem = this.work.sessions.find((x) => x.journal.problem)?.journal.problem;
    if (problem) return problem.code;
    if (this.work.storageNote) return 'unavailable';
    return this.work.persistence ?? 'not started';
  }

  /** Input bytes this page fetched from its hosts and from other volunteers (the swarm). */
  get inputBytes(): { host: number; peer: number } {
    return this.work.inputBytes;
  }

  /** Input bytes this page sent to other volunteers; volunteers fetching from it now. */
  get bytesServed(): number {
    return this.work.bytesServed;
  }
  get uploading(): number {
    return this.work.uploading;
  }

  /** The visitor's upload share, MB/s. */
  get uploadShareMbps(): number {
    return this.uploadShare;
  }

  /** Receipts of the results the hosts accepted from this volunteer (proof of its credit). */
  get receipts(): readonly Receipt[] {
    return this.work.receipts;
  }

  /** The visitor's remembered answer: unasked, started or paused. */
  /** This key's totals and rank as the host last told them (first host that did), for pages to show. */
  get standing(): Standing | undefined {
    return this.work.standing;
  }

  get consentState(): Consent {
    return this.consent;
  }

  /** Why courtesy holds the work back now (consent given), if it does. */
  get hold(): CourtesyHold | undefined {
    return this.consent === Consent.Started ? this.watcher?.hold : undefined;
  }

  /** The `backend` and `ice` settings, parsed; a bad value is the error the widget shows instead of starting. */
  private get forced(): { backend?: Backend; ice?: IceConfig; iceUrl?: string; problem?: string } {
    let backend: Backend | undefined;
    try {
      backend = parseBackend(this.backend);
    } catch (err) {
      return { problem: `Cannot start: ${(err as Error).message} (the page's backend setting)` };
    }
    const script = this.querySelector('script[type="application/json"][data-tabgrid-ice]');
    const raw = this.ice ?? script?.textContent ?? undefined;
    let ice: IceConfig | undefined;
    try {
      ice = raw === undefined ? undefined : parseIceConfig(raw, this.ice !== null ? 'the ice attribute' : 'the ice <script>');
    } catch (err) {
      return { problem: `Cannot start: ${(err as Error).message} (the page's connection settings)` };
    }
    const iceUrl = this.iceUrl ?? undefined;
    const urlProblem = iceUrl === undefined ? undefined : iceUrlProblem(iceUrl);
    if (urlProblem) return { problem: `Cannot start: the ice-url setting ${urlProblem} (the page's connection settings)` };
    return { ...(backend ? { backend } : {}), ...(ice ? { ice } : {}), ...(iceUrl ? { iceUrl } : {}) };
  }

  private get hostIds(): string[] {
    const env = import.meta.env as Record<string, string | undefined>;
    return (this.host ?? env.VITE_TABGRID_HOST ?? DEMO_HOST_ID)
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
  }

  /** Choices are remembered per origin and this list of hosts. */
  private get memoryKey(): string {
    return this.hostIds.join(',');
  }

  private newContribution(): Contribution {
    const env = import.meta.env as Record<string, string | undefined>;
    const work = new Contribution(() => ({
      hostIds: this.hostIds,
      signalUrl: this.signal ?? env.VITE_TABGRID_SIGNAL ?? DEFAULT_SIGNAL_URL,
      ...(this.forced.ice ? { ice: this.forced.ice } : {}),
      ...(this.forced.iceUrl ? { iceUrl: this.forced.iceUrl } : {}),
      // Serving other volunteers when a host is full costs a little bandwidth; opt out with no-relay.
      relay: !this.hasAttribute('no-relay'),
      ...(this.checkpointMs ? { checkpointMs: this.checkpointMs } : {}),
      share: this.courtesy.throttle / 100,
      uploadMBps: this.uploadShare,
      ...(this.forced.backend ? { backend: this.forced.backend } : {}),
    }));
    work.addEventListener('change', () => this.tick++);
    work.addEventListener('accepted', (e) => {
      this.dispatchEvent(new CustomEvent('tabgrid-unit-accepted', { detail: (e as CustomEvent).detail, bubbles: true, composed: true }));
    });
    return work;
  }

  /** Before the first render (attributes set right after the element upgraded are in by then). */
  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!this.hasUpdated) {
      forgetRetired();
      this.consent = recallConsent(this.memoryKey);
      this.courtesy = recallCourtesy(this.memoryKey) ?? { ...DEFAULT_COURTESY, throttle: clampThrottle(this.throttle) };
      this.throttle = this.courtesy.throttle;
      this.uploadShare = recallUploadShare(this.memoryKey, this.uploadMax) ?? this.uploadMax;
    } else if (changed.has('throttle')) {
      this.throttle = clampThrottle(this.throttle);
      this.courtesy = { ...this.courtesy, throttle: this.throttle };
    }
  }

  protected override firstUpdated(): void {
    // A returning visitor who pressed Start resumes; nothing else starts without a click.
    if (this.consent === Consent.Started) void this.begin();
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('throttle')) this.work.setShare(this.throttle / 100);
    const ice = this.forced.ice;
    if (changed.has('ice') && changed.get('ice') !== undefined && ice) this.work.setIce(ice);
    if (changed.has('uploadMbps') && this.uploadShare > this.uploadMax) this.setUploadShare(this.uploadMax);
  }

  /** The most the control offers: the page's `upload-mbps`, within 0..MAX_UPLOAD_MBPS. */
  private get uploadMax(): number {
    return clampUploadShare(this.uploadMbps, MAX_UPLOAD_MBPS, DEFAULT_UPLOAD_MBPS);
  }

  private setUploadShare(mbps: number): void {
    this.uploadShare = clampUploadShare(mbps, this.uploadMax);
    rememberUploadShare(this.memoryKey, this.uploadShare);
    this.work.setUploadShare(this.uploadShare);
    this.tick++;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Moved within the page: pick up where it was, if the visitor had said yes.
    if (this.hasUpdated && this.consent === Consent.Started) void this.begin();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.watcher?.stop();
    this.work.close();
    this.work = this.newContribution();
  }

  private readonly actions: VolunteerActions = {
    toggle: () => (this.consent === Consent.Started ? this.pause() : this.start()),
    retry: () => this.work.retry(),
    throttle: (percent) => this.setCourtesy({ throttle: clampThrottle(percent) }),
    uploadShare: (mbps) => this.setUploadShare(mbps),
    onlyWhenIdle: (on) => this.setCourtesy({ onlyWhenIdle: on }),
    pauseOnBattery: (on) => this.setCourtesy({ pauseOnBattery: on }),
    downloadCredit: () => void this.work.downloadCredit(),
    saveProfile: (profile) => {
      this.profileNote = 'Saving…';
      this.tick++;
      const started = this.work.sessions.length > 0;
      this.work.setProfile(profile).then(
        () => {
          const refused = this.work.profileProblem;
          this.profileNote = refused
            ? `The host refused it: ${refused}`
            : !started
              ? 'Kept: stored and told to the host when you press Start.'
              : this.work.sessions.some((x) => x.connected)
                ? 'Saved, and the host has it.'
                : 'Saved: the host hears it when connected.';
          this.tick++;
        },
        (err: unknown) => {
          this.profileNote = `Could not save it: ${err instanceof Error ? err.message : String(err)}`;
          this.tick++;
        },
      );
    },
    refuseProfile: (why) => {
      this.profileNote = why;
      this.tick++;
    },
  };

  /** The visitor's Start: remembered, then runs (or rests, if courtesy says so). */
  start(): void {
    this.consent = Consent.Started;
    rememberConsent(this.memoryKey, Consent.Started);
    void this.begin();
  }

  /** The visitor's Pause: remembered; one click stops everything, and another tab may take over. */
  pause(): void {
    this.consent = Consent.Paused;
    rememberConsent(this.memoryKey, Consent.Paused);
    this.watcher?.stop();
    this.work.release();
    this.tick++;
  }

  private setCourtesy(change: Partial<CourtesySettings>): void {
    this.courtesy = { ...this.courtesy, ...change };
    rememberCourtesy(this.memoryKey, this.courtesy);
    if (change.throttle !== undefined) this.throttle = change.throttle;
    this.watcher?.update();
    this.tick++;
  }

  private async begin(): Promise<void> {
    this.tick++;
    // A bad backend setting starts nothing; render shows why.
    if (this.forced.problem) return;
    if (!(await this.work.lead())) return;
    if (this.consent !== Consent.Started) return; // paused while starting
    this.watchCourtesy().start();
    this.applyCourtesy();
  }

  /** Runs the sessions unless courtesy holds them back; resting keeps their checkpoints. */
  private applyCourtesy(): void {
    if (this.consent !== Consent.Started || !this.work.leading) return;
    if (this.hold) this.work.rest();
    else this.work.run();
    this.tick++;
  }

  private watchCourtesy(): CourtesyWatcher {
    if (!this.watcher) {
      this.watcher = new CourtesyWatcher(() => this.courtesy, { idleMs: () => this.idleSeconds * 1000 });
      this.watcher.addEventListener('change', () => this.applyCourtesy());
    }
    return this.watcher;
  }

  override render() {
    const w = this.work;
    const running = w.sessions.find((x) => x.state === VolunteerState.Running && x.progress);
    const resumed = w.sessions.find((x) => x.resumed)?.resumed;
    const failed = w.sessions.find((x) => x.state === VolunteerState.Error);
    const hold = this.hold && w.leading ? this.hold : undefined;
    const problem = this.forced.problem;
    // A failure to connect is said once, in its own alert that stays through the retries; other errors as before.
    const connectProblem = w.sessions.find((x) => x.connectProblem)?.connectProblem?.message;
    const sessionError = failed?.error?.message;
    const error = problem ?? (sessionError === connectProblem ? undefined : sessionError);
    return renderVolunteer(
      {
        state: describeWidgetState(this.state, w.sessions),
        consented: this.consent === Consent.Started,
        hosts: this.hostIds,
        status:
          problem ??
          describeStatus({
            sessions: w.sessions,
            waitingForTab: w.waitingForTab,
            starting: w.isStarting,
            consent: this.consent,
            ...(hold ? { hold } : {}),
          }),
        ...(hold ? { hold: describeHold(hold) } : {}),
        adapter: describeEngine(w.engine, w.sessions.length > 0),
        connection: describeConnection(w.sessions),
        ...(running?.progress ? { unit: { ...running.progress, kernel: running.kernel } } : {}),
        unitsDone: this.unitsDone,
        credit: this.credit,
        creditText: describeCredit(this.credit, this.creditByKernel),
        ...(w.pace.unitsPerMinute !== undefined ? { pace: { unitsPerMinute: w.pace.unitsPerMinute, pointsPerDay: w.pace.pointsPerDay! } } : {}),
        rateText: formatItemsPerSecond(w.history.latest ?? 0, running?.kernel),
        ...(running?.progress && unitLeft(running.progress, w.history) ? { unitLeft: unitLeft(running.progress, w.history) } : {}),
        rejected: w.sum((x) => x.unitsRejected),
        ...(w.lastRejection ? { lastRejection: w.lastRejection } : {}),
        storage: describeStorage(w.sessions, w.storageNote, w.persistence),
        ...(resumed ? { resumed: `${resumed.unitId} from its checkpoint (${resumed.from} of ${resumed.total})` } : {}),
        relaying: this.relayChildren,
        history: w.history,
        courtesy: this.courtesy,
        upload: { mbps: this.uploadShare, max: this.uploadMax, serving: describeServing(this.uploadShare, w.uploading, w.bytesServed, w.sessions.length > 0) },
        batteryOption: batteryApiAvailable(),
        idleSeconds: this.idleSeconds,
        receipts: this.receipts.length,
        ...(error ? { error } : {}),
        ...(connectProblem ? { connectProblem } : {}),
        ...(w.creditProblem ? { creditProblem: w.creditProblem } : {}),
        donor: {
          ...(w.profile ? { profile: w.profile } : {}),
          ...(w.standing ? { standing: w.standing } : {}),
          ...(this.profileNote ? { profileNote: this.profileNote } : {}),
          beforeStart: w.sessions.length === 0,
        },
      },
      this.actions,
    );
  }

  static override styles = volunteerStyles;
}

/** What sharing inputs does now, in words. */
function describeServing(mbps: number, uploading: number, served: number, started: boolean): string {
  const sent = served > 0 ? ` Sent so far: ${formatBytes(served)}.` : '';
  if (mbps === 0) return `Not sharing.${sent}`;
  if (connectionSaysSpare()) return `Not sharing now: your browser asks to save data on this connection.${sent}`;
  if (!started) return 'Sharing starts when you press Start.';
  return `${uploading > 0 ? `Sharing with ${uploading} volunteer${uploading === 1 ? '' : 's'} now.` : 'Sharing when asked.'}${sent}`;
}

/** The time left on the current unit at the rate of the last seconds. */
function unitLeft(progress: { done: number; total: number }, history: ThroughputHistory): string | undefined {
  const recent = history.values().slice(-5);
  const rate = recent.length === 0 ? 0 : recent.reduce((a, b) => a + b, 0) / recent.length;
  return estimateLeft(progress.done, progress.total, rate);
}

if (!customElements.get('tabgrid-volunteer')) customElements.define('tabgrid-volunteer', TabgridVolunteer);

declare global {
  interface HTMLElementTagNameMap {
    'tabgrid-volunteer': TabgridVolunteer;
  }
}
