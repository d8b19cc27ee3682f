/**
 * A stream of matmul units kept on the GPU back to back: up to `depth` units in flight, so the
 * next unit's operands (made on the GPU from its seed, or written with queue.writeBuffer for a
 * dataset unit) and dispatches are queued while the current one computes and reads back; buffers
 * come from the device's pool; C's Merkle leaves are hashed on the GPU. And the figure that
 * shows it: units/s and the GPU's busy share (resident kernel time over wall time), against the
 * per-unit path a unit took before (benchUnitStream).
 */
import { ErrorCode, TabgridError, throwIfAborted } from '../../errors';
import type { Pace } from '../../duty-cycle';
import { BufferPool } from '../../gpu/buffer-pool';
import type { GpuDevices } from '../../gpu/device';
import { buildMerkleTreeOfChunks, buildMerkleTreeOfLeafHashes } from '../../hash/merkle';
import type { Hasher } from '../../hash/sha256-cpu';
import { bytesEqual } from '../../hex';
import { unitSeed } from '../../work/seeded';
import type { MatmulF32Unit } from '../matmul-f32/unit';
import { DEFAULT_MATMUL_CONFIG, MatmulGpu, MatmulKind, type MatmulConfig, type MatmulOperands } from './gpu';
import { f32Operands, matmulOperands } from './inputs';
import type { MatmulShape } from './matmul';
import type { MatmulUnit } from './unit';

export interface StreamOptions {
  readonly config?: MatmulConfig;
  /** Units in flight at once (default 2: the next one queued behind the current one). */
  readonly depth?: number;
  /** Hash C's rows on the GPU (default true). */
  readonly leafHashes?: boolean;
  readonly signal?: AbortSignal;
  /** The throttle, applied between each unit's dispatches. */
  readonly pace?: Pace;
}

export interface StreamResult {
  readonly unit: MatmulUnit;
  /** C's bytes: the unit's leaves (rows) back to back. */
  readonly c: Uint8Array;
  /** leaf(row) per row, 32 bytes each, when hashed on the GPU. */
  readonly leafHashes?: Uint8Array;
}

/**
 * Runs `units` in order, `depth` at a time, handing each result to `onResult` in order. On abort
 * or failure it stops starting units, lets those started settle (their buffers go back to the
 * pool) and throws.
 */
