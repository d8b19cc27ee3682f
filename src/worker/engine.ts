import { DutyCycle } from '../duty-cycle';
import { ErrorCode, isTabgridError } from '../errors';
import { GpuDevices, type AdapterSummary } from '../gpu/device';
import { MemoryTuneCache, type TuneCache } from '../gpu/tune-cache';
import { leafBytesOf, unitSize } from '../kernels/units';
import { calibrationOf, prepareOf, unitRun } from '../kernels/worker-registry';
import type { KernelContext, Progress } from '../kernels/worker-kernel';
import { shelf } from '../data/shelf';
import { concat } from '../bytes';
import { Backend, MAX_ADAPTER_CHARS, type WorkUnit } from '../protocol';
import { BackendChooser, parseBackend, type Choice } from './backend-choice';
import { runSegments, type ResumeOptions, type UnitInput } from './segments';

export type { KernelOptions, Progress } from '../kernels/worker-kernel';

export interface EngineInfo {
  /** The backend kernels prefer: webgpu when an adapter exists, else cpu. */
  readonly backend: Backend;
  readonly adapter?: AdapterSummary;
  /** Why the GPU is not used, when it is not. */
  readonly reason?: string;
  /** Per-kernel decisions made so far (software adapters are timed against the CPU). */
  readonly choices?: Record<string, Choice>;
  /** The backend every kernel is made to use (EngineOptions.backend, forceBackend), if one is. */
  readonly forced?: Backend;
  /** GPU paths kernels took on this device, and why, per kernel (e.g. matmul-i8's tensor-core path or its demotion); absent until one ran. */
  readonly paths?: Record<string, string>;
}

/** A unit's result as Merkle leaves: `leaves` holds them back to back, `leafBytes` each (for
 * proof of work, the shares: 4-byte nonces). */
export interface UnitOutput {
  readonly leaves: Uint8Array;
  readonly leafBytes: number;
  readonly backend: Backend;
  /** What computed it, in words ("nvidia hopper: NVIDIA H200", "CPU"), for the result's `adapter`. */
  readonly adapter?: string;
  /**
   * The leaves' Merkle leaf hashes (32 bytes each, in order), when every segment computed them on
   * the GPU: the volunteer's tree then hashes only the inner nodes (volunteer/results.ts).
   */
  readonly leafHashes?: Uint8Array;
}

export interface EngineOptions {
  /** Where WebGPU comes from (tests pass none, or a fake). */
  readonly gpu?: () => GPU | undefined;
  readonly tuneCache?: TuneCache;
  /** CPU workers for the matmul fallback (default: hardwareConcurrency, at most 8). */
  readonly cpuWorkers?: number;
  /** Run every kernel on this backend instead of choosing. */
  readonly backend?: Backend;
}

/**
 * Runs every kernel (kernels/worker-registry.ts) on the best backend this context has, decided
 * per kernel (BackendChooser): WebGPU on hardware adapters, the CPU without an adapter, and on
 * software adapters whichever measured faster. A GPU run that loses its device is rerun once on
 * a new device. Lives in the compute worker; tests drive it directly in a page or in Node.
 */
export class ComputeEngine {
  private readonly devices: GpuDevices;
  private chooser: BackendChooser;
  private forced?: Backend;
  private readonly context: KernelContext;
  /** What kernels keep per engine (KernelContext.shared), and how each is disposed. */
  private readonly kept = new Map<string, { value: unknown; dispose?: (value: never) => void }>();
  private adapterInfo?: Promise<AdapterSummary | undefined>;
  private noGpuReason?: string;
  /** The volunteer's throttle: applies to units (runUnit), not to calibration. */
  private readonly duty = new DutyCycle();
  /** What KernelContext.notePath said, per kernel. */
  private readonly paths = new Map<string, string>();

  constructor(options: EngineOptions = {}) {
    this.devices = new GpuDevices({}, options.gpu);
    this.forced = options.backend;
    this.chooser = this.chooserFor(options.backend);
    const tuneCache = options.tuneCache ?? new MemoryTuneCache();
    this.context = {
      devices: this.devices,
      cpuWorkers: options.cpuWorkers,
      tuneCache,
      adapterKey: async () => {
        const a = await this.adapter();
        return a ? `${a.vendor}/${a.architecture}/${a.description}` : 'none';
      },
      notePath: (kernel, path) => this.paths.set(kernel, path),
      shared: <T>(key: string, make: () => T, dispose?: (value: T) => void): T => {
        const kept = this.kept.get(key);
        if (kept) return kept.value as T;
        const value = make();
        this.kept.set(key, { value, dispose });
        return value;
      },
    };
  }

  async describe(): Promise<EngineInfo> {
    const adapter = await this.adapter();
    const choices = await this.chooser.known();
    const forced = this.forced ? { forced: this.forced } : {};
    if (!adapter) return { backend: Backend.Cpu, reason: this.noGpuReason, choices, ...forced };
    const paths = this.paths.size > 0 ? { paths: Object.fromEntries(this.paths) } : {};
    return { backend: this.forced ?? Backend.WebGpu, adapter, choices, ...forced, ...paths };
  }

