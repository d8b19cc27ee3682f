import { waited } from '../async';
import { toHex } from '../hex';
import { ErrorCode, isErrorCode, TabgridError } from '../errors';
import type { AcceptedResult } from '../host/host-options';
import type { UnitView, VerdictEvent } from '../host/host-views';
import { parseJob, type JobSpec } from '../host/job';
import type { StoredTrust, StoredVolunteer } from '../host/store/store';
import { volunteerStandings, type TeamStanding } from '../host/standings';
import type { Leaderboard } from './leaderboard';
import { backoffMs } from '../net/backoff';
import type { Link, LinkHandlers } from '../net/link';
import { observerProof } from '../proof/observer-token';
import { JobStatus, PROTOCOL_VERSION, type Receipt } from '../protocol';
import { MAX_OBSERVED_EXPORT_BYTES, type ObservedMessage, type ObserverMessage } from '../protocol/messages';
import { parseObservedMessage } from '../validate';

/** Where the observer is with its host. */
export const WatchStatus = { Connecting: 'connecting', Watching: 'watching', Reconnecting: 'reconnecting', Refused: 'refused' } as const;
export type WatchStatus = (typeof WatchStatus)[keyof typeof WatchStatus];

/** Opens a data connection to the watched host (net/connect.ts connectToHost in a page; an in-memory link in tests). */
export type ConnectObserver = (handlers: LinkHandlers, signal: AbortSignal) => Promise<Link>;

export interface ObserverClientOptions {
  readonly hostId: string;
  readonly token: string;
  readonly connect: ConnectObserver;
  /** New data in `view` (after each snapshot). */
  readonly onUpdate?: () => void;
  /** Each verdict the host committed since the last snapshot, oldest first. */
  readonly onVerdict?: (e: VerdictEvent) => void;
  readonly onStatus?: (status: WatchStatus, text: string) => void;
  /** A request unanswered this long counts the link as lost (default 20 s). */
  readonly requestTimeoutMs?: number;
  readonly random?: () => number;
}

/** A job's export files, as an observer received them. */
export interface ObservedExportFiles {
  /** complete, or partial (units not accepted yet, or without kept output: manifest.json lists them). */
  readonly state: string;
  /** How many units the export lacks. */
  readonly missing: number;
  readonly files: readonly { readonly name: string; readonly data: Uint8Array }[];
}

/** With no visible change, the selected job's units are fetched again at least this often. */
const FULL_REFRESH_MS = 5_000;
/** The largest unit output an observer assembles (a unit's output is at most a few MiB). */
const MAX_OUTPUT_BYTES = 64 << 20;

/** A request as the caller writes it: ask() numbers it. */
type Asked = ObserverMessage extends infer M ? (M extends ObserverMessage ? Omit<M, 'id'> : never) : never;
type Observed<T extends ObservedMessage['type']> = Extract<ObservedMessage, { type: T }>;

interface Pending {
  /** Takes each reply to the request: returns true when it was the last. */
  readonly take: (m: ObservedMessage) => boolean;
  readonly fail: (err: Error) => void;
}

/** What the host showed in its last snapshot, read by the dashboard's panels as it reads a HostCore's views. */
export class WatchedHost {
  private jobList: JobSpec[] = [];
  private accepted = new Map<string, number>();
  private statuses = new Map<string, JobStatus>();
  private unitList: { readonly job: string; readonly units: readonly UnitView[] } = { job: '', units: [] };
  private volunteerList: StoredVolunteer[] = [];
  private teamList: TeamStanding[] = [];
  private at = 0;
  private trust: StoredTrust[] = [];
  private counts = { total: 0, queued: 0, leased: 0, verifying: 0, accepted: 0 };
  private connections = 0;
  /** Jobs the snapshot listed that this page cannot read (another version's kernel): named, not shown. */
  unreadableJobs: string[] = [];
  /** Volunteers the host knows of, all of them (a snapshot lists the top ones). */
  volunteersTotal = 0;

