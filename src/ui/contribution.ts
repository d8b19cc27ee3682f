import { createKeyPair, identityFromKeyPair, loadOrCreateIdentity, type Identity } from '../proof/identity';
import { Verdict, type Backend, type Receipt } from '../protocol';
import { acquireLeadership, type Leadership } from '../volunteer/leader';
import { VolunteerSession, VolunteerState, type Standing, type VerdictDetail } from '../volunteer/session';
import { openVolunteerStore } from '../volunteer/store/idb-volunteer-store';
import { openDatasetCache } from '../volunteer/store/idb-dataset-cache';
import type { DatasetCache } from '../volunteer/store/dataset-cache';
import { ChunkFlights } from '../volunteer/chunk-fetcher';
import { Persistence, requestPersistence } from '../volunteer/store/persistence';
import type { DonorProfile, VolunteerStore } from '../volunteer/store/volunteer-store';
import { ComputeClient } from '../worker/client';
import type { IceConfig } from '../protocol/ice';
import type { EngineInfo } from '../worker/engine';
import { Pace } from './pace';
import { ThroughputHistory } from './sparkline';
import { downloadCredit } from './credit-file';
import { MB, UploadShare } from '../volunteer/upload-share';

export interface ContributionConfig {
  readonly hostIds: readonly string[];
  readonly signalUrl: string;
  /** STUN/TURN servers and policy (the element's `ice`). */
  readonly ice?: IceConfig;
  /** Read the ICE servers from here before connecting (a signaling server's GET /ice); `ice` is used until then. */
  readonly iceUrl?: string;
  readonly relay: boolean;
  readonly checkpointMs?: number;
  /** Share of compute time, 0.1..1. */
  readonly share: number;
  /** Run every kernel on this backend instead of choosing (the element's `backend`). */
  readonly backend?: Backend;
  /** The visitor's upload share for the swarm, MB/s (0: serve nothing). */
  readonly uploadMBps: number;
}

/** One tab per origin computes (see volunteer/leader.ts): they share one store and one id. */
const LEADER_LOCK = 'tabgrid-volunteer';

/**
 * What the widget runs once the visitor has said yes: the tab-leader lock, the IndexedDB store
 * and key, one compute worker, one session per host, and the throughput samples. The element
 * decides when (consent, courtesy); this decides how. Emits `change` on anything shown, and
 * `accepted` (detail: VerdictDetail and hostId) per result a host newly accepts.
 */
export class Contribution extends EventTarget {
  sessions: VolunteerSession[] = [];
  engine?: EngineInfo;
  /** True while another tab of this site holds the lock. */
  waitingForTab = false;
  storageNote?: string;
  persistence?: Persistence;
  identity?: Identity;
  lastRejection?: string;
  /** Why the last proof-of-credit download failed, until one succeeds. */
  creditProblem?: string;
  /** The donor's name and team: what the visitor set here, else what the store kept (read once storage opens). */
  profile?: DonorProfile;
  readonly history = new ThroughputHistory(180);
  /** Units per minute and points per day, over the last minutes. */
  readonly pace = new Pace();
  private computer?: ComputeClient;
  private leadership?: Leadership;
  private starting?: AbortController;
  private store?: VolunteerStore;
  private datasets?: DatasetCache;
  /** Chunks in flight, shared by this tab's sessions (one per host). */
  private readonly flights = new ChunkFlights();
  /** The tab's upload share, shared by its sessions' swarms. */
  private upload?: UploadShare;
  private sampler?: ReturnType<typeof setInterval>;
  private opening?: Promise<void>;
  private closed = false;

  constructor(private readonly config: () => ContributionConfig) {
    super();
  }

  /** True from the request to lead until the sessions exist and the lock is held. */
  get isStarting(): boolean {
    return this.starting !== undefined;
  }

  get leading(): boolean {
    return this.leadership !== undefined && this.starting === undefined;
  }

  /** Downloads a signed credit statement per host (credit-file.ts); a failure is kept in creditProblem. */
  async downloadCredit(): Promise<void> {
    try {
      await downloadCredit(this.sessions);
      this.creditProblem = undefined;
    } catch (err) {
      this.creditProblem = `Could not make the proof of credit: ${err instanceof Error ? err.message : String(err)}`;
    }
    this.emit();
  }