  /**
   * Makes every kernel run on `backend` from the next segment on (undefined: choose again);
   * the page's `backend` setting arrives this way, since the worker's engine exists before it.
   */
  forceBackend(backend: Backend | undefined): void {
    // Checked again here: the value may come over postMessage from any page.
    backend = parseBackend(backend);
    if (backend === this.forced) return;
    this.forced = backend;
    this.chooser = this.chooserFor(backend);
  }

  /** Share of compute time units may use, 0.1..1 (see duty-cycle.ts); acts within a quarter second. */
  setThrottle(share: number): void {
    this.duty.share = share;
  }

  get throttle(): number {
    return this.duty.share;
  }

  /**
   * Runs a work unit; progress counts leaves (messages, rows of C) or, for proof of work,
   * nonces. With `resume`, it starts at `resume.from` and reports checkpoints between segments
   * (see segments.ts); the output then holds only what this run computed, from `from` on.
   */
  async runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume: ResumeOptions = {}): Promise<UnitOutput> {
    const releases = (resume.inputs ?? []).map((i) => shelf.holdSlice(i.slice, i.data));
    try {
      const run = unitRun(unit, this.context);
      let backend: Backend = Backend.Cpu;
      // Each segment's leaf hashes, while every segment so far has given them.
      let hashes: Uint8Array[] | undefined = [];
      const leaves = await runSegments(unitSize(unit), { ...resume, onProgress }, async (start, end, p) => {
        const choice = await this.chooser.choose(unit.kernel, calibrationOf(unit.kernel, this.context));
        let given: Uint8Array | undefined;
        const options = { signal, onProgress: p, pace: this.duty, onLeafHashes: (h: Uint8Array) => void (given = h) };
        const out = choice.backend === Backend.WebGpu ? await this.onGpu(() => run.gpu(start, end, options)) : await run.cpu(start, end, options);
        backend = choice.backend;
        if (given) hashes?.push(given);
        else hashes = undefined;
        return out;
      });
      const leafBytes = leafBytesOf(unit);
      const leafHashes = hashes && hashes.length > 0 ? concat(hashes) : undefined;
      return {
        leaves,
        leafBytes,
        backend,
        adapter: await this.adapterWords(backend),
        // Only if they cover exactly the leaves returned.
        ...(leafHashes && leafHashes.length === (leaves.length / leafBytes) * 32 ? { leafHashes } : {}),
      };
    } finally {
      for (const release of releases) release();
    }
  }

  /**
   * Puts a unit's inputs on the GPU ahead of its run, while the current unit computes: the
   * session calls it for the next unit it holds, with that unit's verified dataset slices (held
   * on the shelf for the call). Only where the kernel runs on the GPU; a failure here costs
   * nothing but the head start (the run uploads them itself).
   */
  async prepare(unit: WorkUnit, inputs: readonly UnitInput[] = []): Promise<void> {
    const releases = inputs.map((i) => shelf.holdSlice(i.slice, i.data));
    try {
      // Where nothing is decided yet for the kernel, its run decides (a calibration now would time two runs at once).
      const choice = await this.chooser.decided(unit.kernel);
      if (choice?.backend === Backend.WebGpu) await prepareOf(unit, this.context);
    } catch {
      // Only the head start is lost.
    } finally {
      for (const release of releases) release();
    }
  }

  /** What computed a unit on `backend`, in words, for the result's `adapter` (kept and exported by the host). */
  private async adapterWords(backend: Backend): Promise<string> {
    if (backend === Backend.Cpu) return 'CPU';
    const info = await this.adapter();
    const words = info ? [info.vendor, info.architecture, info.description].filter((w) => w !== '').join(' ') : '';
    return `WebGPU${words ? `: ${words}` : ''}${info?.isFallbackAdapter ? ' (software)' : ''}`.slice(0, MAX_ADAPTER_CHARS);
  }

  /** Destroys the GPU device (tests use it to simulate a loss). */
  loseDevice(): void {
    this.devices.destroy();
  }

  /** Stops what kernels started (the CPU workers), and the device. */
  dispose(): void {
    for (const { value, dispose } of this.kept.values()) dispose?.(value as never);
    this.kept.clear();
    this.devices.destroy();
  }

  private chooserFor(forced: Backend | undefined): BackendChooser {
    return new BackendChooser(
      () => this.adapter(),
      undefined,
      forced,
      () => this.noGpuReason,
    );
  }

  private adapter(): Promise<AdapterSummary | undefined> {
    this.adapterInfo ??= this.devices.adapter().catch((err: unknown) => {
      this.noGpuReason = err instanceof Error ? err.message : String(err);
      return undefined;
    });
    return this.adapterInfo;
  }

  /** Runs GPU work; if the device is lost mid-run, reruns it once on a new device. */
  private async onGpu<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!isTabgridError(err, ErrorCode.DeviceLost)) throw err;
      return run();
    }
  }
}
