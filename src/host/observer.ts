import { ErrorCode, TabgridError } from '../errors';
import { toHex } from '../hex';
import type { Link } from '../net/link';
import { newNonce } from '../proof/key-proof';
import { racAt } from '../proof/recent-credit';
import { verifyObserverProof } from '../proof/observer-token';
import { MAX_ADAPTER_CHARS, MAX_MESSAGE_CHARS, PROTOCOL_VERSION } from '../protocol';
import {
  EXPORT_PART_BYTES,
  MAX_EXPORT_FILES,
  MAX_OBSERVED_EXPORT_BYTES,
  MAX_OBSERVED_ITEMS,
  MAX_OBSERVED_JOBS,
  MAX_OBSERVED_VERDICTS,
  OUTPUT_PART_BYTES,
  type ObservedMessage,
  type ObservedResult,
  type ObservedUnit,
  type ObservedVerdict,
  type ObserverMessage,
} from '../protocol/messages';
import { parseObserverMessage, RefusedMessage } from '../validate';
import type { HostCore, VerdictEvent } from './host-core';

/** What an observer reads of a host: HostCore's read-only views, nothing that leases, judges, adds jobs or signs. */
export type ObservedHost = Pick<
  HostCore,
  | 'publicKey'
  | 'jobs'
  | 'progress'
  | 'units'
  | 'volunteers'
  | 'trustRecords'
  | 'results'
  | 'receipt'
  | 'output'
  | 'directConnections'
  | 'leaderboard'
  | 'jobStatus'
>;

export interface ObserverHostOptions {
  readonly hostId: string;
  /** The secret the host printed at start (proof/observer-token.ts); it never crosses the wire. */
  readonly token: string;
  readonly core: ObservedHost;
  readonly clock?: () => number;
  readonly log?: (line: string) => void;
  /** Observing connections at once (default MAX_OBSERVERS); one more is refused and closed. */
  readonly maxObservers?: number;
  /** A job's export files in memory (host/export/export-job.ts buildExport on the host's store); without it, `export` is refused. */
  /** Builds job `jobId`'s export; `refuse` throws when the planned files are more than an observer takes (call it before building). */
  readonly exportJob?: (jobId: string, refuse: (files: number, bytes: number) => void) => Promise<ObservedExport>;
}

/** What an observer's `export` sends: the files `npm run host -- --export` writes, manifest.json last. */
export interface ObservedExport {
  readonly state: string;
  readonly missing: readonly string[];
  readonly files: readonly { readonly name: string; readonly data: Uint8Array }[];
}

/** How often an observer is told to ask for a snapshot. */
export const OBSERVER_POLL_MS = 500;
/** An observer connection that has not proved the token this long after it opened is closed. */
export const OBSERVE_PROOF_TIMEOUT_MS = 10_000;
export const MAX_OBSERVERS = 8;
/** Requests one observer may have waiting; more are refused (busy), so a flood queues nothing. */
export const MAX_OBSERVER_BACKLOG = 4;
/** A refused connection is closed this long after its error is sent, so the error reaches it first (a link sends in order, but closes at once). */
export const CLOSE_AFTER_ERROR_MS = 1000;
/** Room left in a message for everything but a page's items. */
const PAGE_CHARS = MAX_MESSAGE_CHARS - 8 * 1024;

const Stage = { Opened: 'opened', Challenged: 'challenged', Observing: 'observing' } as const;
type Stage = (typeof Stage)[keyof typeof Stage];

interface Session {
  readonly link: Link;
  readonly openedAt: number;
  stage: Stage;
  /** The nonce observe-challenge carried, awaiting its proof: one try. */
  nonce?: string;
  backlog: number;
  queue: Promise<void>;
}

type Request<T extends ObserverMessage['type']> = Extract<ObserverMessage, { type: T }>;

