import type { KernelContext, WorkerKernel } from '../worker-kernel';
import { hashPoolOf } from '../cpu-hash/pool';
import type { MessageBatch } from './batch';
import { Sha256Gpu } from './gpu';
import { sha256BatchInputs } from './inputs';
import type { Sha256BatchUnit } from './unit';

/** The problem a software adapter is timed on against the CPU: 4096 messages of 64 bytes. */
const CALIBRATION_UNIT: Sha256BatchUnit = { kernel: 'sha256-batch', jobId: 'calibration', unitId: 'calibration/0', seed: 1, count: 4096, messageLength: 64 };
let calibrationBatch: MessageBatch | undefined;
const calibration = () => (calibrationBatch ??= sha256BatchInputs(CALIBRATION_UNIT).batch(0, CALIBRATION_UNIT.count));

const gpuOf = (context: KernelContext) => context.shared('sha256-batch/gpu', () => new Sha256Gpu(context.devices));

/**
 * SHA-256 of batches of messages in the compute worker: the kernels of shader.ts, or hash-wasm on the CPU
 * across a pool of workers (cpu-hash/pool.ts), each making and hashing its share of the messages.
 */
export const sha256BatchWorker: WorkerKernel<Sha256BatchUnit> = {
  calibration: (context) => ({
    gpu: () => gpuOf(context).hash(calibration()),
    // The CPU side as units run it, on every core: the choice compares like with like.
    cpu: () => hashPoolOf(context).sha256Batch(CALIBRATION_UNIT, 0, CALIBRATION_UNIT.count),
  }),
  run(unit, context) {
    const messages = sha256BatchInputs(unit);
    return {
      gpu: (start, end, options) => gpuOf(context).hash(messages.batch(start, end - start), options),
      cpu: (start, end, options) => hashPoolOf(context).sha256Batch(unit, start, end, options),
    };
  },
};
