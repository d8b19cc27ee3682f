import { throwIfAborted } from '../../errors';
import { createCpuSha256, type Hasher } from '../../hash/sha256-cpu';
import type { KernelContext, KernelOptions, WorkerKernel } from '../worker-kernel';
import { sha256BatchCpu, type MessageBatch } from './batch';
import { Sha256Gpu } from './gpu';
import { sha256BatchInputs } from './inputs';
import type { Sha256BatchUnit } from './unit';

/** Messages per CPU slice: between slices the worker yields (an abort gets through) and rests when throttled. */
const CPU_SLICE = 2048;

/** The problem a software adapter is timed on against the CPU: 4096 messages of 64 bytes. */
const CALIBRATION_UNIT: Sha256BatchUnit = { kernel: 'sha256-batch', jobId: 'calibration', unitId: 'calibration/0', seed: 1, count: 4096, messageLength: 64 };
let calibrationBatch: MessageBatch | undefined;
const calibration = () => (calibrationBatch ??= sha256BatchInputs(CALIBRATION_UNIT).batch(0, CALIBRATION_UNIT.count));

const gpuOf = (context: KernelContext) => context.shared('sha256-batch/gpu', () => new Sha256Gpu(context.devices));
const hasherOf = (context: KernelContext) => context.shared('sha256-batch/cpu', () => createCpuSha256());

async function hashOnCpu(batch: MessageBatch, hash: Hasher, options: KernelOptions): Promise<Uint8Array> {
  const count = batch.lengths.length;
  const out = new Uint8Array(count * 32);
  for (let from = 0; from < count; from += CPU_SLICE) {
    throwIfAborted(options.signal);
    const to = Math.min(count, from + CPU_SLICE);
    const started = performance.now();
    sha256BatchCpu(batch, hash, from, to, out);
    options.onProgress?.(to, count);
    // Yield so an abort sent to this worker is seen between slices; then rest, when throttled.
    await new Promise((r) => setTimeout(r, 0));
    await options.pace?.rest(performance.now() - started, options.signal);
  }
  return out;
}

/** SHA-256 of batches of messages in the compute worker: sha256.wgsl, or hash-wasm on the CPU. */
export const sha256BatchWorker: WorkerKernel<Sha256BatchUnit> = {
  calibration: (context) => ({
    gpu: () => gpuOf(context).hash(calibration()),
    cpu: async () => hashOnCpu(calibration(), await hasherOf(context), {}),
  }),
  run(unit, context) {
    const messages = sha256BatchInputs(unit);
    return {
      gpu: (start, end, options) => gpuOf(context).hash(messages.batch(start, end - start), options),
      cpu: async (start, end, options) => hashOnCpu(messages.batch(start, end - start), await hasherOf(context), options),
    };
  },
};
