import { DutyCycle, type Pace } from '../duty-cycle';
import { ErrorCode, TabgridError, isTabgridError, throwIfAborted } from '../errors';
import { MemoryTuneCache, tuneMatmul, type TuneCache } from '../gpu/autotune';
import { GpuDevices, type AdapterSummary } from '../gpu/device';
import { DEFAULT_MATMUL_CONFIG, MatmulGpu, MatmulKind, type MatmulConfig } from '../gpu/matmul-gpu';
import { Sha256Gpu } from '../gpu/sha256-gpu';
import { Sha256dPowGpu } from '../gpu/sha256d-pow-gpu';
import { createCpuSha256, type Hasher } from '../hash/sha256-cpu';
import type { MatmulShape } from '../kernels/matmul';
import { matmulOperands } from '../kernels/matmul-inputs';
import { seededBatch, sha256BatchCpu, type MessageBatch } from '../kernels/sha256-batch';
import { powSearchCpuFast, sharesToLeaves, targetFromLeadingZeroBits, type PowResult } from '../kernels/sha256d-pow';
import { fromHex } from '../hex';
import { Backend, Kernel, type WorkUnit } from '../protocol';
import { BackendChooser, type Choice } from './backend-choice';
import { runSegments, type ResumeOptions } from './segments';
import { CpuMatmulPool } from './cpu-pool';

export interface EngineInfo {
  /** The backend kernels prefer: webgpu when an adapter exists, else cpu. */
  readonly backend: Backend;
  readonly adapter?: AdapterSummary;
  /** Why the GPU is not used, when it is not. */
  readonly reason?: string;
  /** Per-kernel decisions made so far (software adapters are timed against the CPU). */
  readonly choices?: Record<string, Choice>;
}

/** A batch of SHA-256 digests: count × 32 bytes. */
export interface DigestsOutput {
  readonly digests: Uint8Array;
  readonly backend: Backend;
}

/** A unit's result as Merkle leaves: `leaves` holds them back to back, `leafBytes` each (for
 * proof of work, the shares: 4-byte nonces). */
export interface UnitOutput {
  readonly leaves: Uint8Array;
  readonly leafBytes: number;
  readonly backend: Backend;
}

export type Progress = (done: number, total: number) => void;

export interface KernelOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: Progress;
  /** The throttle (duty-cycle.ts); runUnit passes the engine's own. */
  readonly pace?: Pace;
}

export type WithBackend<T> = T & { readonly backend: Backend };

export interface EngineOptions {
  /** Where WebGPU comes from (tests pass none, or a fake). */
  readonly gpu?: () => GPU | undefined;
  readonly tuneCache?: TuneCache;
  /** CPU workers for the matmul fallback (default: hardwareConcurrency, at most 8). */
  readonly cpuWorkers?: number;
  /** Run every kernel on this backend instead of choosing. */
  readonly backend?: Backend;
}

const CPU_SLICE = 2048;
const CALIBRATION_CONFIG: MatmulConfig = { ...DEFAULT_MATMUL_CONFIG, wgX: 8, wgY: 8, vec4: true };

/** A value made on first use: calibration problems are built only if a kernel is ever timed. */
function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** The small problems a software adapter is timed on against the CPU (see BackendChooser). */
const CALIBRATION = {
  shape: { m: 128, n: 128, k: 128 },
  batch: lazy(() => seededBatch(1, 4096, 64)),
  f32: lazy(() => [new Float32Array(128 * 128).fill(0.5), new Float32Array(128 * 128).fill(0.25)] as const),
  modp: lazy(() => [new Uint32Array(128 * 128).fill(3), new Uint32Array(128 * 128).fill(5)] as const),
  pow: lazy(() => ({ header: new Uint8Array(80), target: targetFromLeadingZeroBits(32), share: targetFromLeadingZeroBits(8) })),
};

/**
 * Runs every kernel on the best backend this context has, decided per kernel (BackendChooser):
 * WebGPU on hardware adapters, the CPU without an adapter, and on software adapters whichever
 * measured faster. A GPU run that loses its device is rerun once on a new device.
 * Lives in the compute worker; tests drive it directly in a page or in Node.
 */
