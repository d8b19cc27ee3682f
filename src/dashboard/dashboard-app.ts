import { LitElement, css, html, nothing } from 'lit';
import type { Hasher } from '../hash/sha256-cpu';
import { JobStatus, type HostCore, type VerdictEvent } from '../host/host-core';
import { submitRequest } from '../host/ingest/ingest';
import type { HostStore } from '../host/store/store';
import type { JobSpec } from '../host/job';
import { startPageHost } from '../host/page-host';
import type { UnitView } from '../host/host-views';
import { createdText } from './created-text';
import { panelStyles } from './dashboard-styles';
import type { DownloadJob } from './downloads';
import { SETTINGS_CHANGE } from './host-settings';
import { JOB_SUBMIT, type JobForm, type JobSubmitEvent } from './job-form';
import { connectToHost } from '../net/connect';
import type { IceConfig } from '../protocol/ice';
import { ObserverClient, WatchStatus, type ConnectObserver } from './observer-client';
import { buildResults } from './results-file';
import { resolveIce, resolveSettings, resolveWatch, settingsQuery, volunteerUrl, type HostSettings, type WatchSettings } from './settings';
import { volunteerRows, type VolunteerRow } from './volunteer-rows';
import { jobRow, type JobRow } from './job-overview';
import { JOB_ACTION, JobAction, type JobActionEvent } from './jobs-overview';
import { ChartScope } from './chart-scope';
import './downloads';
import './host-settings';
import './job-form';
import './jobs-overview';
import './throughput-chart';
import './unit-grid';
import './verification-log';
import './volunteers-table';
import './leaderboard';
import type { Leaderboard } from './leaderboard';

/** The host the dashboard runs: a page host by default; tests inject one over a memory store. */
export interface DashboardHost {
  readonly core: HostCore;
  /** Where the datasets of jobs on the researcher's own files are saved (without it, the form's files are refused). */
  readonly store?: HostStore;
  readonly hash?: Hasher;
  close(): Promise<void>;
}
export type StartHost = (settings: HostSettings, hooks: { onVerdict: (e: VerdictEvent) => void; log: (line: string) => void }) => Promise<DashboardHost>;

export const startDashboardHost: StartHost = (settings, hooks) => startPageHost({ jobs: [], ...settings, ...hooks });

/** How the dashboard reaches a host it watches: over PeerJS by default; tests hand in an in-memory link. */
export type ConnectWatched = (watch: WatchSettings) => ConnectObserver;
export const connectWatched: ConnectWatched = (watch) => (handlers, signal) =>
  connectToHost({ signalUrl: watch.signalUrl, hostId: watch.hostId, signal, ...(watch.ice ? { ice: watch.ice } : {}) }, handlers);

/** What the panels read: a HostCore's views in this tab, or a watched host's last snapshot (observer-client.ts WatchedHost). */
type PanelSource = Pick<HostCore, 'jobs' | 'progress' | 'units' | 'volunteers' | 'trustRecords' | 'directConnections'> & {
  acceptedOf(jobId: string): number;
  /** A job's status; a watched host's snapshot does not say, so its jobs read as active. */
  jobStatus?(jobId: string): JobStatus | undefined;
  leaderboard(): Leaderboard;
};

export const HostStatus = { Starting: 'starting', Running: 'running', Failed: 'failed' } as const;
export type HostStatus = (typeof HostStatus)[keyof typeof HostStatus];

/** How often the panels are refreshed from the host; verdicts also arrive as events. */
export const REFRESH_MS = 500;
/** With no visible change, a full refresh at least this often (the chart's time axis moves). */
const FULL_REFRESH_MS = 5_000;
/**
 * The share of the main thread refreshing may take: the host runs on it too. A 100 000-unit
 * job costs ~180 ms per refresh, so it refreshes every ~2 s instead of starving the host.
 */
const MAX_REFRESH_SHARE = 0.1;
/** Verdicts kept for the log and for "rejected recently". */
const LOG_KEPT = 200;

/** What the panels show, rebuilt from the host on each refresh (never in render). */
interface View {
  readonly now: number;
  readonly jobs: readonly JobSpec[];
  readonly selected: string | undefined;
  readonly units: readonly UnitView[];
  readonly acceptedAt: readonly (number | null)[];
  /** Every job's row in the overview. */
  readonly overview: readonly JobRow[];
  /** What the throughput chart counts, and its label. */
  readonly chart: { readonly acceptedAt: readonly (number | null)[]; readonly subject: string };
  readonly volunteers: readonly VolunteerRow[];
  readonly downloads: readonly DownloadJob[];
  readonly connected: number;
  readonly leaderboard: Leaderboard;
}

