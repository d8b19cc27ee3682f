/**
 * The compute worker: owns the GPU device through one ComputeEngine and serves it over
 * Comlink. AbortSignals cannot cross postMessage, so each call carries an id the page aborts
 * by (see client.ts). Results travel back transferred, not copied.
 */
import { expose, transfer } from 'comlink';
import type { MatmulShape } from '../kernels/matmul';
import type { MessageBatch } from '../kernels/sha256-batch';
import type { WorkUnit } from '../protocol';
import { ComputeEngine, type EngineInfo, type KernelOptions, type Progress } from './engine';
import { installErrorTransfer } from './error-transfer';
import { openVolunteerStore } from '../volunteer/store/idb-volunteer-store';
import { lazyTuneCache } from '../volunteer/store/tune-cache';
import type { ResumeOptions } from './segments';

installErrorTransfer();

// Tuned tile shapes survive reloads in the volunteer's IndexedDB; without it, tuning reruns.
const engine = new ComputeEngine({ tuneCache: lazyTuneCache(() => openVolunteerStore()) });
const running = new Map<number, AbortController>();

/** Runs one call with an AbortController the page can reach by `callId`. */
async function call<T>(callId: number, onProgress: Progress | undefined, run: (opts: KernelOptions) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  running.set(callId, controller);
  try {
    return await run({ signal: controller.signal, onProgress });
  } finally {
    running.delete(callId);
  }
}

const api = {
  describe(): Promise<EngineInfo> {
    return engine.describe();
  },

  /** Comlink proxies only top-level arguments, so the checkpoint callback comes on its own. */
  async runUnit(
    callId: number,
    unit: WorkUnit,
    onProgress?: Progress,
    resume?: Omit<ResumeOptions, 'onCheckpoint'>,
    onCheckpoint?: ResumeOptions['onCheckpoint'],
  ) {
    const out = await call(callId, onProgress, (o) => engine.runUnit(unit, o.signal, o.onProgress, { ...resume, onCheckpoint }));
    return transfer(out, [out.leaves.buffer]);
  },

  async sha256Batch(callId: number, batch: MessageBatch, onProgress?: Progress) {
    const out = await call(callId, onProgress, (o) => engine.sha256Batch(batch, o));
    return transfer(out, [out.digests.buffer]);
  },

  async matmulF32(callId: number, a: Float32Array, b: Float32Array, shape: MatmulShape, onProgress?: Progress) {
    const out = await call(callId, onProgress, (o) => engine.matmulF32(a, b, shape, o));
    return transfer(out, [out.c.buffer]);
  },

  async matmulModp(callId: number, a: Uint32Array, b: Uint32Array, shape: MatmulShape, p: number, onProgress?: Progress) {
    const out = await call(callId, onProgress, (o) => engine.matmulModp(a, b, shape, p, o));
    return transfer(out, [out.c.buffer]);
  },

  powSearch(callId: number, header: Uint8Array, start: number, count: number, target: Uint8Array, shareTarget: Uint8Array, onProgress?: Progress) {
    return call(callId, onProgress, (o) => engine.powSearch(header, start, count, target, shareTarget, o));
  },

  setThrottle(share: number): void {
    engine.setThrottle(share);
  },

  abort(callId: number): void {
    running.get(callId)?.abort();
  },

  loseDevice(): void {
    engine.loseDevice();
  },
};

export type ComputeWorkerApi = typeof api;

expose(api);