  get receipts(): Receipt[] {
    return this.sessions.flatMap((x) => x.receipts);
  }

  /**
   * Sets the name and team every host is told (each optional; empty clears): kept in the store
   * with the key, and sent to each host now if connected, else when the sessions connect. Before
   * Start nothing is stored; it is kept here and stored when storage opens.
   */
  async setProfile(profile: DonorProfile): Promise<void> {
    this.profile = profile;
    this.emit();
    if (this.sessions.length > 0) await Promise.all(this.sessions.map((x) => x.setProfile(profile)));
    this.emit();
  }

  /** This key's totals and rank on the first host that told them (protocol `standing`). */
  get standing(): Standing | undefined {
    return this.sessions.find((x) => x.standing)?.standing;
  }

  /** Why a host refused the last profile change, if one did. */
  get profileProblem(): string | undefined {
    return this.sessions.find((x) => x.profileProblem)?.profileProblem;
  }

  sum(of: (x: VolunteerSession) => number): number {
    return this.sessions.reduce((n, x) => n + of(x), 0);
  }

  /**
   * Waits to lead (another tab may be contributing), opens storage once and creates the
   * sessions. Resolves true when this tab leads, false if released meanwhile.
   */
  async lead(): Promise<boolean> {
    if (this.leading) return true;
    if (this.starting) return false;
    const starting = new AbortController();
    this.starting = starting;
    this.emit();
    try {
      this.leadership = await acquireLeadership(LEADER_LOCK, {
        signal: starting.signal,
        onWaiting: () => {
          this.waitingForTab = true;
          this.emit();
        },
      });
    } catch {
      return false; // released while waiting
    }
    this.waitingForTab = false;
    // Once, however often Start and Pause alternate while it runs.
    if (this.sessions.length === 0) await (this.opening ??= this.openStorage());
    if (starting.signal.aborted) return false;
    this.starting = undefined;
    this.ensureSessions();
    return true;
  }

  /** Runs every session not running (or retrying) already. */
  run(): void {
    for (const x of this.sessions) if (x.state !== VolunteerState.Running && x.state !== VolunteerState.Error) x.start();
  }

  /** Stops computing at once; a unit in progress keeps its last checkpoint. */
  rest(): void {
    for (const x of this.sessions) x.pause();
  }

  /** Retries now the sessions that failed or wait to reconnect. */
  retry(): void {
    for (const x of this.sessions) if (x.state === VolunteerState.Error) x.start();
  }

  /** The page's new ICE configuration (fresh TURN credentials): every session connects with it from now on, and one waiting to retry tries now. */
  setIce(ice: IceConfig): void {
    for (const x of this.sessions) x.setIce(ice);
    this.retry();
  }

  /** Pauses and lets go of the lock, so another tab of this site may take over. */
  release(): void {
    this.starting?.abort();
    this.starting = undefined;
    this.waitingForTab = false;
    this.rest();
    this.leadership?.release();
    this.leadership = undefined;
    this.emit();
  }

  setShare(share: number): void {
    void this.computer?.setThrottle(share);
  }

  /** The visitor's upload share, MB/s: applies at once (0 lets every downloader go). */
  setUploadShare(mbps: number): void {
    if (!this.upload) return;
    this.upload.rate = mbps * MB;
    for (const x of this.sessions) x.swarmChanged();
  }

  /** Volunteers fetching inputs from this tab now; input bytes sent to them; input bytes fetched from the hosts and from peers. */
  get uploading(): number {
    return this.sum((x) => x.uploading);
  }
  get bytesServed(): number {
    return this.sum((x) => x.bytesServed);
  }
  get inputBytes(): { host: number; peer: number } {
    const peer = this.sum((x) => x.inputBytes.peer);
    return { host: this.sum((x) => x.inputBytes.fetched) - peer, peer };
  }

  private readonly connectionChanged = () => {
    for (const x of this.sessions) x.swarmChanged();
    this.emit();
  };