const EMPTY: View = {
  now: 0,
  jobs: [],
  selected: undefined,
  units: [],
  acceptedAt: [],
  overview: [],
  chart: { acceptedAt: [], subject: 'all jobs' },
  volunteers: [],
  downloads: [],
  connected: 0,
  leaderboard: { volunteers: [], teams: [] },
};

/**
 * <tabgrid-dashboard>: the researcher's dashboard. Runs a job host in this tab (state in
 * IndexedDB), creates jobs, and shows progress, throughput, volunteers, verdicts and
 * downloads, refreshed every REFRESH_MS (less often for huge jobs). The host starts when the element is connected, never
 * at import. Settings come from the query (?signal=…&host=…) or the build's defaults.
 *
 * Or it watches a host running elsewhere (`npm run host`), read-only: `?watch=HOSTID&signal=URL#token=TOKEN`
 * shows the same panels from the host's snapshots (observer-client.ts), offers the same
 * downloads from its store, has no job form, and reconnects with backoff when the link drops.
 */
export class TabgridDashboard extends LitElement {
  static override properties = {
    view: { state: true },
    status: { state: true },
    statusText: { state: true },
    log: { state: true },
    actionError: { state: true },
    acting: { state: true },
  };

  /** Replaced by tests before the element is connected. */
  startHost: StartHost = startDashboardHost;
  settings?: HostSettings;
  host?: DashboardHost;
  /** The host to watch instead of running one (from the URL unless a test sets it). */
  watch?: WatchSettings;
  /** Replaced by tests before the element is connected. */
  connectWatched: ConnectWatched = connectWatched;
  /** The watched host's observer, in watch mode. */
  observer?: ObserverClient;
  /** Counts starts (and disconnects), so a start that finishes late knows it is stale. */
  private starts = 0;
  declare status: HostStatus;
  declare private statusText: string;
  declare private view: View;
  declare private log: readonly VerdictEvent[];
  /** Why the last pause, resume, cancel or delete failed ('' when it did not). */
  declare private actionError: string;
  /** A job action is under way. */
  declare private acting: boolean;
  private selected?: string;
  /** Whether the throughput chart counts every job or the one shown. */
  private chartScope: ChartScope = ChartScope.All;
  private readonly rejectedAt = new Map<string, number>();
  private timer?: ReturnType<typeof setTimeout>;
  private lastKey = '';
  private lastFull = 0;

  constructor() {
    super();
    this.status = HostStatus.Starting;
    this.statusText = 'Starting the job host…';
    this.view = EMPTY;
    this.log = [];
    this.actionError = '';
    this.acting = false;
    this.addEventListener(JOB_ACTION, (e) => void this.jobAction(e));
    // Both events bubble out of the panels' shadow roots (composed).
    this.addEventListener(JOB_SUBMIT, (e) => void this.addJob(e));
    this.addEventListener(SETTINGS_CHANGE, (e) => location.assign(settingsQuery(location.search, (e as CustomEvent<HostSettings>).detail)));
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const env = import.meta.env as Record<string, string | undefined>;
    let ice: IceConfig | undefined;
    try {
      ice = resolveIce(this, location.search);
    } catch (err) {
      this.status = HostStatus.Failed;
      this.statusText = `Cannot connect: ${(err as Error).message} (the page's connection settings)`;
      return;
    }
    const withIce = <T extends object>(s: T): T => (ice ? { ...s, ice } : s);
    const watch = this.watch ?? (this.settings ? undefined : resolveWatch(location.search, location.hash, env));
    this.watch = watch && withIce(watch);
    if (this.watch) return this.startWatching(this.watch);
    this.settings ??= withIce(resolveSettings(location.search, env));
    void this.start(this.settings);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.starts++; // a start still under way finds itself stale and closes what it opened
    clearTimeout(this.timer);
    void this.host?.close();
    this.host = undefined;
    this.observer?.close();
    this.observer = undefined;
  }

