/**
 * Every kernel as the compute worker runs it, registered once (one line per kernel): its WGSL,
 * GPU runner and CPU path. Only the compute worker's bundle imports this (host-registry.ts says
 * why the two halves are apart).
 */
import { ErrorCode, TabgridError } from '../errors';
import { matmulF32Worker } from './matmul-f32/worker';
import { matmulI8Worker } from './matmul-i8/worker';
import { matmulModpWorker } from './matmul-modp/worker';
import { sha256BatchWorker } from './sha256-batch/worker';
import { powWorker } from './sha256d-pow/worker';
import { isKernel, Kernel, type UnitMap, type WorkUnit } from './units';
import type { KernelContext, UnitRun, WorkerKernel } from './worker-kernel';
import type { Calibration } from './worker-kernel';

const WORKER_KERNELS: { readonly [K in Kernel]: WorkerKernel<UnitMap[K]> } = {
  [Kernel.Sha256Batch]: sha256BatchWorker,
  [Kernel.MatmulF32]: matmulF32Worker,
  [Kernel.MatmulModp]: matmulModpWorker,
  [Kernel.Sha256dPow]: powWorker,
  [Kernel.MatmulI8]: matmulI8Worker,
};

function runOf<K extends Kernel>(kernel: K, unit: UnitMap[K], context: KernelContext): UnitRun {
  return WORKER_KERNELS[kernel].run(unit, context);
}

/** A unit's run on either backend. A unit of no known kernel (a caller past the validator) is BadInput. */
export function unitRun(unit: WorkUnit, context: KernelContext): UnitRun {
  const kernel: unknown = unit.kernel;
  if (!isKernel(kernel)) throw new TabgridError(ErrorCode.BadInput, `unknown kernel ${String(kernel)}`);
  return runOf(unit.kernel, unit, context);
}

/** Puts a unit's inputs on the GPU ahead of its run, for a kernel that can (undefined: nothing to do). */
export function prepareOf(unit: WorkUnit, context: KernelContext): Promise<void> | undefined {
  const kernel: unknown = unit.kernel;
  if (!isKernel(kernel)) throw new TabgridError(ErrorCode.BadInput, `unknown kernel ${String(kernel)}`);
  return (WORKER_KERNELS[unit.kernel] as WorkerKernel<WorkUnit>).prepare?.(unit, context);
}

/** The problem a kernel is timed on when the backend is chosen by measurement. */
export function calibrationOf(kernel: Kernel, context: KernelContext): Calibration {
  return WORKER_KERNELS[kernel].calibration(context);
}

/** A kernel's compute-worker half (the registry test checks every kernel has one). */
export function workerKernel<K extends Kernel>(kernel: K): WorkerKernel<UnitMap[K]> {
  return WORKER_KERNELS[kernel];
}
