/**
 * The farm's hosts (`--hosts N --db sqlite|postgres|postgres://…`): N host processes
 * (host-child.ts), each with its own PeerJS id, on one store. One process may use SQLite (the
 * default); several need PostgreSQL (docs/MULTI-HOST.md), a throwaway cluster the farm starts
 * (scripts/pg-cluster.ts) unless given a URL. The group stands where the single HostProcess
 * stood: start, kill (SIGKILL, all or one), stop; acceptances announced per unit over every
 * process and incarnation; stats summed over processes (CPU) or read from any live one (the
 * database-wide progress).
 */
import type { TrackerStats } from '../../src/host/swarm-tracker';
import { join } from 'node:path';
import pg from 'pg';
import type { HostSnapshot } from '../../src/host/store/store';
import { jobUnit, unitWork } from '../../src/host/job';
import { PgCluster } from '../pg-cluster';
import { HostProcess, type HostProcessOptions } from './host-process';
import type { HostStats } from './host-stats';
import type { NodeVolunteers } from './node-volunteers';

export const FarmDb = { Sqlite: 'sqlite', Postgres: 'postgres' } as const;
export type FarmDb = (typeof FarmDb)[keyof typeof FarmDb];

export interface HostGroupOptions extends Omit<HostProcessOptions, 'db' | 'hostId'> {
  readonly hosts: number;
  /** sqlite, postgres (a throwaway cluster), or a postgres:// URL of an empty database. */
  readonly db: string;
  /** The farm's temp dir (the SQLite file goes there). */
  readonly dir: string;
  readonly hostId: string;
}

/** Reads --db: sqlite, postgres or a postgres:// URL; several hosts need PostgreSQL. */
export function checkFarmDb(db: string | undefined, hosts: number): string {
  const chosen = db ?? (hosts > 1 ? FarmDb.Postgres : FarmDb.Sqlite);
  const postgres = chosen === FarmDb.Postgres || /^postgres(ql)?:\/\//i.test(chosen);
  if (!postgres && chosen !== FarmDb.Sqlite) throw new Error(`--db ${chosen} must be sqlite, postgres or a postgres:// URL`);
  if (hosts > 1 && !postgres) throw new Error(`--hosts ${hosts} needs --db postgres: several host processes share a PostgreSQL database, not a SQLite file`);
  return chosen;
}

export class HostGroup {
  readonly processes: HostProcess[] = [];
  private cluster?: PgCluster;
  /** The store every process opens: a SQLite file or a PostgreSQL URL (set by start). */
  store = '';
  /** Processes killed for good (killOne): not restarted by start(). */
  private readonly dead = new Set<number>();

  constructor(private readonly options: HostGroupOptions) {}

  /** Every process's PeerJS id, in order. */
  get ids(): string[] {
    const o = this.options;
    return o.hosts === 1 ? [o.hostId] : Array.from({ length: o.hosts }, (_, i) => `${o.hostId}-p${i}`);
  }

  /** Starts every process not killed for good (one after another: the first adds the jobs); the first call makes the store. */
  async start(signal: AbortSignal): Promise<void> {
    const o = this.options;
    if (!this.store) {
      if (o.db === FarmDb.Sqlite) this.store = join(o.dir, 'host.sqlite');
      else if (o.db === FarmDb.Postgres) {
        this.cluster = await PgCluster.start();
        this.store = await this.cluster.createDatabase('farm');
      } else this.store = o.db;
      const ids = this.ids;
      for (const hostId of ids) this.processes.push(new HostProcess({ ...o, db: this.store, hostId }));
    }
    for (const [i, p] of this.processes.entries()) if (!this.dead.has(i)) await p.start(signal);
  }

  /** SIGKILL of every process (the farm's restart-host fault starts them again). */
  async kill(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
  }

  /** SIGKILL of process `i`, for good: its volunteers move on to the others. */
  async killOne(i: number): Promise<void> {
    this.dead.add(i);
    await this.processes[i]!.kill();
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }

