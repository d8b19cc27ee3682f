import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { Backend, unitSize, type WorkUnit } from '../../src/protocol';
import type { UnitComputer } from '../../src/worker/client';
import type { EngineInfo, Progress, UnitOutput } from '../../src/worker/engine';
import type { ResumeOptions } from '../../src/worker/segments';
import { shelf } from '../../src/data/shelf';
import { referenceOutput } from './reference';

/**
 * A Node volunteer's computer: the CPU reference (reference.ts), whole units at a time (no
 * checkpoints: a Node volunteer keeps no store). Cheaters wrap it; scaling runs use it as is,
 * with units small enough that the host, not this, is the bottleneck.
 */
export class CpuComputer implements UnitComputer {
  private hash?: Promise<Hasher>;
  /** Wall time spent in runUnit, milliseconds. */
  computeMs = 0;

  describe(): Promise<EngineInfo> {
    return Promise.resolve({ backend: Backend.Cpu, reason: 'a Node volunteer computes with the CPU reference' });
  }

  async runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume: ResumeOptions = {}): Promise<UnitOutput> {
    this.hash ??= createCpuSha256();
    const started = performance.now();
    // The verified slices the session fetched, where the kernels' inputs read them (as engine.ts runUnit does).
    const releases = (resume.inputs ?? []).map((i) => shelf.holdSlice(i.slice, i.data));
    let out;
    try {
      out = await referenceOutput(unit, await this.hash, signal);
    } finally {
      for (const release of releases) release();
    }
    this.computeMs += performance.now() - started;
    onProgress?.(unitSize(unit), unitSize(unit));
    return { leaves: out.leaves, leafBytes: out.leafBytes, backend: Backend.Cpu };
  }
}
