/**
 * The compute worker: owns the GPU device through one ComputeEngine and serves it over
 * Comlink. AbortSignals cannot cross postMessage, so each call carries an id the page can
 * abort by (see client.ts).
 */
import { expose, transfer } from 'comlink';
import { ComputeEngine, type EngineInfo, type Progress, type UnitOutput } from './engine';
import { installErrorTransfer } from './error-transfer';
import type { WorkUnit } from '../protocol';

installErrorTransfer();

const engine = new ComputeEngine();
const running = new Map<number, AbortController>();

const api = {
  describe(): Promise<EngineInfo> {
    return engine.describe();
  },

  async runUnit(callId: number, unit: WorkUnit, onProgress?: Progress): Promise<UnitOutput> {
    const controller = new AbortController();
    running.set(callId, controller);
    try {
      const out = await engine.runUnit(unit, controller.signal, onProgress);
      return transfer(out, [out.digests.buffer]);
    } finally {
      running.delete(callId);
    }
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