  /** Stops the processes and the cluster the group started. */
  async close(): Promise<void> {
    await this.stop().catch(() => undefined);
    if (this.cluster) await this.logDbWork().catch((err: unknown) => this.options.log?.(`postgres: could not read its statistics: ${String(err)}`));
    await this.cluster?.stop();
    this.cluster = undefined;
  }

  /**
   * Logs what the farm's PostgreSQL did: transactions committed in the farm's database (each
   * statement outside a transaction is one: round trips, reads included) and WAL syncs (the
   * durable flushes that group commit shares), for the per-unit figures in docs/MULTI-HOST.md.
   */
  private async logDbWork(): Promise<void> {
    const client = new pg.Client({ connectionString: this.store });
    await client.connect();
    try {
      const [db] = (await client.query<{ commits: string }>('SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()')).rows;
      const [wal] = (await client.query<{ syncs: string }>('SELECT wal_sync AS syncs FROM pg_stat_wal')).rows;
      this.options.log?.(`postgres: ${db?.commits ?? '?'} transactions committed in the farm's database, ${wal?.syncs ?? '?'} WAL syncs`);
    } finally {
      await client.end();
    }
  }

  /** CPU seconds of the PostgreSQL server the group started (undefined for SQLite or a server given by URL). */
  dbCpuSeconds(): number | undefined {
    return this.cluster?.cpuSeconds();
  }

  /** The latest report of a live process (progress is the database's, whichever reports it). */
  get latest(): HostStats | undefined {
    const live = this.processes.filter((_, i) => !this.dead.has(i)).map((p) => p.latest);
    return live.find((s) => s !== undefined) ?? this.processes.map((p) => p.latest).find((s) => s !== undefined);
  }

  /** Acceptances announced per unit over every process and incarnation. */
  get announced(): Map<string, number> {
    const all = new Map<string, number>();
    for (const p of this.processes) for (const [id, n] of p.announced) all.set(id, (all.get(id) ?? 0) + n);
    return all;
  }

  /** Stats summed over the processes: CPU, busy time, bytes served; progress from the latest. */
  total(): HostStats {
    const totals = this.processes.map((p) => p.total());
    const busy: Record<string, number> = {};
    const inputBytesByKey: Record<string, Record<string, number>> = {};
    for (const t of totals) {
      for (const [type, s] of Object.entries(t.busy)) busy[type] = (busy[type] ?? 0) + s;
      for (const [key, roots] of Object.entries(t.inputBytesByKey)) {
        const into = (inputBytesByKey[key] ??= {});
        for (const [root, bytes] of Object.entries(roots)) into[root] = (into[root] ?? 0) + bytes;
      }
    }
    const latest = this.latest;
    return {
      cpuSeconds: totals.reduce((n, t) => n + t.cpuSeconds, 0),
      busy,
      accepted: latest?.accepted ?? 0,
      total: latest?.total ?? 0,
      inputBytes: totals.reduce((n, t) => n + t.inputBytes, 0),
      inputBytesByKey,
      ...mergedSwarm(totals.flatMap((t) => (t.swarm ? [t.swarm] : []))),
    };
  }
}

/** The processes' trackers as one: each process names peers from its own connections, so counts add and exclusions join. */
function mergedSwarm(all: readonly TrackerStats[]): { swarm?: TrackerStats } {
  if (all.length === 0) return {};
  if (all.length === 1) return { swarm: all[0]! };
  const add = (into: Record<string, number>, from: Record<string, number>, join: (a: number, b: number) => number) => {
    for (const [k, v] of Object.entries(from)) into[k] = into[k] === undefined ? v : join(into[k], v);
  };
  const recommendedByKey: Record<string, number> = {};
  const excluded: Record<string, number> = {};
  const reports = { ...all[0]!.reports };
  for (const [i, t] of all.entries()) {
    add(recommendedByKey, t.recommendedByKey, (a, b) => a + b);
    add(excluded, t.excluded, Math.min);
    if (i > 0) add(reports, t.reports, (a, b) => a + b);
  }
  const sum = (f: (t: TrackerStats) => number) => all.reduce((n, t) => n + f(t), 0);
  return {
    swarm: {
      recommended: sum((t) => t.recommended),
      recommendedByKey,
      recommendedAfterExclusion: sum((t) => t.recommendedAfterExclusion),
      excluded,
      reports,
      serving: sum((t) => t.serving),
    },
  };
}