/**
 * The host's side of the observer protocol (protocol/messages.ts observerMessages): read-only
 * watchers of this host, each on a connection of its own that the shell routes here by its
 * first message (`observe`, see isObserverOpening). A connection must prove the token on the
 * nonce it is given, once: a wrong proof, a request before the proof, or silence for
 * OBSERVE_PROOF_TIMEOUT_MS closes it. An observing connection asks for snapshots, unit and
 * result pages and kept outputs, answered from HostCore's views (copies), one request at a time;
 * nothing it says reaches the volunteer protocol. Per-connection state goes when it closes.
 */
export class ObserverHost {
  private readonly sessions = new Map<string, Session>();
  private readonly clock: () => number;
  private readonly verdicts: ObservedVerdict[] = [];
  /** An export is being assembled (one at a time, host-wide: each holds the job's whole output in memory). */
  private exporting = false;
  private verdictSeq = 0;

  constructor(private readonly options: ObserverHostOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Connections open now, proved or not (bounded: observing ones by maxObservers, the others by the proof timeout). */
  get size(): number {
    return this.sessions.size;
  }

  /** Connections that have proved the token. */
  observing(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.stage === Stage.Observing) n++;
    return n;
  }

  /** A verdict the host committed (HostCoreOptions.onVerdict): kept, the last MAX_OBSERVED_VERDICTS, for snapshots. */
  recordVerdict(e: VerdictEvent): void {
    this.verdicts.push({ seq: ++this.verdictSeq, ...e, reason: e.reason.slice(0, 512) });
    if (this.verdicts.length > MAX_OBSERVED_VERDICTS) this.verdicts.shift();
  }

  /** Takes connection `name` (its first message was `observe`): its messages go to handle(), and close() forgets it. */
  open(name: string, link: Link): void {
    this.sessions.get(name)?.link.close();
    this.sessions.set(name, { link, openedAt: this.clock(), stage: Stage.Opened, backlog: 0, queue: Promise.resolve() });
  }

  /** The connection closed: its state goes. */
  close(name: string): void {
    this.sessions.delete(name);
  }

  /** Closes the connections that have not proved the token in time; the shell calls this every second. */
  sweep(): void {
    const now = this.clock();
    for (const [name, s] of [...this.sessions]) {
      if (s.stage !== Stage.Observing && now - s.openedAt >= OBSERVE_PROOF_TIMEOUT_MS) {
        this.options.log?.(`closing observer ${name}: no token proved in time`);
        this.send(s, { type: 'error', code: ErrorCode.BadMessage, message: `no observer token proved within ${OBSERVE_PROOF_TIMEOUT_MS} ms` });
        this.drop(name, s);
      }
    }
  }

  /** Handles one raw message (with its body, had it one: refused) from observer connection `name`; resolves once its replies are sent. */
  handle(name: string, raw: unknown, body?: Uint8Array): Promise<void> {
    const s = this.sessions.get(name);
    if (!s) return Promise.resolve();
    if (s.backlog >= MAX_OBSERVER_BACKLOG) {
      this.send(s, { type: 'error', code: ErrorCode.Busy, message: `more than ${MAX_OBSERVER_BACKLOG} requests waiting: wait for the answers` });
      return Promise.resolve();
    }
    s.backlog++;
    s.queue = s.queue
      .then(() => this.serve(name, s, raw, body))
      .finally(() => {
        s.backlog--;
      });
    return s.queue;
  }

  private async serve(name: string, s: Session, raw: unknown, body: Uint8Array | undefined): Promise<void> {
    if (this.sessions.get(name) !== s) return; // closed while this waited
    let message: ObserverMessage | undefined;
    try {
      message = parseObserverMessage(raw, body);
      for (const reply of await this.answer(s, message)) this.send(s, reply);
    } catch (err) {
      const code = err instanceof TabgridError ? err.code : ErrorCode.BadMessage;
      const id = message?.id ?? (err instanceof RefusedMessage ? (err.requestId ?? requestIdOf(raw)) : undefined);
      const text = err instanceof Error ? err.message : String(err);
      this.send(s, id === undefined ? { type: 'error', code, message: text.slice(0, 1024) } : { type: 'error', code, message: text.slice(0, 1024), id });
      // Until the token is proved a connection gets one try: anything wrong ends it.
      if (s.stage !== Stage.Observing) {
        this.options.log?.(`closing observer ${name}: [${code}] ${text}`);
        this.drop(name, s);
      }
    }
  }