export class ComputeEngine {
  private readonly devices: GpuDevices;
  private readonly sha256: Sha256Gpu;
  private readonly matmul: MatmulGpu;
  private readonly pow: Sha256dPowGpu;
  private readonly chooser: BackendChooser;
  private readonly tuneCache: TuneCache;
  private readonly tuned = new Map<MatmulKind, Promise<MatmulConfig>>();
  private cpuHash?: Promise<Hasher>;
  private cpuPool?: CpuMatmulPool;
  private adapterInfo?: Promise<AdapterSummary | undefined>;
  private noGpuReason?: string;
  /** The volunteer's throttle: applies to units (runUnit), not to calibration or direct kernel calls. */
  private readonly duty = new DutyCycle();

  constructor(private readonly options: EngineOptions = {}) {
    this.devices = new GpuDevices({}, options.gpu);
    this.sha256 = new Sha256Gpu(this.devices);
    this.matmul = new MatmulGpu(this.devices);
    this.pow = new Sha256dPowGpu(this.devices);
    this.tuneCache = options.tuneCache ?? new MemoryTuneCache();
    this.chooser = new BackendChooser(() => this.adapter(), undefined, options.backend);
  }

  async describe(): Promise<EngineInfo> {
    const adapter = await this.adapter();
    const choices = await this.chooser.known();
    if (!adapter) return { backend: Backend.Cpu, reason: this.noGpuReason, choices };
    return { backend: Backend.WebGpu, adapter, choices };
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
    let backend: Backend = Backend.Cpu;
    const options = { ...resume, onProgress };
    const pace = this.duty;
    switch (unit.kernel) {
      case Kernel.Sha256Batch: {
        const leaves = await runSegments(unit.count, options, async (start, end, p) => {
          const out = await this.sha256Batch(seededBatch(unit.seed, end - start, unit.messageLength, start), { signal, onProgress: p, pace });
          backend = out.backend;
          return out.digests;
        });
        return { leaves, leafBytes: 32, backend };
      }
      case Kernel.MatmulF32:
      case Kernel.MatmulModp: {
        const { a, b } = matmulOperands(unit);
        const leaves = await runSegments(unit.m, options, async (start, end, p) => {
          // Rows start..end of C need rows start..end of A only.
          const shape = { m: end - start, n: unit.n, k: unit.k };
          const opts = { signal, onProgress: p, pace };
          const out =
            unit.kernel === Kernel.MatmulF32
              ? await this.matmulF32((a as Float32Array).subarray(start * unit.k, end * unit.k), b as Float32Array, shape, opts)
              : await this.matmulModp((a as Uint32Array).subarray(start * unit.k, end * unit.k), b as Uint32Array, shape, unit.p, opts);
          backend = out.backend;
          // Rows of C are the leaves, little-endian words as the platform (and WebGPU) stores them.
          return new Uint8Array(out.c.buffer, out.c.byteOffset, out.c.byteLength);
        });
        return { leaves, leafBytes: 4 * unit.n, backend };
      }
      case Kernel.Sha256dPow: {
        const bytes = (hex: string) => fromHex(hex) ?? new Uint8Array(0);
        const [header, target, shareTarget] = [bytes(unit.header), bytes(unit.target), bytes(unit.shareTarget)];
        const leaves = await runSegments(unit.nonceCount, options, async (start, end, p) => {
          const out = await this.powSearch(header, unit.nonceStart + start, end - start, target, shareTarget, { signal, onProgress: p, pace });
          if (out.overflowed > 0) throw new TabgridError(ErrorCode.BadInput, `${unit.unitId}: more shares than one result holds`);
          backend = out.backend;
          return sharesToLeaves(out.shares);
        });
        return { leaves, leafBytes: 4, backend };
      }
      default:
        throw new TabgridError(ErrorCode.BadInput, `unknown kernel ${String((unit as { kernel: unknown }).kernel)}`);
    }
  }

  async sha256Batch(batch: MessageBatch, opts: KernelOptions = {}): Promise<DigestsOutput> {
    const choice = await this.chooser.choose(Kernel.Sha256Batch, {
      gpu: () => this.sha256.hash(CALIBRATION.batch()),
      cpu: () => this.sha256Cpu(CALIBRATION.batch(), {}),
    });
    const digests = choice.backend === Backend.WebGpu ? await this.onGpu(() => this.sha256.hash(batch, opts)) : await this.sha256Cpu(batch, opts);
    return { digests, backend: choice.backend };
  }

