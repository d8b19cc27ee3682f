/**
 * The researcher's SDK in Node: a grid is a job host on a signaling server, in this process,
 * keeping its state in a store (SQLite for anything that must survive a restart). Submit a job
 * with your own inputs, watch its units come in, take its output:
 *
 *   const grid = await openGrid({ signalUrl, store: 'grid.db' });
 *   const job = await grid.submit({ kernel: 'matmul-f32', a: 'A.npy', b: 'B.npy' });
 *   for await (const unit of job.results()) console.log(unit.unitId, unit.volunteer);
 *   const c = await job.output(); // C, assembled from the accepted units
 *
 * Volunteers reach it as they reach any tabgrid host: pages with the widget pointed at its
 * signaling server and id. Every long call takes an AbortSignal.
 */
import { waited } from '../async';
import { createCpuSha256, type Hasher } from '../hash/sha256-cpu';
import { ErrorCode, TabgridError } from '../errors';
import type { HostCore } from '../host/host-core';
import { submitJob } from '../host/ingest/ingest';
import { diskPaths } from '../host/ingest/ingest-node';
import { startHost } from '../host/node-host';
import type { PeerHost } from '../host/peer-host';
import { openHostStore } from '../host/store/open-host-store';
import type { HostStore } from '../host/store/store';
import { exportJob, type ExportReport } from '../host/export/export-job';
import { JobHandle } from './job';

export interface GridOptions {
  /** The signaling server volunteers find the host on (ws://…). */
  readonly signalUrl: string;
  /** The host's id on it (default: a fresh random one). */
  readonly hostId?: string;
  /** Where the host keeps jobs, datasets, results and its key: a store spec (a SQLite path, or 'memory', the default). */
  readonly store?: string;
  readonly leaseMs?: number;
  readonly log?: (line: string) => void;
}

export type { JobOutputData, JobProgress, UnitResult } from './job';

export async function openGrid(options: GridOptions): Promise<Grid> {
  const store = await openHostStore(options.store);
  try {
    const jobs = new Map<string, GridJob>();
    const { core, host } = await startHost({
      jobs: [],
      store,
      signalUrl: options.signalUrl,
      hostId: options.hostId ?? `tabgrid-${crypto.randomUUID()}`,
      leaseMs: options.leaseMs,
      log: options.log,
      onAccepted: (r) => {
        for (const job of jobs.values()) job.accepted(r);
      },
    });
    return new Grid(core, host, store, await createCpuSha256(), jobs);
  } catch (err) {
    await store.close();
    throw err;
  }
}

export class Grid {
  /** @internal openGrid makes grids. */
  constructor(
    private readonly core: HostCore,
    private readonly host: PeerHost,
    private readonly store: HostStore,
    private readonly hash: Hasher,
    private readonly jobs: Map<string, GridJob>,
  ) {}

  /** The id volunteers connect to. */
  get hostId(): string {
    return this.host.id;
  }

  /** The key the host signs receipts with. */
  get publicKey(): string {
    return this.core.publicKey;
  }

  /**
   * Submits a job: a request with your inputs (files by path, relative to `base`, or bytes;
   * see README "Your own data"), or a seeded job spec. Reads and checks every input before it
   * stores anything; resolves once the job and its datasets are committed. Submitting the same
   * job again returns the job already there.
   */
  async submit(request: unknown, options: { readonly signal?: AbortSignal; readonly base?: string } = {}): Promise<GridJob> {
    const spec = await submitJob(this.core, this.store, request, { hash: this.hash, signal: options.signal, paths: diskPaths(options.base) });
    return this.job(spec.id);
  }

  /** A job this grid's host serves (submitted now, or before a restart on the same store). */
  job(id: string): GridJob {
    let job = this.jobs.get(id);
    if (!job) {
      const spec = this.core.jobs().find((s) => s.id === id);
      if (!spec) throw new TabgridError(ErrorCode.BadInput, `no job ${id} on this grid`);
      job = new GridJob(spec, this.core, this.store);
      this.jobs.set(id, job);
    }
    return job;
  }

  /** Stops serving (volunteers' links close) and closes the store; what was committed stays in it. */
  async close(): Promise<void> {
    for (const job of this.jobs.values()) job.close();
    this.host.close();
    await this.store.close();
  }
}

/** One job on a grid: a JobHandle that can also write its export files. */
export class GridJob extends JobHandle {
  /** Writes C.npy / digests / solutions and manifest.json to `dir` (see README "Results out"). */
  async export(dir: string, options: { readonly force?: boolean } = {}): Promise<ExportReport> {
    return exportJob(this.store, this.id, dir, options);
  }
}

/** Waits `ms` unless aborted first (for polling callers). */
export const pause = waited;
