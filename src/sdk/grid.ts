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
import { ErrorCode, TabgridError, throwIfAborted } from '../errors';
import type { HostCore } from '../host/host-core';
import type { AcceptedResult } from '../host/host-options';
import { describeLayout, jobGrid, parseJob, type JobSpec } from '../host/job';
import type { MatrixGrid } from '../kernels/host-kernel';
import { ingestRequest, submitIngested } from '../host/ingest/ingest-node';
import { isJobRequest } from '../host/ingest/request';
import { startHost } from '../host/node-host';
import type { PeerHost } from '../host/peer-host';
import { openHostStore } from '../host/store/open-host-store';
import type { HostStore } from '../host/store/store';
import { exportJob, type ExportReport } from '../host/export/export-job';
import { assembleOutput, type PowUnitSolutions } from '../host/export/export-output';
import { withDatasets } from '../host/export/with-datasets';
import { parseNpy } from '../data/npy';

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

/** A unit accepted by the host, as results() yields it. */
export interface UnitResult extends AcceptedResult {
  readonly jobId: string;
  /** Its index in the job (where its block of C or its digests go). */
  readonly index: number;
}

/**
 * A job's output in memory. `matrix`: C, row-major (shape [rows, cols] for a tiled product,
 * [units, m, n] for independent seeded products); `digests`: 32 bytes a message, in message
 * order; `solutions`: each proof-of-work unit's range and what it found; `none`: the job kept
 * no output. `missing`: units not accepted (or whose output was not kept), zero in C and digests.
 */
export type JobOutputData =
  | { readonly kind: 'matrix'; readonly shape: readonly number[]; readonly data: Float32Array | Uint32Array | Int32Array; readonly missing: readonly string[] }
  | { readonly kind: 'digests'; readonly digests: Uint8Array; readonly missing: readonly string[] }
  | { readonly kind: 'solutions'; readonly units: readonly PowUnitSolutions[]; readonly missing: readonly string[] }
  | { readonly kind: 'none'; readonly note: string; readonly missing: readonly string[] };

export interface JobProgress {
  readonly accepted: number;
  readonly total: number;
}

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
    throwIfAborted(options.signal);
    let spec: JobSpec;
    if (isJobRequest(request)) {
      const ingested = await ingestRequest(request, { hash: this.hash, base: options.base, signal: options.signal });
      throwIfAborted(options.signal);
      spec = await submitIngested(this.core, this.store, ingested);
    } else {
      spec = parseJob(request);
      await this.core.addJob(spec);
    }
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

/**
 * One job on a grid. Emits `progress` (detail: JobProgress) and `result` (detail: UnitResult)
 * as units are accepted.
 */
export class GridJob extends EventTarget {
  private readonly waiters = new Set<() => void>();
  private closed = false;

  /** @internal Grid.job makes jobs. */
  constructor(
    readonly spec: JobSpec,
    private readonly core: HostCore,
    private readonly store: HostStore,
  ) {
    super();
  }

  get id(): string {
    return this.spec.id;
  }

  /** For a tiled product: C's shape and where each unit's block goes; undefined for other jobs. */
  get grid(): MatrixGrid | undefined {
    return jobGrid(this.spec);
  }

  /** The job's layout in words ("C 8192×8192 in 256 units (…)"). */
  get layout(): string {
    return describeLayout(this.spec);
  }

  progress(): JobProgress {
    return { accepted: this.core.results(this.id).length, total: this.spec.units };
  }

  get done(): boolean {
    return this.progress().accepted === this.spec.units;
  }

  /** @internal The grid's host accepted a unit (of any job). */
  accepted(r: AcceptedResult): void {
    const unit = this.unitOf(r.unitId);
    if (!unit) return;
    this.dispatchEvent(new CustomEvent<UnitResult>('result', { detail: unit }));
    this.dispatchEvent(new CustomEvent<JobProgress>('progress', { detail: this.progress() }));
    for (const wake of [...this.waiters]) wake();
  }