  private async answer(s: Session, m: ObserverMessage): Promise<ObservedMessage[]> {
    switch (m.type) {
      case 'observe':
        return [this.observe(s, m)];
      case 'observe-proof':
        return [await this.prove(s, m)];
      case 'snapshot':
        return [this.snapshot(this.observer(s, m), m)];
      case 'units':
        return [this.units(this.observer(s, m), m)];
      case 'results':
        return [this.results(this.observer(s, m), m)];
      case 'output':
        return this.output(this.observer(s, m), m);
      case 'export':
        return this.export(this.observer(s, m), m);
    }
  }

  private observe(s: Session, m: Request<'observe'>): ObservedMessage {
    if (s.stage !== Stage.Opened) throw new TabgridError(ErrorCode.BadMessage, `'observe' twice on one connection`);
    if (m.protocol !== PROTOCOL_VERSION) throw new TabgridError(ErrorCode.ProtocolVersion, `host speaks protocol ${PROTOCOL_VERSION}, observer ${m.protocol}`);
    s.stage = Stage.Challenged;
    s.nonce = newNonce();
    return { type: 'observe-challenge', id: m.id, hostId: this.options.hostId, nonce: s.nonce };
  }

  private async prove(s: Session, m: Request<'observe-proof'>): Promise<ObservedMessage> {
    const nonce = s.nonce;
    if (s.stage !== Stage.Challenged || nonce === undefined) throw new TabgridError(ErrorCode.BadMessage, `'observe-proof' before 'observe' (or twice)`);
    s.nonce = undefined;
    if (!(await verifyObserverProof(this.options.token, this.options.hostId, nonce, m.proof))) {
      throw new TabgridError(ErrorCode.BadToken, `wrong observer token for host ${this.options.hostId}: use the token the host printed at start`);
    }
    const max = this.options.maxObservers ?? MAX_OBSERVERS;
    if (this.observing() >= max) throw new TabgridError(ErrorCode.Busy, `host ${this.options.hostId} already has ${max} observers; try again later`);
    s.stage = Stage.Observing;
    return {
      type: 'observing',
      id: m.id,
      protocol: PROTOCOL_VERSION,
      hostId: this.options.hostId,
      publicKey: this.options.core.publicKey,
      pollMs: OBSERVER_POLL_MS,
    };
  }

  /** Requests past the proof only. */
  private observer(s: Session, m: ObserverMessage): Session {
    if (s.stage !== Stage.Observing) throw new TabgridError(ErrorCode.BadMessage, `'${m.type}' before 'observe' and 'observe-proof'`);
    return s;
  }