  async matmulF32(a: Float32Array, b: Float32Array, shape: MatmulShape, opts: KernelOptions = {}): Promise<WithBackend<{ c: Float32Array }>> {
    const { shape: s, f32 } = CALIBRATION;
    const choice = await this.chooser.choose('matmul-f32', {
      // Calibrated with a default tile shape: tuning costs seconds, and only pays if the GPU wins.
      gpu: () => this.matmul.f32(...f32(), s, CALIBRATION_CONFIG),
      cpu: () => this.pool().matmulF32(...f32(), s),
    });
    const c =
      choice.backend === Backend.WebGpu
        ? await this.onGpu(async () => this.matmul.f32(a, b, shape, await this.tuning(MatmulKind.F32), opts))
        : await this.pool().matmulF32(a, b, shape, opts);
    return { c, backend: choice.backend };
  }

  async matmulModp(a: Uint32Array, b: Uint32Array, shape: MatmulShape, p: number, opts: KernelOptions = {}): Promise<WithBackend<{ c: Uint32Array }>> {
    const { shape: s, modp } = CALIBRATION;
    const choice = await this.chooser.choose('matmul-modp', {
      gpu: () => this.matmul.modp(...modp(), s, 65521, DEFAULT_MATMUL_CONFIG),
      cpu: () => this.pool().matmulModp(...modp(), s, 65521),
    });
    const c =
      choice.backend === Backend.WebGpu
        ? await this.onGpu(async () => this.matmul.modp(a, b, shape, p, await this.tuning(MatmulKind.Modp), opts))
        : await this.pool().matmulModp(a, b, shape, p, opts);
    return { c, backend: choice.backend };
  }

  async powSearch(
    header: Uint8Array,
    start: number,
    count: number,
    target: Uint8Array,
    shareTarget: Uint8Array,
    opts: KernelOptions = {},
  ): Promise<WithBackend<PowResult & { overflowed: number }>> {
    const probe = CALIBRATION.pow;
    const choice = await this.chooser.choose('sha256d-pow', {
      gpu: () => this.pow.search(probe().header, 0, 16384, probe().target, probe().share),
      cpu: () => powSearchCpuFast(probe().header, 0, 16384, probe().target, probe().share),
    });
    if (choice.backend === Backend.WebGpu) {
      return { ...(await this.onGpu(() => this.pow.search(header, start, count, target, shareTarget, opts))), backend: choice.backend };
    }
    return { ...(await powSearchCpuFast(header, start, count, target, shareTarget, opts)), overflowed: 0, backend: choice.backend };
  }

  /** Destroys the GPU device (tests use it to simulate a loss). */
  loseDevice(): void {
    this.devices.destroy();
  }

  /** Stops the CPU workers, if any were started. */
  dispose(): void {
    this.cpuPool?.terminate();
    this.cpuPool = undefined;
    this.devices.destroy();
  }

  private adapter(): Promise<AdapterSummary | undefined> {
    this.adapterInfo ??= this.devices.adapter().catch((err: unknown) => {
      this.noGpuReason = err instanceof Error ? err.message : String(err);
      return undefined;
    });
    return this.adapterInfo;
  }

  /** The tile configuration autotuned for this adapter (timed once, then cached). */
  private tuning(kind: MatmulKind): Promise<MatmulConfig> {
    let tuned = this.tuned.get(kind);
    if (!tuned) {
      tuned = this.adapter().then(async (a) => {
        const adapterKey = a ? `${a.vendor}/${a.architecture}/${a.description}` : 'none';
        return (await tuneMatmul(this.matmul, kind, { adapterKey, cache: this.tuneCache })).config;
      });
      tuned.catch(() => this.tuned.delete(kind));
      this.tuned.set(kind, tuned);
    }
    return tuned;
  }

  private pool(): CpuMatmulPool {
    this.cpuPool ??= new CpuMatmulPool(this.options.cpuWorkers === undefined ? {} : { workers: this.options.cpuWorkers });
    return this.cpuPool;
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

  private async sha256Cpu(batch: MessageBatch, opts: KernelOptions): Promise<Uint8Array> {
    this.cpuHash ??= createCpuSha256();
    const hash = await this.cpuHash;
    const count = batch.lengths.length;
    const out = new Uint8Array(count * 32);
    for (let from = 0; from < count; from += CPU_SLICE) {
      throwIfAborted(opts.signal);
      const to = Math.min(count, from + CPU_SLICE);
      const started = performance.now();
      sha256BatchCpu(batch, hash, from, to, out);
      opts.onProgress?.(to, count);
      // Yield so an abort sent to this worker is seen between slices; then rest, when throttled.
      await new Promise((r) => setTimeout(r, 0));
      await opts.pace?.rest(performance.now() - started, opts.signal);
    }
    return out;
  }
}