  close(): void {
    (navigator as { connection?: EventTarget }).connection?.removeEventListener?.('change', this.connectionChanged);
    this.closed = true;
    this.starting?.abort();
    for (const x of this.sessions) x.close();
    this.computer?.terminate();
    this.leadership?.release();
    this.store?.close();
    this.datasets?.close();
    this.datasets = undefined;
    clearInterval(this.sampler);
    this.sessions = [];
    this.computer = this.sampler = this.leadership = this.store = this.starting = undefined;
  }

  /** A failed open leaves the volunteer computing without resume, and saying so. */
  private async openStorage(): Promise<void> {
    try {
      const store = await openVolunteerStore();
      // Closed while it opened: nobody else will close it.
      if (this.closed) return store.close();
      this.store = store;
      // Verified dataset chunks, kept across reloads beside the store; without it they stay in memory.
      this.datasets = await openDatasetCache().catch(() => undefined);
      if (this.closed) this.datasets?.close();
      this.persistence = await requestPersistence();
      this.identity = await loadOrCreateIdentity(this.store);
      // Set before Start: the visitor's newer choice wins over what the store kept.
      this.profile ??= await this.store.getProfile();
    } catch (err) {
      this.storageNote = `storage unavailable (${(err as Error).message}): computing without resume`;
    }
    this.identity ??= await identityFromKeyPair(await createKeyPair());
  }

  private ensureSessions(): void {
    if (this.sessions.length > 0) return;
    const config = this.config();
    // The worker keeps tuned tile shapes in this tab's store, when it has one.
    const computer = new ComputeClient({ ...(this.store ? { tuneStore: this.store } : {}), ...(config.backend ? { backend: config.backend } : {}) });
    this.computer = computer;
    void computer.setThrottle(config.share);
    const upload = (this.upload = new UploadShare(config.uploadMBps * MB));
    // The browser may start or stop saving data mid-visit: serving follows (volunteer/metered.ts).
    const connection = (navigator as { connection?: EventTarget }).connection;
    connection?.addEventListener?.('change', this.connectionChanged);
    this.describe(computer);
    this.sessions = config.hostIds.map((hostId) => {
      const session = new VolunteerSession({
        signalUrl: config.signalUrl,
        hostId,
        computer,
        ...(config.ice ? { ice: config.ice } : {}),
        ...(config.iceUrl ? { iceUrl: config.iceUrl } : {}),
        relay: config.relay,
        store: this.store,
        identity: this.identity,
        chunkFlights: this.flights,
        swarm: { share: upload },
        ...(this.datasets ? { datasetCache: this.datasets } : {}),
        ...(config.checkpointMs ? { checkpointMs: config.checkpointMs } : {}),
        // Recovery must not wait on a hidden page's throttled timers; the worker's keep time.
        timers: computer.clock(),
        lifecycle: document,
      });
      // Told on connecting (and kept in the store, with the key).
      if (this.profile) void session.setProfile(this.profile).catch(() => undefined);
      session.addEventListener('change', () => this.emit());
      session.addEventListener('verdict', (e) => {
        const detail = (e as CustomEvent<VerdictDetail>).detail;
        if (detail.verdict === Verdict.Rejected) this.lastRejection = `${detail.unitId}: ${detail.reason ?? 'no reason given'}`;
        if (detail.counted) this.dispatchEvent(new CustomEvent('accepted', { detail: { ...detail, hostId } }));
      });
      return session;
    });
    // Items computed per second, for the sparkline; sampled whether running or resting.
    let samples = 0;
    this.sampler = setInterval(() => {
      const now = performance.now();
      this.history.record(
        this.sum((x) => x.computed),
        now,
      );
      this.pace.record(
        now,
        this.sum((x) => x.unitsDone),
        this.sum((x) => x.credit),
      );
      // Backends are chosen per kernel as units arrive: ask again now and then.
      if (++samples % 10 === 0) this.describe(computer);
      this.emit();
    }, 1000);
  }

  private describe(computer: ComputeClient): void {
    computer.describe().then(
      (info) => {
        this.engine = info;
        this.emit();
      },
      () => undefined, // the worker was closed meanwhile
    );
  }

  private emit(): void {
    this.dispatchEvent(new Event('change'));
  }
}
