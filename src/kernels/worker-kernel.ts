import type { Pace } from '../duty-cycle';
import type { GpuDevices } from '../gpu/device';
import type { TuneCache } from '../gpu/tune-cache';
import type { WorkUnit } from './units';

/** How the engine times a kernel on each backend once, to choose where it runs on a software adapter. */
export interface Calibration {
  /** Runs the kernel once on a small problem on each backend (after a warm-up each). */
  readonly gpu: () => Promise<unknown>;
  readonly cpu: () => Promise<unknown>;
}

export type Progress = (done: number, total: number) => void;

export interface KernelOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: Progress;
  /** The throttle (duty-cycle.ts), applied between dispatches or slices. */
  readonly pace?: Pace;
  /**
   * Where a GPU run that hashed its leaves where they were computed (gpu/merkle-leaves.ts) hands
   * those hashes over: 32 bytes per leaf of the run, in order. A kernel that did not says nothing.
   */
  readonly onLeafHashes?: (hashes: Uint8Array) => void;
}

/** What the compute engine lends its kernels: one per engine. */
export interface KernelContext {
  /** The GPU device, requested on first use, replaced after a loss. */
  readonly devices: GpuDevices;
  /** CPU workers for kernels that run on a pool (undefined: the pool's own default). */
  readonly cpuWorkers?: number;
  /** Where tuned tile shapes are kept, per adapter. */
  readonly tuneCache: TuneCache;
  /** Names the adapter for the tune cache ('none' without one). */
  adapterKey(): Promise<string>;
  /**
   * One value per engine under `key`, made on first use and disposed with the engine: what a
   * kernel keeps between units (its GPU runner), or kernels share (the matmul CPU pool).
   */
  shared<T>(key: string, make: () => T, dispose?: (value: T) => void): T;
  /** Says which GPU path a kernel took on this device and why (e.g. a tensor-core path demoted), for the engine's describe(). */
  notePath?(kernel: string, path: string): void;
}

/**
 * A unit's computation on either backend: leaves (or, for proof of work, nonces) [start, end)
 * of its progress range, as the bytes of their leaves. The engine picks the backend, splits the
 * unit into checkpointed segments and reruns GPU work once after a device loss.
 */
export interface UnitRun {
  gpu(start: number, end: number, options: KernelOptions): Promise<Uint8Array>;
  cpu(start: number, end: number, options: KernelOptions): Promise<Uint8Array>;
}

/**
 * A kernel as the compute worker runs it (kernels/<kernel>/worker.ts): its GPU runner and WGSL,
 * its CPU path, and a small problem to time them on. Only the compute worker's bundle holds it.
 */
export interface WorkerKernel<U extends WorkUnit> {
  /** A small problem run on each backend when a software adapter makes the choice a measurement (backend-choice.ts). */
  calibration(context: KernelContext): Calibration;
  /** A unit's run, its inputs made once. */
  run(unit: U, context: KernelContext): UnitRun;
  /**
   * Puts a unit's inputs on the GPU ahead of its run, while another unit computes (its dataset
   * slices are held on the shelf for the call). Kernels whose GPU runs upload nothing leave it out.
   */
  prepare?(unit: U, context: KernelContext): Promise<void>;
}