  /** Watch mode: an observer of `watch`, whose every snapshot refreshes the panels. */
  private startWatching(watch: WatchSettings): void {
    if (!watch.token) {
      this.status = HostStatus.Failed;
      this.statusText = `No observer token in the address: open the URL host ${watch.hostId} printed at start (it ends in #token=…).`;
      return;
    }
    const observer = new ObserverClient({
      hostId: watch.hostId,
      token: watch.token,
      connect: this.connectWatched(watch),
      onUpdate: () => this.refresh(),
      onVerdict: (e) => this.record(e),
      onStatus: (status, text) => {
        this.status = status === WatchStatus.Watching ? HostStatus.Running : status === WatchStatus.Refused ? HostStatus.Failed : HostStatus.Starting;
        this.statusText = status === WatchStatus.Watching ? this.watchingText() : text;
      },
    });
    this.observer = observer;
    this.statusText = `Connecting to host ${watch.hostId} via ${watch.signalUrl}…`;
    observer.start();
  }

  private watchingText(): string {
    const w = this.watch!;
    const unreadable = this.observer?.view.unreadableJobs ?? [];
    return (
      `Watching host ${w.hostId} via ${w.signalUrl} (read-only); ${this.view.connected} volunteer connection(s).` +
      (unreadable.length > 0 ? ` Not shown (this page cannot read their kernel): ${unreadable.join(', ')}.` : '')
    );
  }

  /** What the panels read now: the host in this tab, or the watched host's last snapshot. */
  private source(): PanelSource | undefined {
    const core = this.host?.core;
    // Watching: the last snapshot, kept on screen while the link is dialled again.
    if (!core) return this.observer?.view;
    return {
      jobs: () => core.jobs(),
      progress: () => core.progress(),
      units: (id) => core.units(id),
      volunteers: () => core.volunteers(),
      trustRecords: (id) => core.trustRecords(id),
      directConnections: () => core.directConnections(),
      acceptedOf: (id) => core.results(id).length,
      jobStatus: (id) => core.jobStatus(id),
      leaderboard: () => core.leaderboard(),
    };
  }

  private async start(settings: HostSettings): Promise<void> {
    // One start at a time: moving the element while its host starts must not start a second host.
    const attempt = ++this.starts;
    let host: DashboardHost;
    try {
      host = await this.startHost(settings, { onVerdict: (e) => this.record(e), log: () => undefined });
    } catch (err) {
      if (attempt !== this.starts) return;
      this.status = HostStatus.Failed;
      this.statusText = `The job host did not start: ${(err as Error).message}. Is the signaling server at ${settings.signalUrl} running, and is host id ${settings.hostId} free (not open in another tab, nor served by npm start's Node host)? Change it under Settings.`;
      return;
    }
    if (!this.isConnected || attempt !== this.starts) return void host.close();
    this.host = host;
    this.status = HostStatus.Running;
    this.tick();
  }

  /** Refreshes, then schedules the next refresh, later if this one was costly. */
  private tick(): void {
    const started = performance.now();
    const full = this.refresh();
    const cost = performance.now() - started;
    this.timer = setTimeout(() => this.tick(), Math.max(REFRESH_MS, full ? cost / MAX_REFRESH_SHARE : 0));
  }

  private record(e: VerdictEvent): void {
    this.log = [...this.log.slice(1 - LOG_KEPT), e];
    if (e.verdict === 'rejected') this.rejectedAt.set(e.unitId, e.at);
  }

  /**
   * Rebuilds the view from the host (the selected job's units, its volunteers, per-job counts)
   * when something visible changed, or `force`; returns whether it did. The change check
   * (state counts, verdicts, connections, jobs) is far cheaper than the rebuild.
   */
  refresh(force = false): boolean {
    const core = this.source();
    if (!core) return false;
    const now = Date.now();
    const statuses = core.jobs().map((j) => core.jobStatus?.(j.id));
    const key = JSON.stringify([core.progress(), this.log.length, core.directConnections(), this.selected, core.jobs().length, statuses, this.chartScope]);
    if (!force && key === this.lastKey && now - this.lastFull < FULL_REFRESH_MS) return false;
    this.lastKey = key;
    this.lastFull = now;
    const jobs = core.jobs();
    const selected = jobs.find((j) => j.id === this.selected)?.id ?? jobs[0]?.id;
    this.selected = selected;
    this.observer?.select(selected);
    const spec = jobs.find((j) => j.id === selected);
    const units = selected ? core.units(selected) : [];
    const accepted = units.filter((u) => u.state === 'accepted').length;
    const unitsOf = new Map(jobs.map((j) => [j.id, j.id === selected ? units : core.units(j.id)]));
    const all = ChartScope.All === this.chartScope || !selected;
    this.view = {
      now,
      jobs,
      selected,
      units,
      acceptedAt: units.map((u) => u.acceptedAt),
      overview: jobs.map((j) => jobRow(j, core.jobStatus?.(j.id) ?? JobStatus.Active, unitsOf.get(j.id)!, now)),
      chart: all
        ? {
            acceptedAt: [...unitsOf.values()].flatMap((us) => us.map((u) => u.acceptedAt)),
            subject: jobs.length === 1 ? `job ${jobs[0]!.id}` : `all ${jobs.length} jobs`,
          }
        : { acceptedAt: units.map((u) => u.acceptedAt), subject: `job ${selected}` },
      volunteers: spec ? volunteerRows(core, spec, units) : [],
      downloads: jobs.map((j) => ({ spec: j, accepted: j.id === selected ? accepted : core.acceptedOf(j.id) })),
      connected: core.directConnections(),
      leaderboard: core.leaderboard(),
    };
    if (this.observer) {
      if (this.observer.status === WatchStatus.Watching) this.statusText = this.watchingText();
      return true;
    }
    const s = this.settings!;
    this.statusText = `Running as host ${s.hostId} on ${s.signalUrl}; ${this.view.connected} volunteer connection(s).`;
    return true;
  }