/** The volunteers of a killed process (`killed(i)`), and how many of them had units accepted after the kill (by the others). */
export function movedVolunteers(doneAtKill: readonly number[], nodes: NodeVolunteers, killed: (i: number) => boolean): { of: number; working: number } {
  const theirs = nodes.sessions.map((s, i) => ({ s, i })).filter(({ i }) => killed(i));
  return { of: theirs.length, working: theirs.filter(({ s, i }) => s.unitsDone > (doneAtKill[i] ?? 0)).length };
}

/** What the farm checks of credit, from the store at the end: every accepted unit credited its work, each key its receipts. */
export interface CreditFacts {
  /** Credit on the volunteers' records, summed. */
  credit_granted: number;
  /** Credit the receipts name, summed. */
  credit_in_receipts: number;
  /** Accepted units' work (unitWork), summed once per receipt a unit earned. */
  credit_for_work: number;
  /** Keys whose credit differs from their receipts' sum. */
  volunteers_credit_mismatch: number;
  /** Accepted units without a receipt, receipts for units not accepted, receipts whose credit is not their unit's work. */
  receipts_wrong: number;
}

export function creditFacts(snapshot: HostSnapshot): CreditFacts {
  const specs = new Map(snapshot.jobs.map((j) => [j.id, j.spec]));
  const accepted = new Map(snapshot.units.filter((u) => u.state === 'accepted').map((u) => [u.unitId, u]));
  const byKey = new Map<string, number>();
  const credited = new Set<string>();
  let wrong = 0;
  let forWork = 0;
  for (const r of snapshot.receipts) {
    byKey.set(r.volunteer, (byKey.get(r.volunteer) ?? 0) + r.credit);
    const u = accepted.get(r.unitId);
    const spec = specs.get(r.jobId);
    if (!u || !spec) {
      wrong++;
      continue;
    }
    credited.add(u.unitId);
    const work = unitWork(jobUnit(spec, u.index));
    forWork += work;
    if (Math.abs(work - r.credit) > 1e-9 * Math.max(1, work)) wrong++;
  }
  wrong += [...accepted.keys()].filter((id) => !credited.has(id)).length;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  return {
    credit_granted: snapshot.volunteers.reduce((n, v) => n + v.credit, 0),
    credit_in_receipts: snapshot.receipts.reduce((n, r) => n + r.credit, 0),
    credit_for_work: forWork,
    volunteers_credit_mismatch: snapshot.volunteers.filter((v) => !close(v.credit, byKey.get(v.id) ?? 0)).length,
    receipts_wrong: wrong,
  };
}

/** The credit invariants, in words (empty: they hold). */
export function brokenCredit(c: CreditFacts): string[] {
  const broken: string[] = [];
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  if (!close(c.credit_granted, c.credit_in_receipts)) broken.push(`credit granted ${c.credit_granted} differs from the receipts' ${c.credit_in_receipts}`);
  if (!close(c.credit_in_receipts, c.credit_for_work)) broken.push(`receipts credit ${c.credit_in_receipts}, the accepted work ${c.credit_for_work}`);
  if (c.volunteers_credit_mismatch > 0) broken.push(`${c.volunteers_credit_mismatch} volunteer(s) whose credit is not their receipts' sum`);
  if (c.receipts_wrong > 0) broken.push(`${c.receipts_wrong} receipt(s) missing, for units not accepted, or not their unit's work`);
  return broken;
}