  private snapshot(_: Session, m: Request<'snapshot'>): ObservedMessage {
    const core = this.options.core;
    let budget = PAGE_CHARS;
    const verdicts = this.verdicts.filter((v) => v.seq > m.verdictsAfter);
    budget -= JSON.stringify(verdicts).length;
    const all = core.jobs();
    const jobs = fit(Math.min(all.length, MAX_OBSERVED_JOBS), 0, budget / 2, (i) => ({
      spec: all[i]! as unknown as Record<string, unknown>,
      accepted: core.results(all[i]!.id).length,
      status: core.jobStatus(all[i]!.id),
    }));
    budget -= JSON.stringify(jobs).length;
    const now = this.clock();
    const everyone = core.volunteers().sort((a, b) => b.credit - a.credit || a.id.localeCompare(b.id));
    const trustOf = new Map(m.job === undefined ? [] : core.trustRecords(m.job).map((t) => [t.key, t]));
    // A volunteer and its trust record go together, so both count against the budget.
    // Most of what is left for the donors; the rest for the teams.
    const pairs = fit(everyone.length, 0, budget * 0.8, (i) => {
      const v = everyone[i]!;
      return {
        v: {
          id: v.id,
          credit: v.credit,
          accepted: v.accepted,
          rejected: v.rejected,
          ...(v.name === undefined ? {} : { name: v.name }),
          ...(v.team === undefined ? {} : { team: v.team }),
          ...(v.lastSeen === undefined ? {} : { lastSeen: v.lastSeen }),
          ...(v.rac === undefined ? {} : { rac: Math.round(racAt({ rac: v.rac, at: v.racAt ?? 0 }, now)) }),
        },
        t: trustOf.get(v.id),
      };
    });
    budget -= JSON.stringify(pairs).length;
    const allTeams = core.leaderboard().teams;
    const teams = fit(allTeams.length, 0, budget, (i) => {
      const t = allTeams[i]!;
      return { ...t, rac: Math.round(t.rac) };
    });
    const p = core.progress();
    return {
      type: 'snapshot',
      id: m.id,
      at: this.clock(),
      connected: core.directConnections(),
      progress: { total: p.total, queued: p.queued, leased: p.leased, verifying: p.verifying, accepted: p.accepted },
      jobs,
      volunteers: pairs.map((x) => x.v),
      volunteersTotal: everyone.length,
      teams,
      trust: pairs.flatMap((x) =>
        x.t ? [{ jobId: x.t.jobId, key: x.t.key, streak: x.t.streak, valid: x.t.valid, invalid: x.t.invalid, banned: x.t.banned }] : [],
      ),
      verdicts,
      verdictSeq: this.verdictSeq,
    };
  }

  private units(_: Session, m: Request<'units'>): ObservedMessage {
    const all = this.options.core.units(m.job);
    const units = fit(all.length, m.first, PAGE_CHARS, (i): ObservedUnit => {
      const u = all[i]!;
      return {
        unitId: u.unitId,
        index: u.index,
        state: u.state,
        holder: u.holder,
        progress: u.progress,
        root: u.root,
        rejections: u.rejections,
        acceptedAt: u.acceptedAt,
        ...(u.backend === undefined ? {} : { backend: u.backend }),
        ...(u.adapter === undefined ? {} : { adapter: u.adapter.slice(0, MAX_ADAPTER_CHARS) }),
      };
    });
    return { type: 'units', id: m.id, job: m.job, first: m.first, total: all.length, units };
  }

  private results(_: Session, m: Request<'results'>): ObservedMessage {
    const core = this.options.core;
    const all = core.results(m.job);
    const results = fit(all.length, m.first, PAGE_CHARS, (i): ObservedResult => {
      const r = all[i]!;
      const receipt = core.receipt(r.unitId);
      return {
        unitId: r.unitId,
        volunteer: r.volunteer,
        root: r.root,
        ...(r.solutions ? { solutions: [...r.solutions] } : {}),
        ...(r.backend === undefined ? {} : { backend: r.backend }),
        ...(r.adapter === undefined ? {} : { adapter: r.adapter.slice(0, MAX_ADAPTER_CHARS) }),
        ...(receipt ? { receipt: { ...receipt } } : {}),
      };
    });
    return { type: 'results', id: m.id, job: m.job, first: m.first, total: all.length, results };
  }

  private async output(_: Session, m: Request<'output'>): Promise<ObservedMessage[]> {
    const data = await this.options.core.output(m.unitId);
    if (!data || data.length === 0) return [{ type: 'output-part', id: m.id, unitId: m.unitId, offset: 0, total: 0 }];
    const parts: ObservedMessage[] = [];
    for (let offset = 0; offset < data.length; offset += OUTPUT_PART_BYTES) {
      const part = data.slice(offset, offset + OUTPUT_PART_BYTES);
      const sha256 = await sha256Hex(part);
      parts.push({ type: 'output-part', id: m.id, unitId: m.unitId, offset, total: data.length, sha256, data: part });
    }
    return parts;
  }