  private async addJob(e: JobSubmitEvent): Promise<void> {
    const core = this.host?.core;
    const form = e.composedPath()[0] as JobForm;
    if (!core) {
      form.submitError = 'The job host is not running, so it cannot take a job.';
      return;
    }
    try {
      const { spec, request } = e.detail;
      if (spec) {
        const added = await core.addJob(spec);
        form.submitError = added ? '' : `The host already serves job ${spec.id} with this spec.`;
        form.created = added ? createdText(spec) : '';
        this.selected = spec.id;
      } else {
        const { store, hash } = this.host!;
        if (!store || !hash) throw new Error('This host keeps no datasets, so it cannot take a job on your own files.');
        // Every file is read and checked before anything is stored: a bad one leaves the host as it was.
        const made = await submitRequest(core, store, request, { hash });
        this.selected = made.id;
        form.submitError = '';
        form.created = createdText(made);
      }
      this.refresh(true);
    } catch (err) {
      form.submitError = (err as Error).message;
      form.created = '';
    }
  }

  /** Pauses, resumes, cancels or deletes a job on the host in this tab (the overview's buttons; cancel and delete confirmed there). */
  private async jobAction(e: JobActionEvent): Promise<void> {
    const core = this.host?.core;
    if (!core || this.acting) return;
    const { jobId, action } = e.detail;
    this.acting = true;
    try {
      switch (action) {
        case JobAction.Pause:
          await core.setJobStatus(jobId, JobStatus.Paused);
          break;
        case JobAction.Resume:
          await core.setJobStatus(jobId, JobStatus.Active);
          break;
        case JobAction.Cancel:
          await core.setJobStatus(jobId, JobStatus.Cancelled);
          break;
        case JobAction.Delete:
          await core.deleteJob(jobId);
          break;
      }
      this.actionError = '';
    } catch (err) {
      this.actionError = `Could not ${action} job ${jobId}: ${(err as Error).message}`;
    } finally {
      this.acting = false;
      this.refresh(true);
    }
  }

  /** A watched host's export of a job, as its `npm run host -- --export` writes it. */
  private exportFiles = (jobId: string) => this.observer!.exportFiles(jobId);

  /** A job's downloads, from the units accepted now; outputs are read one unit at a time, on click only. */
  private buildResults = async (jobId: string) => {
    const observer = this.observer;
    if (observer) {
      // From the watched host: its results and receipts page by page, each kept output as it is read.
      const job = observer.view.jobs().find((j) => j.id === jobId);
      if (!job) throw new Error(`host ${this.watch!.hostId} shows no job ${jobId} this page can read`);
      const { accepted, receipts } = await observer.results(jobId);
      return buildResults({
        hostId: this.watch!.hostId,
        publicKey: observer.publicKey,
        job,
        accepted,
        receipt: (id) => receipts.get(id),
        output: (id) => observer.output(id),
        now: Date.now(),
      });
    }
    const core = this.host!.core;
    const job = core.jobs().find((j) => j.id === jobId)!;
    return buildResults({
      hostId: this.settings!.hostId,
      publicKey: core.publicKey,
      job,
      accepted: core.results(jobId),
      receipt: (id) => core.receipt(id),
      output: (id) => core.output(id),
      now: Date.now(),
    });
  };

