/**
 * The unit stream as a volunteer runs it today: units one after another through a UnitComputer
 * (the engine, as the session calls it), each result committed (Merkle tree and MAC,
 * results.ts, HostLink.sendResult) as the session does before sending it. Units per second, and with a PassTimer the
 * GPU's busy share: compute-pass time over wall time. A better stream (buffers pooled, uploads
 * overlapped) is measured by passing its computer, or by replacing `runStream` with its own loop.
 */
import type { Hasher } from '../../src/hash/sha256-cpu';
import type { ResultKey } from '../../src/proof/result-key';
import { unitSize } from '../../src/kernels/units';
import type { WorkUnit } from '../../src/protocol';
import { sentResult } from '../../src/volunteer/results';
import type { UnitComputer } from '../../src/worker/client';
import { PassTimer } from './dawn-pass-timer';

export interface StreamFigures {
  readonly units: number;
  readonly wallMs: number;
  readonly unitsPerS: number;
  /** Compute-pass GPU time over the stream, when the device writes timestamps. */
  readonly kernelMs?: number;
  /** kernelMs / wallMs. */
  readonly busy?: number;
  /** What computed the units (the engine's words). */
  readonly adapter?: string;
}

export interface StreamOptions {
  readonly computer: UnitComputer;
  readonly hash: Hasher;
  /** Authenticates each result as a volunteer's connection would (HostLink.sendResult). */
  readonly resultKey: ResultKey;
  /** Units run first and not counted (pipelines compile, buffers are first made). */
  readonly warmup?: number;
  readonly signal?: AbortSignal;
}

/** Runs `units` back to back (after `warmup` of them untimed), timing the rest. */
export async function runStream(units: readonly WorkUnit[], options: StreamOptions): Promise<StreamFigures> {
  const warmup = options.warmup ?? 1;
  if (units.length <= warmup) throw new Error(`a stream of ${units.length} unit(s) leaves none to time after ${warmup} warm-up unit(s)`);
  const one = async (unit: WorkUnit) => {
    const out = await options.computer.runUnit(unit, options.signal);
    options.resultKey.mac(sentResult(unit, out, unitSize(unit), options.hash).commitment);
    return out.adapter;
  };
  for (const unit of units.slice(0, warmup)) await one(unit);
  const timer = new PassTimer().start();
  let adapter: string | undefined;
  const started = performance.now();
  const timed = units.slice(warmup);
  const wallMs = await (async () => {
    try {
      for (const unit of timed) adapter = await one(unit);
      return performance.now() - started;
    } catch (err) {
      // Stopped whatever happened, so no later pass is timed.
      await timer.stop().catch(() => undefined);
      throw err;
    }
  })();
  const gpu = await timer.stop();
  return {
    units: timed.length,
    wallMs,
    unitsPerS: timed.length / (wallMs / 1000),
    ...(timer.timed ? { kernelMs: gpu.ms, busy: gpu.ms / wallMs } : {}),
    ...(adapter ? { adapter } : {}),
  };
}