  private async export(_: Session, m: Request<'export'>): Promise<ObservedMessage[]> {
    const build = this.options.exportJob;
    if (!build) throw new TabgridError(ErrorCode.BadInput, `host ${this.options.hostId} offers no export to observers`);
    if (this.exporting) throw new TabgridError(ErrorCode.Busy, 'another export is being assembled; try again when it is done');
    this.exporting = true;
    const refuse = (files: number, bytes: number) => {
      if (bytes <= MAX_OBSERVED_EXPORT_BYTES && files <= MAX_EXPORT_FILES) return;
      throw new TabgridError(
        ErrorCode.BadInput,
        `job ${m.job}'s export (${files} files, ${bytes} bytes) is more than an observer takes (${MAX_EXPORT_FILES} files, ${MAX_OBSERVED_EXPORT_BYTES} bytes): export it on the host (npm run host -- --export)`,
      );
    };
    let built: ObservedExport;
    try {
      built = await build(m.job, refuse);
    } finally {
      this.exporting = false;
    }
    // Again once built: the manifest's size was not known before.
    refuse(
      built.files.length,
      built.files.reduce((n, f) => n + f.data.length, 0),
    );
    const replies: ObservedMessage[] = [
      {
        type: 'export-files',
        id: m.id,
        job: m.job,
        state: built.state,
        missing: built.missing.length,
        files: built.files.map((f) => ({ name: f.name, bytes: f.data.length })),
      },
    ];
    for (const [file, f] of built.files.entries()) {
      for (let offset = 0; offset < f.data.length; offset += EXPORT_PART_BYTES) {
        const data = f.data.subarray(offset, offset + EXPORT_PART_BYTES);
        replies.push({ type: 'export-part', id: m.id, file, offset, sha256: await sha256Hex(data), data });
      }
    }
    return replies;
  }

  /** A message on the link: an output part's bytes as a data message's body (neither hex nor base64), anything else as a text. */
  private send(s: Session, message: ObservedMessage): void {
    if ((message.type === 'output-part' || message.type === 'export-part') && message.data !== undefined) {
      const { data, ...meta } = message;
      s.link.sendData(JSON.stringify(meta), data);
    } else s.link.send(JSON.stringify(message));
  }

  /** Forgets the connection now (what it says next is ignored) and closes it once its last answer has left. */
  private drop(name: string, s: Session): void {
    this.sessions.delete(name);
    setTimeout(() => s.link.close(), CLOSE_AFTER_ERROR_MS);
  }
}

/**
 * Whether a connection's first message opens an observer connection: the shell routes the
 * connection by it (`observe` to the ObserverHost, anything else to HostCore), so this only
 * peeks at the type; the ObserverHost parses the message in full.
 */
export function isObserverOpening(raw: unknown): boolean {
  if (typeof raw !== 'string' || raw.length > MAX_MESSAGE_CHARS) return false;
  try {
    const m: unknown = JSON.parse(raw);
    return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'observe';
  } catch {
    return false;
  }
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>)));
}

/** The id of a request the validator refused for its type (an unknown one): the error still names it, so the observer fails that request alone. */
function requestIdOf(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_MESSAGE_CHARS) return undefined;
  try {
    const id = (JSON.parse(raw) as { id?: unknown } | null)?.id;
    return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Items `first`, `first` + 1, … of `count` (made by `at`, only those sent), as many as fit
 * `budget` characters of JSON and MAX_OBSERVED_ITEMS (at least one, when there is one).
 */
function fit<T>(count: number, first: number, budget: number, at: (i: number) => T): T[] {
  const out: T[] = [];
  let used = 2;
  for (let i = first; i < count && out.length < MAX_OBSERVED_ITEMS; i++) {
    const item = at(i);
    used += JSON.stringify(item).length + 1;
    if (used > budget && out.length > 0) break;
    out.push(item);
  }
  return out;
}
