/**
 * The compute worker: owns the GPU device through one ComputeEngine and serves it over
 * Comlink. AbortSignals cannot cross postMessage, so each call carries an id the page aborts
 * by (see client.ts). Results travel back transferred, not copied.
 */
import { expose, transfer } from 'comlink';
import { StoredTuneCache, type TuneStore } from '../gpu/tune-cache';
import type { Backend, WorkUnit } from '../protocol';
import { ComputeEngine, type EngineInfo, type KernelOptions, type Progress } from './engine';
import { installErrorTransfer } from '../thread/error-transfer';
import type { ResumeOptions, UnitInput } from './segments';
import { serveClock } from './worker-clock';

installErrorTransfer();

/** The page's store of tuned tile shapes (useTuneStore); until it is given, tuning is kept per engine only. */
let tuneStore: TuneStore | undefined;
// Tuned tile shapes survive reloads in the volunteer's store, which the page lends (ComputeClient).
const engine = new ComputeEngine({
  tuneCache: new StoredTuneCache({ getTune: async (key) => tuneStore?.getTune(key), setTune: async (key, config) => tuneStore?.setTune(key, config) }),
});
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
    return transfer(out, out.leafHashes ? [out.leaves.buffer, out.leafHashes.buffer] : [out.leaves.buffer]);
  },

  /** The next unit's inputs, put on the GPU while the current one computes. */
  prepare(unit: WorkUnit, inputs: readonly UnitInput[]): Promise<void> {
    return engine.prepare(unit, inputs);
  },

  /** A port to keep the page's timers on (worker-clock.ts): this worker's timers are not throttled in a hidden page. */
  useClock(port: MessagePort): void {
    serveClock(port);
  },

  /** The page's tune store, a Comlink proxy. */
  useTuneStore(store: TuneStore): void {
    tuneStore = store;
  },

  setThrottle(share: number): void {
    engine.setThrottle(share);
  },

  /** The page's forced backend (undefined: chosen per kernel). */
  forceBackend(backend: Backend | undefined): void {
    engine.forceBackend(backend);
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