  /** @internal */
  close(): void {
    this.closed = true;
    for (const wake of [...this.waiters]) wake();
  }

  private unitOf(unitId: string): UnitResult | undefined {
    const view = this.core.units(this.id).find((u) => u.unitId === unitId);
    const accepted = this.core.results(this.id).find((r) => r.unitId === unitId);
    if (!view || !accepted) return undefined;
    return { ...accepted, jobId: this.id, index: view.index };
  }

  /** Resolves at the next acceptance (or when the grid closes); rejects on abort. */
  private next(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', stop);
        resolve();
      };
      const stop = () => {
        this.waiters.delete(wake);
        reject(signal?.reason instanceof Error ? signal.reason : new TabgridError(ErrorCode.Aborted, 'aborted'));
      };
      if (signal?.aborted) return stop();
      this.waiters.add(wake);
      signal?.addEventListener('abort', stop, { once: true });
    });
  }

  /** Every accepted unit: those accepted already, then each as it is accepted, until all are. */
  async *results(options: { readonly signal?: AbortSignal } = {}): AsyncGenerator<UnitResult> {
    const seen = new Set<string>();
    for (;;) {
      throwIfAborted(options.signal);
      const waiting = this.next(options.signal);
      for (const r of this.core.results(this.id)) {
        if (seen.has(r.unitId)) continue;
        seen.add(r.unitId);
        const unit = this.unitOf(r.unitId);
        if (unit) yield unit;
      }
      if (seen.size >= this.spec.units) {
        waiting.catch(() => undefined);
        return;
      }
      if (this.closed) throw new TabgridError(ErrorCode.Network, `the grid closed before job ${this.id} finished`);
      await waiting;
    }
  }

  /** Resolves when every unit is accepted. */
  async finished(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    for await (const _ of this.results(options));
  }

  /**
   * The job's output once every unit is accepted (`partial: true` takes what there is now):
   * C for a product that keeps its output (dataset jobs do by default), digests for hashing,
   * solutions for proof of work.
   */
  async output(options: { readonly signal?: AbortSignal; readonly partial?: boolean } = {}): Promise<JobOutputData> {
    if (!options.partial) await this.finished(options);
    const units = (await this.store.load()).units.filter((u) => u.jobId === this.id);
    const accepted = new Set(this.core.results(this.id).map((r) => r.unitId));
    const missing = units.filter((u) => !accepted.has(u.unitId)).map((u) => u.unitId);
    const assembled = await withDatasets(this.store, this.spec, () =>
      assembleOutput(this.spec, units, (unitId, root) => this.store.output(unitId, root), options.signal),
    );
    const file = (name: string) => assembled.files.find((f) => f.name === name)?.data;
    const c = file('C.npy');
    if (c) {
      const npy = parseNpy(c, 'C.npy');
      const words = new Uint8Array(npy.data); // a copy, aligned
      const data = npy.dtype === '<f4' ? new Float32Array(words.buffer) : npy.dtype === '<i4' ? new Int32Array(words.buffer) : new Uint32Array(words.buffer);
      return { kind: 'matrix', shape: npy.shape, data, missing: [...missing, ...assembled.unkept] };
    }
    const digests = file('digests.bin');
    if (digests) return { kind: 'digests', digests, missing: [...missing, ...assembled.unkept] };
    const solutions = file('solutions.json');
    if (solutions) return { kind: 'solutions', units: (JSON.parse(new TextDecoder().decode(solutions)) as { units: PowUnitSolutions[] }).units, missing };
    return { kind: 'none', note: assembled.note, missing };
  }

  /** Writes C.npy / digests / solutions and manifest.json to `dir` (see README "Results out"). */
  async export(dir: string, options: { readonly force?: boolean } = {}): Promise<ExportReport> {
    return exportJob(this.store, this.id, dir, options);
  }
}

/** Waits `ms` unless aborted first (for polling callers). */
export const pause = waited;