  /** Watch mode's header panel: which host, the link's state, and that nothing here changes the host. */
  private watchPanel(watch: WatchSettings) {
    return html`<section aria-labelledby="watch-title" data-mode="watch">
      <h2 id="watch-title">Watching host ${watch.hostId}</h2>
      <p role="status" aria-live="polite" data-field="watch-status" class=${this.status === HostStatus.Failed ? 'error' : ''}>${this.statusText}</p>
      <p class="muted">
        Read-only: this page shows a job host that runs elsewhere (<code>npm run host</code>), as it proved the token the host printed at start. Jobs are added
        on that host; downloads are built from its store.
      </p>
    </section>`;
  }

  override render() {
    const v = this.view;
    const running = this.status === HostStatus.Running;
    const watch = this.watch;
    return html`
      <header><h1>tabgrid dashboard${watch ? html` <span class="muted">watching ${watch.hostId}</span>` : nothing}</h1></header>
      <main>
        ${
          watch
            ? this.watchPanel(watch)
            : html`<tg-host-settings
                .settings=${this.settings ?? { signalUrl: '', hostId: '' }}
                status=${this.statusText}
                .volunteerLink=${running && this.settings ? volunteerUrl(location.origin, this.settings) : ''}
              ></tg-host-settings>`
        }
        <div class=${watch ? 'solo' : 'cols'}>
          ${watch ? nothing : html`<tg-job-form></tg-job-form>`}
          <div class="stack">
            <tg-jobs-overview .rows=${v.overview} ?actions=${!watch && running} ?busy=${this.acting} error=${this.actionError}></tg-jobs-overview>
            ${
              v.jobs.length > 1
                ? html`<label class="pick"
                    >Job shown
                    <select @change=${(e: Event) => ((this.selected = (e.target as HTMLSelectElement).value), this.refresh(true))}>
                      ${v.jobs.map((j) => html`<option value=${j.id} ?selected=${j.id === v.selected}>${j.id} (${j.kernel}, ${j.units} units)</option>`)}
                    </select></label
                  >`
                : nothing
            }
            <tg-unit-grid job-id=${v.selected ?? ''} .units=${v.units} .rejectedAt=${this.rejectedAt} .now=${v.now}></tg-unit-grid>
            ${
              v.jobs.length > 1
                ? html`<label class="pick"
                    >Chart shows
                    <select
                      data-field="chart-scope"
                      @change=${(e: Event) => ((this.chartScope = (e.target as HTMLSelectElement).value as ChartScope), this.refresh(true))}
                    >
                      <option value=${ChartScope.All} ?selected=${this.chartScope === ChartScope.All}>all jobs</option>
                      <option value=${ChartScope.Shown} ?selected=${this.chartScope === ChartScope.Shown}>the job shown (${v.selected})</option>
                    </select></label
                  >`
                : nothing
            }
            <tg-throughput-chart .acceptedAt=${v.chart.acceptedAt} .now=${v.now} subject=${v.chart.subject}></tg-throughput-chart>
            <tg-volunteers-table .rows=${v.volunteers}></tg-volunteers-table>
            <tg-leaderboard .board=${v.leaderboard} .now=${v.now}></tg-leaderboard>
          </div>
        </div>
        <tg-verification-log .entries=${this.log}></tg-verification-log>
        <tg-downloads
          .jobs=${v.downloads}
          .build=${running ? this.buildResults : undefined}
          .exportFiles=${running && this.observer ? this.exportFiles : undefined}
        ></tg-downloads>
      </main>
    `;
  }

  static override styles = [
    panelStyles,
    css`
      :host {
        max-width: 80rem;
        margin: 0 auto;
        padding: 0 1rem 2rem;
      }
      h1 {
        font-size: 1.5rem;
      }
      main {
        display: grid;
        /* minmax(0, …): a wide table scrolls in its panel instead of widening the page. */
        grid-template-columns: minmax(0, 1fr);
        gap: 1rem;
      }
      .cols {
        display: grid;
        grid-template-columns: minmax(18rem, 26rem) 1fr;
        gap: 1rem;
        align-items: start;
      }
      @media (max-width: 50rem) {
        .cols {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      .stack,
      .solo {
        display: grid;
        grid-template-columns: minmax(0, 1fr);
        gap: 1rem;
      }
      .pick select {
        font: inherit;
        margin-left: 0.5rem;
      }
    `,
  ];
}

if (!customElements.get('tabgrid-dashboard')) customElements.define('tabgrid-dashboard', TabgridDashboard);

declare global {
  interface HTMLElementTagNameMap {
    'tabgrid-dashboard': TabgridDashboard;
  }
}
