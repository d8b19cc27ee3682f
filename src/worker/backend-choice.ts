import { ErrorCode, TabgridError } from '../errors';
import { Backend } from '../protocol';
import type { AdapterSummary } from '../gpu/device';
import type { Calibration } from '../kernels/worker-kernel';

export type { Calibration };

/**
 * A forced backend as a page or a command line gives it: webgpu or cpu; empty or absent is
 * none (the engine chooses). Anything else is refused, so a typo never runs silently on the
 * backend the engine would have chosen.
 */
export function parseBackend(value: string | null | undefined): Backend | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (v === Backend.WebGpu || v === Backend.Cpu) return v;
  throw new TabgridError(ErrorCode.BadInput, `backend "${value}" is not one of ${Backend.WebGpu}, ${Backend.Cpu}`);
}

export interface Choice {
  readonly backend: Backend;
  readonly reason: string;
  /** Calibration times (ms) when both backends were timed. */
  readonly gpuMs?: number;
  readonly cpuMs?: number;
}

/**
 * Decides, per kernel, where it runs. No adapter: the CPU. A hardware adapter: the GPU. A
 * software adapter (SwiftShader and the like emulate the GPU on the CPU): whichever is faster
 * on a small problem, timed once and remembered, since emulation wins for some kernels and
 * loses for others.
 */
export class BackendChooser {
  private readonly choices = new Map<string, Promise<Choice>>();

  constructor(
    private readonly adapter: () => Promise<AdapterSummary | undefined>,
    private readonly now: () => number = () => performance.now(),
    /** A backend every kernel must use (a volunteer's setting, or a test's). */
    private readonly forced?: Backend,
    /** Why there is no adapter, for the error a forced WebGPU without one raises. */
    private readonly noAdapterReason?: () => string | undefined,
  ) {}

  choose(kernel: string, calibration: Calibration): Promise<Choice> {
    let choice = this.choices.get(kernel);
    if (!choice) {
      choice = this.decide(calibration);
      // A failed calibration is not remembered; the next call tries again.
      choice.catch(() => this.choices.delete(kernel));
      this.choices.set(kernel, choice);
    }
    return choice;
  }

  /** The choice for `kernel` if one is made or being made, without starting a calibration (which another run would skew). */
  async decided(kernel: string): Promise<Choice | undefined> {
    return this.choices.get(kernel);
  }

  /** Everything decided so far, for the widget and the benchmark report. */
  async known(): Promise<Record<string, Choice>> {
    const out: Record<string, Choice> = {};
    for (const [kernel, choice] of this.choices) out[kernel] = await choice;
    return out;
  }

  private async decide(calibration: Calibration): Promise<Choice> {
    if (this.forced === Backend.Cpu) return { backend: Backend.Cpu, reason: 'CPU chosen in settings' };
    const adapter = await this.adapter();
    if (this.forced === Backend.WebGpu) {
      // Never a silent CPU run: whoever forced WebGPU wants to know it is not there.
      if (!adapter)
        throw new TabgridError(ErrorCode.NoWebGpu, `backend=webgpu was forced, but ${this.noAdapterReason?.() ?? 'no WebGPU adapter is available'}`);
      return { backend: Backend.WebGpu, reason: 'WebGPU chosen in settings' };
    }
    if (!adapter) return { backend: Backend.Cpu, reason: 'no WebGPU adapter' };
    if (!adapter.isFallbackAdapter) return { backend: Backend.WebGpu, reason: 'hardware adapter' };
    const gpuMs = await this.time(calibration.gpu);
    const cpuMs = await this.time(calibration.cpu);
    return gpuMs <= cpuMs
      ? { backend: Backend.WebGpu, reason: 'software adapter, measured faster than the CPU', gpuMs, cpuMs }
      : { backend: Backend.Cpu, reason: 'software adapter, measured slower than the CPU', gpuMs, cpuMs };
  }

  private async time(run: () => Promise<unknown>): Promise<number> {
    await run(); // warm-up: compiles pipelines, instantiates WASM, starts workers
    let best = Infinity;
    for (let i = 0; i < 2; i++) {
      const started = this.now();
      await run();
      best = Math.min(best, this.now() - started);
    }
    return best;
  }
}
