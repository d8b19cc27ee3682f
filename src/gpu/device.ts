import { ErrorCode, TabgridError } from '../errors';

export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** True for software adapters such as SwiftShader. */
  readonly isFallbackAdapter: boolean;
}

export interface GpuEvents {
  /** The device was lost; the next acquire() makes a new one. */
  onLost?: (reason: string, message: string) => void;
  /** An error escaped every error scope (a bug in our code or the driver's). */
  onUncapturedError?: (message: string) => void;
}

/**
 * Owns the one GPUDevice of a worker: requests it on first use (never at import), hands the same
 * device to every kernel, and requests a new one after a loss. Kernels cache their pipelines per
 * device, so a new device gets new pipelines.
 */
export class GpuDevices {
  private current?: Promise<{ adapter: GPUAdapter; device: GPUDevice }>;
  private lostCount = 0;

  constructor(
    private readonly events: GpuEvents = {},
    private readonly gpu: () => GPU | undefined = () => globalThis.navigator?.gpu,
  ) {}

  /** How many devices have been lost so far. */
  get losses(): number {
    return this.lostCount;
  }

  async acquire(): Promise<GPUDevice> {
    this.current ??= this.request().catch((err: unknown) => {
      this.current = undefined;
      throw err;
    });
    return (await this.current).device;
  }

  async adapter(): Promise<AdapterSummary> {
    await this.acquire();
    const { adapter } = await this.current!;
    const info = adapter.info;
    return {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      isFallbackAdapter: Boolean((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter),
    };
  }

  /** Destroys the device; the next acquire() makes a new one. */
  destroy(): void {
    const pending = this.current;
    this.current = undefined;
    void pending?.then(
      ({ device }) => device.destroy(),
      () => undefined,
    );
  }

  private async request(): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
    const gpu = this.gpu();
    if (!gpu) throw new TabgridError(ErrorCode.NoWebGpu, 'this browser has no WebGPU (navigator.gpu is missing)');
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new TabgridError(ErrorCode.NoWebGpu, 'no WebGPU adapter is available');
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice(deviceRequest(adapter));
    } catch (err) {
      throw new TabgridError(ErrorCode.NoWebGpu, `the adapter refused a device: ${String(err)}`, { cause: err });
    }
    const entry = { adapter, device };
    const current = this.current;
    void device.lost.then((info) => {
      this.lostCount++;
      // Forget the device only if a newer one has not already replaced it.
      if (this.current === current) this.current = undefined;
      this.events.onLost?.(info.reason, info.message);
    });
    device.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      console.error('tabgrid: uncaptured WebGPU error:', message);
      this.events.onUncapturedError?.(message);
    });
    return entry;
  }
}

/** Optional features asked for when the adapter offers them: kernel-time tuning (kernel-timer.ts) uses timestamps. */
export const WANTED_FEATURES: readonly GPUFeatureName[] = ['timestamp-query'];

/** Compute limits raised to what the adapter offers, so big GPUs can run bigger tiles (matmul/tile-space.ts checks each against the device). */
const RAISED_LIMITS = ['maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY'] as const;

/** What a device is requested with: the wanted features the adapter has, and its compute limits. */
export function deviceRequest(adapter: GPUAdapter): GPUDeviceDescriptor {
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  return { requiredFeatures: WANTED_FEATURES.filter((f) => adapter.features.has(f)), requiredLimits };
}

/**
 * Runs `work` inside validation, out-of-memory and internal error scopes and throws a
 * TabgridError if any of them caught something, so no GPU error passes silently.
 */
export async function withErrorScopes<T>(device: GPUDevice, work: () => T): Promise<T> {
  device.pushErrorScope('internal');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  // The scopes are popped whatever happened; a WebGPU error explains more than what it broke.
  const errors = await Promise.all([device.popErrorScope(), device.popErrorScope(), device.popErrorScope()]);
  const first = errors.find((e) => e !== null);
  if (first) throw new TabgridError(ErrorCode.GpuError, `WebGPU error: ${first.message}`, outcome.ok ? undefined : { cause: outcome.error });
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