export async function runMatmulStream(
  gpu: MatmulGpu,
  units: readonly MatmulUnit[],
  onResult: (result: StreamResult) => void | Promise<void>,
  options: StreamOptions = {},
): Promise<void> {
  const depth = options.depth ?? 2;
  if (!Number.isInteger(depth) || depth < 1 || depth > 8) throw new TabgridError(ErrorCode.BadInput, `stream depth ${depth} is outside 1..8`);
  const config = options.config ?? DEFAULT_MATMUL_CONFIG;
  const start = async (unit: MatmulUnit): Promise<StreamResult> => {
    const kind = unit.kernel === 'matmul-modp' ? MatmulKind.Modp : MatmulKind.F32;
    // A dataset unit's operands are written with queue.writeBuffer; a seeded unit's are made on the GPU.
    const operands: MatmulOperands = unit.a ? matmulOperands(unit) : { seed: unit.seed, rowStart: 0 };
    const p = unit.kernel === 'matmul-modp' ? unit.p : 0;
    const out = await gpu.product(kind, operands, unit, p, config, { signal: options.signal, pace: options.pace, leafHashes: options.leafHashes ?? true });
    return { unit, c: new Uint8Array(out.c), ...(out.leafHashes ? { leafHashes: out.leafHashes } : {}) };
  };
  const inFlight: Promise<StreamResult>[] = [];
  let next = 0;
  try {
    while (next < units.length || inFlight.length > 0) {
      while (next < units.length && inFlight.length < depth) {
        throwIfAborted(options.signal);
        const run = start(units[next++]!);
        // Awaited in order below; until then a failure must not count as unhandled.
        run.catch(() => undefined);
        inFlight.push(run);
      }
      await onResult(await inFlight.shift()!);
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
}

export interface StreamFigures {
  readonly units: number;
  readonly wallMs: number;
  readonly unitsPerSecond: number;
  /** Resident kernel time of the units over wall time, 0..1. */
  readonly busy: number;
}

export interface StreamBench {
  readonly shape: MatmulShape;
  readonly units: number;
  readonly config: MatmulConfig;
  /** One product with its data resident (MatmulGpu.residentKernelMs). */
  readonly kernelMsPerUnit: number;
  /**
   * One unit at a time as the engine ran them before: operands made on the CPU and uploaded,
   * fresh buffers, dispatches sized from one tile row each run, C hashed into the tree on the
   * CPU. (Its dispatches already skip the per-dispatch error-scope wait.)
   */
  readonly before: StreamFigures;
  /** The stream: pooled buffers, operands made on the GPU, two units in flight, leaves hashed on the GPU. */
  readonly after: StreamFigures;
  /** after.unitsPerSecond / before.unitsPerSecond. */
  readonly speedup: number;
}

export interface StreamBenchOptions {
  /** Units per pass (default 20). */
  readonly units?: number;
  /** Each unit's shape (default 256³). */
  readonly shape?: MatmulShape;
  readonly config?: MatmulConfig;
  readonly seed?: number;
  /** Passes of each path, alternated (default 3); the figures are their medians. */
  readonly rounds?: number;
  readonly signal?: AbortSignal;
}

/**
 * Times a stream of seeded f32 units both ways on one device, after a warm-up of each, and
 * checks that both give every unit the same Merkle root. Figures on a software adapter are CPU
 * figures: compare them only as ratios within one run.
 */
export async function benchUnitStream(devices: GpuDevices, hash: Hasher, options: StreamBenchOptions = {}): Promise<StreamBench> {
  const count = options.units ?? 20;
  const shape = options.shape ?? { m: 256, n: 256, k: 256 };
  const config = options.config ?? DEFAULT_MATMUL_CONFIG;
  if (!Number.isInteger(count) || count < 1) throw new TabgridError(ErrorCode.BadInput, `units ${count} must be ≥ 1`);
  const units: MatmulF32Unit[] = Array.from({ length: count }, (_, i) => ({
    kernel: 'matmul-f32',
    jobId: 'stream-bench',
    unitId: `u${i}`,
    seed: unitSeed(options.seed ?? 2026, i),
    ...shape,
    p: 0,
  }));
  const signal = options.signal;
  const streamed = new MatmulGpu(devices);
  let fresh: BufferPool | undefined;
  const perUnit = new MatmulGpu(devices, (device) => (fresh = fresh?.device === device ? fresh : new BufferPool(device, { capBytes: 0 })));
  const rowBytes = shape.n * 4;

  const before = async (list: readonly MatmulF32Unit[]) => {
    const roots: Uint8Array[] = [];
    for (const unit of list) {
      throwIfAborted(signal);
      const { a, b } = f32Operands(unit);
      // A fresh dispatch sizer per run, starting at one tile row, as each run had before.
      const out = await perUnit.product(MatmulKind.F32, { a, b }, unit, 0, config, { signal, initialTileRows: 1 });
      roots.push(buildMerkleTreeOfChunks(new Uint8Array(out.c), rowBytes, hash).root);
    }
    return roots;
  };
  const after = async (list: readonly MatmulF32Unit[]) => {
    const roots: Uint8Array[] = [];
    await runMatmulStream(streamed, list, (r) => void roots.push(buildMerkleTreeOfLeafHashes(r.leafHashes!, hash).root), { config, signal });
    return roots;
  };
  const timed = async (pass: (list: readonly MatmulF32Unit[]) => Promise<Uint8Array[]>) => {
    await pass(units.slice(0, 2)); // warm-up: pipelines compiled, pool and pacer primed
    const started = performance.now();
    const roots = await pass(units);
    return { roots, wallMs: performance.now() - started };
  };

  // Rounds alternate the two paths so a machine's load falls on both alike; medians are reported.
  const rounds = options.rounds ?? 3;
  const kernel: number[] = [];
  const wasMs: number[] = [];
  const nowMs: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      kernel.push(await streamed.residentKernelMs(MatmulKind.F32, shape, config));
      const was = await timed(before);
      const now = await timed(after);
      const wrong = was.roots.findIndex((root, i) => !bytesEqual(root, now.roots[i]!));
      if (wrong >= 0) throw new TabgridError(ErrorCode.GpuError, `unit ${wrong}: the stream's Merkle root differs from the per-unit path's`);
      wasMs.push(was.wallMs);
      nowMs.push(now.wallMs);
    }
  } finally {
    fresh?.destroy();
  }
  const kernelMsPerUnit = median(kernel);
  const figures = (wallMs: number): StreamFigures => ({
    units: count,
    wallMs,
    unitsPerSecond: (count * 1000) / wallMs,
    busy: Math.min(1, (count * kernelMsPerUnit) / wallMs),
  });
  const b = figures(median(wasMs));
  const a = figures(median(nowMs));
  return { shape, units: count, config, kernelMsPerUnit, before: b, after: a, speedup: a.unitsPerSecond / b.unitsPerSecond };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
