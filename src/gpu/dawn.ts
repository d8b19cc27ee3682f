/**
 * WebGPU in Node from Dawn (Chrome's implementation; the optional `webgpu` npm package), for the
 * Node volunteer and the Node benchmark. Node-only (eslint.config.js lists it). It hands the
 * project's GPU code a `GPU` exactly as a page's `navigator.gpu` is handed to it: through
 * GpuDevices' `gpu` source (device.ts), so kernels, pipelines, tuning and the engine run unchanged.
 *
 * Dawn finds Vulkan through the system's loader. On a machine without a GPU, Mesa 25's lavapipe
 * (scripts/lavapipe.sh) is one: its variables (LD_LIBRARY_PATH, VK_ICD_FILENAMES) must be set
 * before the process starts, since the dynamic loader reads LD_LIBRARY_PATH only then.
 */
import { ErrorCode, TabgridError } from '../errors';
import { GpuDevices, type GpuEvents } from './device';

/** Dawn's own switches (`--dawn-flag` on the command line), e.g. `enable-dawn-features=allow_unsafe_apis`. */
export type DawnFlags = readonly string[];

export interface DawnGpu {
  /** The `navigator.gpu` of this process. */
  readonly gpu: GPU;
  readonly flags: DawnFlags;
}

interface WebGpuModule {
  create(flags: string[]): GPU;
  globals: object;
}

let loaded: Promise<WebGpuModule> | undefined;

/**
 * Loads Dawn (once per process) and makes a GPU with `flags`. Dawn's classes and constants
 * (GPUBufferUsage, GPUMapMode…) become globals, as they are in a page; a global `navigator.gpu`
 * is not set, so nothing reaches the GPU but through what this returns.
 */
export async function openDawn(flags: DawnFlags = []): Promise<DawnGpu> {
  loaded ??= import('webgpu').then(
    (m: WebGpuModule) => m,
    (err: unknown) => {
      loaded = undefined;
      throw new TabgridError(
        ErrorCode.NoWebGpu,
        `Dawn did not load: the optional package webgpu (0.6.2) is missing or its dawn.node does not run here (${err instanceof Error ? err.message : String(err)}); reinstall with optional dependencies, or use --gpu none`,
        { cause: err },
      );
    },
  );
  const dawn = await loaded;
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  return { gpu: dawn.create([...flags]), flags };
}

/** GpuDevices on Dawn: the same device handling as a page's, on this process's GPU. */
export async function dawnDevices(flags: DawnFlags = [], events: GpuEvents = {}): Promise<GpuDevices> {
  const { gpu } = await openDawn(flags);
  return new GpuDevices(events, () => gpu);
}

/** True for adapters that run on the CPU (lavapipe, llvmpipe, SwiftShader): their timings are CPU figures. */
export function isSoftwareAdapter(info: { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean }): boolean {
  return info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
}
