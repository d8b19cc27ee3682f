/**
 * A submitted job as a researcher holds it, in Node (grid.ts) and in a page (page-grid.ts):
 * progress events, its accepted units as an async iterator, and its output assembled from the
 * host's store (export-output.ts). Page-safe: writing files is Node's GridJob.export.
 */
import { ErrorCode, TabgridError, throwIfAborted } from '../errors';
import type { HostCore } from '../host/host-core';
import type { AcceptedResult } from '../host/host-options';
import { describeLayout, jobGrid, type JobSpec } from '../host/job';
import type { MatrixGrid } from '../kernels/host-kernel';
import { StoredUnitState, type HostStore } from '../host/store/store';
import { assembleOutput, type PowUnitSolutions } from '../host/export/export-output';
import { withDatasets } from '../host/export/with-datasets';
import { parseNpy } from '../data/npy';

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

/**
 * One job on a host. Emits `progress` (detail: JobProgress) and `result` (detail: UnitResult)
 * as units are accepted (the host's owner calls `accepted` for each acceptance).
 */
export class JobHandle extends EventTarget {
  private readonly waiters = new Set<() => void>();
  private closed = false;

  /** @internal Grid.job and submitToPageHost make jobs; `release` runs once when the job is closed (stops its acceptance feed). */
  constructor(
    readonly spec: JobSpec,
    protected readonly core: HostCore,
    protected readonly store: HostStore,
    private readonly release?: () => void,
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

  /** Stops following the host: a results() still waiting ends with an error. */
  close(): void {
    if (!this.closed) this.release?.();
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
      if (this.closed) throw new TabgridError(ErrorCode.Network, `job ${this.id} was closed (or its host stopped) before it finished`);
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
    // Missing as the same read says, which C is filled from (memory may count a unit whose commit is still on its way).
    const missing = units.filter((u) => u.state !== StoredUnitState.Accepted).map((u) => u.unitId);
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
}