  jobs(): JobSpec[] {
    return [...this.jobList];
  }
  progress() {
    return { ...this.counts };
  }
  units(jobId: string): UnitView[] {
    return this.unitList.job === jobId ? [...this.unitList.units] : [];
  }
  volunteers(): StoredVolunteer[] {
    return [...this.volunteerList];
  }
  /** The snapshot's donors (the top ones, ranked among themselves: they are the leaders) and teams. */
  leaderboard(): Leaderboard {
    return { volunteers: volunteerStandings(this.volunteerList, this.at), teams: [...this.teamList] };
  }
  trustRecords(jobId?: string): StoredTrust[] {
    return this.trust.filter((t) => jobId === undefined || t.jobId === jobId);
  }
  directConnections(): number {
    return this.connections;
  }
  /** Accepted units of a job. */
  acceptedOf(jobId: string): number {
    return this.accepted.get(jobId) ?? 0;
  }
  /** Whether a job leases units, as the host last said. */
  jobStatus(jobId: string): JobStatus | undefined {
    return this.statuses.get(jobId);
  }

  /** @internal The observer client's: a snapshot, and the units of `job` when it fetched them. */
  update(snapshot: Observed<'snapshot'>, units?: { readonly job: string; readonly units: readonly UnitView[] }): void {
    const jobs: JobSpec[] = [];
    this.unreadableJobs = [];
    for (const j of snapshot.jobs) {
      try {
        jobs.push(parseJob({ ...j.spec }));
      } catch {
        this.unreadableJobs.push(typeof j.spec.id === 'string' ? j.spec.id : '?');
      }
    }
    this.jobList = jobs;
    this.accepted = new Map(snapshot.jobs.map((j) => [String(j.spec.id), j.accepted]));
    this.statuses = new Map(snapshot.jobs.map((j) => [String(j.spec.id), j.status ?? JobStatus.Active]));
    this.counts = { ...snapshot.progress };
    this.connections = snapshot.connected;
    // Recent credit comes decayed to the snapshot's time: kept as of then.
    this.volunteerList = snapshot.volunteers.map(({ rac, ...v }) => ({ ...v, ...(rac === undefined ? {} : { rac, racAt: snapshot.at }) }));
    this.teamList = (snapshot.teams ?? []).map((t) => ({ ...t }));
    this.at = snapshot.at;
    this.volunteersTotal = snapshot.volunteersTotal;
    this.trust = snapshot.trust.map((t) => ({ ...t }));
    if (units) this.unitList = units;
  }
}

/**
 * The dashboard's end of the observer protocol (protocol/messages.ts observerMessages): connects
 * to a host, proves the token on the host's nonce (the token never leaves the page), then asks
 * for a snapshot every pollMs and, when something changed (or every FULL_REFRESH_MS), the
 * selected job's units, page by page. One request at a time. A lost link is dialled again with
 * backoff; a refused token is final (retrying cannot help). Read-only by construction: the
 * observer protocol has no message that leases, submits or adds a job.
 */
export class ObserverClient {
  readonly view = new WatchedHost();
  status: WatchStatus = WatchStatus.Connecting;
  statusText = '';
  /** The host's receipt key, from its `observing` answer. */
  publicKey = '';
  private readonly abort = new AbortController();
  private link?: Link;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private chain: Promise<unknown> = Promise.resolve();
  private selected?: string;
  private verdictSeq = 0;
  private lastKey = '';
  private lastFull = 0;
  private pollMs = 500;
  private started = false;

  constructor(private readonly options: ObserverClientOptions) {}

  /** Connects, and keeps connecting after a lost link, until close() or a refusal. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.run();
  }

  close(): void {
    this.abort.abort();
    this.link?.close();
    this.failAll(new TabgridError(ErrorCode.Aborted, 'the observer closed'));
  }

  /** The job whose units and trust records the next snapshots fetch. */
  select(jobId: string | undefined): void {
    if (jobId === this.selected) return;
    this.selected = jobId;
    this.lastKey = '';
  }

  /** A job's accepted results with their receipts, in unit order, read page by page (for a download). */
  async results(jobId: string): Promise<{ accepted: AcceptedResult[]; receipts: Map<string, Receipt> }> {
    const accepted: AcceptedResult[] = [];
    const receipts = new Map<string, Receipt>();
    for (let first = 0, total = 1; first < total;) {
      const page = await this.ask({ type: 'results', job: jobId, first }, one('results'));
      total = page.total;
      if (page.results.length === 0) break;
      for (const r of page.results) {
        const { receipt, ...result } = r;
        accepted.push(result);
        if (receipt) receipts.set(r.unitId, receipt);
      }
      first += page.results.length;
    }
    return { accepted, receipts };
  }

  /** An accepted unit's kept output, as the host's store holds it (each part checked against its digest); undefined when it keeps none. */
  async output(unitId: string): Promise<Uint8Array | undefined> {
    const parts: { readonly data: Uint8Array; readonly sha256: string }[] = [];
    let total = 0;
    let received = 0;
    await this.ask({ type: 'output', unitId }, (m) => {
      if (m.type !== 'output-part' || m.unitId !== unitId) throw unexpected(m, 'output-part');
      if (m.total === 0 || m.data === undefined || m.sha256 === undefined) return { value: undefined };
      if (m.total > MAX_OUTPUT_BYTES) throw new TabgridError(ErrorCode.BadMessage, `output of ${unitId}: ${m.total} bytes exceeds ${MAX_OUTPUT_BYTES}`);
      if ((parts.length > 0 && m.total !== total) || m.offset !== received) {
        throw new TabgridError(ErrorCode.BadMessage, `output of ${unitId}: the part at ${m.offset} of ${m.total} does not follow ${received} of ${total}`);
      }
      total = m.total;
      parts.push({ data: m.data, sha256: m.sha256 });
      received += m.data.length;
      return received === total ? { value: undefined } : undefined;
    });
    if (parts.length === 0) return undefined;
    // The frames check a data message's text, not its body: each part's digest does.
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      if ((await sha256Hex(part.data)) !== part.sha256)
        throw new TabgridError(ErrorCode.BadMessage, `output of ${unitId}: the part at ${at} does not match its sha256`);
      out.set(part.data, at);
      at += part.data.length;
    }
    return out;
  }

  /**
   * Job `jobId`'s export as the host's `npm run host -- --export` writes it (C.npy, digests.bin and
   * digests.npy, solutions.json, manifest.json last), each part checked against its digest.
   */
  async exportFiles(jobId: string): Promise<ObservedExportFiles> {
    let listing: Observed<'export-files'> | undefined;
    const parts: { readonly file: number; readonly offset: number; readonly data: Uint8Array; readonly sha256: string }[] = [];
    const received: number[] = [];
    const allIn = () => listing!.files.every((f, i) => (received[i] ?? 0) === f.bytes);
    await this.ask({ type: 'export', job: jobId }, (m) => {
      if (!listing) {
        if (m.type !== 'export-files' || m.job !== jobId) throw unexpected(m, 'export-files');
        if (m.files.reduce((n, f) => n + f.bytes, 0) > MAX_OBSERVED_EXPORT_BYTES)
          throw new TabgridError(ErrorCode.BadMessage, `the export of ${jobId} is too big`);
        listing = m;
        return allIn() ? { value: undefined } : undefined;
      }
      if (m.type !== 'export-part') throw unexpected(m, 'export-part');
      // Files in order, each in order: the part goes where the first unfinished file stands.
      const file = listing.files.findIndex((f, i) => (received[i] ?? 0) < f.bytes);
      const at = received[m.file] ?? 0;
      if (m.file !== file || m.offset !== at || at + m.data.length > listing.files[file]!.bytes) {
        throw new TabgridError(ErrorCode.BadMessage, `export of ${jobId}: a part of file ${m.file} at ${m.offset} does not follow what came before`);
      }
      parts.push({ file: m.file, offset: m.offset, data: m.data, sha256: m.sha256 });
      received[file] = at + m.data.length;
      return allIn() ? { value: undefined } : undefined;
    });
    const files = listing!.files.map((f) => ({ name: f.name, data: new Uint8Array(f.bytes) }));
    for (const p of parts) {
      if ((await sha256Hex(p.data)) !== p.sha256) {
        throw new TabgridError(ErrorCode.BadMessage, `export of ${jobId}: the part of ${files[p.file]!.name} at ${p.offset} does not match its sha256`);
      }
      files[p.file]!.data.set(p.data, p.offset);
    }
    return { state: listing!.state, missing: listing!.missing, files };
  }

  private setStatus(status: WatchStatus, text: string): void {
    this.status = status;
    this.statusText = text;
    this.options.onStatus?.(status, text);
  }

  private async run(): Promise<void> {
    const { hostId } = this.options;
    const signal = this.abort.signal;
    for (let attempt = 0; !signal.aborted;) {
      let watched = false;
      try {
        await this.session(() => (watched = true));
      } catch (err) {
        if (signal.aborted) return;
        const code = err instanceof TabgridError ? err.code : undefined;
        if (code === ErrorCode.BadToken || code === ErrorCode.ProtocolVersion || err instanceof NotObservable) {
          this.setStatus(WatchStatus.Refused, `Host ${hostId} refused to be watched: ${(err as Error).message}`);
          return;
        }
        if (watched) attempt = 0;
        const delay = backoffMs(++attempt, 500, 10_000, this.options.random);
        this.setStatus(
          WatchStatus.Reconnecting,
          `${watched ? 'Lost the link to' : 'Cannot reach'} host ${hostId} (${(err as Error).message}); trying again in ${Math.ceil(delay / 1000)} s.`,
        );
        if (!(await waited(delay, signal))) return;
      }
    }
  }

  /** One connection: open, prove the token, poll until the link goes (which throws). */
  private async session(watching: () => void): Promise<void> {
    const { hostId, token } = this.options;
    const signal = this.abort.signal;
    if (this.status !== WatchStatus.Reconnecting) this.setStatus(WatchStatus.Connecting, `Connecting to host ${hostId}…`);
    let lost: (err: Error) => void = () => undefined;
    const closed = new Promise<never>((_, reject) => (lost = reject));
    closed.catch(() => undefined);
    const link = await this.options.connect(
      {
        onText: (text, body) => this.receive(text, body),
        onClose: () => {
          if (this.link !== link) return;
          this.link = undefined;
          const err = new TabgridError(ErrorCode.Network, 'the link closed');
          this.failAll(err);
          lost(err);
        },
      },
      signal,
    );
    this.link = link;
    this.chain = Promise.resolve();
    try {
      const challenge = await this.ask({ type: 'observe', protocol: PROTOCOL_VERSION, client: 'tabgrid-dashboard' }, one('observe-challenge')).catch(
        (err: unknown) => {
          // A host that cannot read `observe` takes no observers: dialling again will not change that.
          if (err instanceof TabgridError && err.code === ErrorCode.BadMessage) {
            throw new NotObservable(`it takes no observers (${err.message}): it may be a dashboard's own host, or run another tabgrid version`);
          }
          throw err;
        },
      );
      if (challenge.hostId !== hostId) throw new TabgridError(ErrorCode.BadMessage, `the peer says it is host ${challenge.hostId}, not ${hostId}`);
      const proof = await observerProof(token, hostId, challenge.nonce);
      const ok = await this.ask({ type: 'observe-proof', proof }, one('observing'));
      this.publicKey = ok.publicKey;
      this.pollMs = ok.pollMs;
      this.lastKey = '';
      watching();
      this.setStatus(WatchStatus.Watching, `Watching host ${hostId} (read-only).`);
      for (;;) {
        await Promise.race([this.poll(), closed]);
        await Promise.race([waited(this.pollMs, signal), closed]);
        if (signal.aborted) throw new TabgridError(ErrorCode.Aborted, 'the observer closed');
      }
    } finally {
      if (this.link === link) {
        this.link = undefined;
        link.close();
      }
    }
  }

  /** One snapshot, and the selected job's units when they may have changed. */
  private async poll(): Promise<void> {
    const snapshot = await this.ask({ type: 'snapshot', verdictsAfter: this.verdictSeq, ...(this.selected ? { job: this.selected } : {}) }, one('snapshot'));
    // A restarted host numbers its verdicts from 1 again: take its numbering.
    if (snapshot.verdictSeq < this.verdictSeq) this.verdictSeq = 0;
    for (const v of snapshot.verdicts) {
      if (v.seq <= this.verdictSeq) continue;
      const { seq: _, ...event } = v;
      this.options.onVerdict?.(event);
    }
    this.verdictSeq = Math.max(this.verdictSeq, snapshot.verdictSeq);
    const job = this.selected ?? (typeof snapshot.jobs[0]?.spec.id === 'string' ? snapshot.jobs[0].spec.id : undefined);
    const key = JSON.stringify([snapshot.progress, snapshot.verdictSeq, snapshot.connected, job, snapshot.jobs.length]);
    const now = Date.now();
    let units: { job: string; units: UnitView[] } | undefined;
    if (job !== undefined && (key !== this.lastKey || now - this.lastFull >= FULL_REFRESH_MS)) {
      units = { job, units: await this.unitsOf(job) };
      this.lastKey = key;
      this.lastFull = now;
    }
    this.view.update(snapshot, units);
    this.options.onUpdate?.();
  }

  private async unitsOf(job: string): Promise<UnitView[]> {
    const units: UnitView[] = [];
    for (let first = 0, total = 1; first < total;) {
      const page = await this.ask({ type: 'units', job, first }, one('units'));
      total = page.total;
      if (page.units.length === 0) break;
      units.push(...page.units);
      first += page.units.length;
    }
    return units;
  }

  /** Sends a request (numbered here) after the one before it is answered, and resolves with what `take` makes of its replies. */
  private ask<T>(message: Asked, take: (m: ObservedMessage) => { value: T } | undefined): Promise<T> {
    const run = () =>
      new Promise<T>((resolve, reject) => {
        const link = this.link;
        if (!link) return reject(new TabgridError(ErrorCode.Network, 'not connected'));
        const id = this.nextId++;
        const timeoutMs = this.options.requestTimeoutMs ?? 20_000;
        let timer = setTimeout(() => expire(), timeoutMs);
        const expire = () => {
          this.pending.delete(id);
          reject(new TabgridError(ErrorCode.Network, `no answer to '${message.type}' in ${timeoutMs} ms`));
          link.close();
        };
        const done = () => {
          clearTimeout(timer);
          this.pending.delete(id);
        };
        this.pending.set(id, {
          take: (m) => {
            try {
              const taken = take(m);
              if (!taken) {
                clearTimeout(timer);
                timer = setTimeout(() => expire(), timeoutMs);
                return false;
              }
              done();
              resolve(taken.value);
            } catch (err) {
              done();
              reject(err instanceof Error ? err : new Error(String(err)));
            }
            return true;
          },
          fail: (err) => {
            done();
            reject(err);
          },
        });
        link.send(JSON.stringify({ ...message, id }));
      });
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private receive(text: unknown, body?: Uint8Array): void {
    let m: ObservedMessage;
    try {
      m = parseObservedMessage(text, body);
    } catch (err) {
      // A host that says what cannot be read is broken or not a tabgrid host: drop the link and dial again.
      this.failAll(new TabgridError(ErrorCode.BadMessage, `the host sent a message this page cannot read: ${(err as Error).message}`));
      this.link?.close();
      return;
    }
    if (m.type === 'error') {
      const err = new TabgridError(isErrorCode(m.code) ? m.code : ErrorCode.BadMessage, m.message);
      if (m.id === undefined) return this.failAll(err);
      return this.pending.get(m.id)?.fail(err);
    }
    this.pending.get(m.id)?.take(m);
  }

  private failAll(err: Error): void {
    for (const p of [...this.pending.values()]) p.fail(err);
    this.pending.clear();
  }
}

function sha256Hex(data: Uint8Array): Promise<string> {
  return globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>).then((d) => toHex(new Uint8Array(d)));
}

/** The host answered `observe` as a message it does not know. */
class NotObservable extends TabgridError {
  constructor(message: string) {
    super(ErrorCode.BadMessage, message);
  }
}

/** A request answered by exactly one message of `type`. */
function one<T extends ObservedMessage['type']>(type: T): (m: ObservedMessage) => { value: Observed<T> } {
  return (m) => {
    if (m.type !== type) throw unexpected(m, type);
    return { value: m as Observed<T> };
  };
}

function unexpected(m: ObservedMessage, wanted: string): TabgridError {
  return new TabgridError(ErrorCode.BadMessage, `the host answered '${m.type}' where '${wanted}' was due`);
}
