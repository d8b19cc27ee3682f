import { Kernel, type WorkUnit } from '../../src/protocol';
import type { UnitComputer } from '../../src/worker/client';
import type { EngineInfo, Progress, UnitOutput } from '../../src/worker/engine';
import type { ResumeOptions } from '../../src/worker/segments';
import { CheatKind } from './cheat-kind';
import { fromHex } from '../../src/hex';
import { sharesToLeaves } from '../../src/kernels/shares';
import { powSearchCpuFast } from '../../src/kernels/sha256d-pow/pow';

/** The output-level cheats: the session around the computer commits and answers honestly from the lie. */
export type OutputCheat = typeof CheatKind.WrongElement | typeof CheatKind.WrongDigest | typeof CheatKind.SkippedRange | typeof CheatKind.ColludingPair;

export function isOutputCheat(kind: CheatKind): kind is OutputCheat {
  return kind === CheatKind.WrongElement || kind === CheatKind.WrongDigest || kind === CheatKind.SkippedRange || kind === CheatKind.ColludingPair;
}

/**
 * A computer that lies the chosen way on every unit of the kernel it cheats on, and computes
 * other units honestly. `onLie` tells the cheater what it did (for its log).
 */
export class LyingComputer implements UnitComputer {
  lies = 0;

  constructor(
    private readonly honest: UnitComputer,
    private readonly kind: OutputCheat,
    private readonly onLie: (unit: WorkUnit, what: string) => void,
  ) {}

  describe(): Promise<EngineInfo> {
    return this.honest.describe();
  }

  async runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume?: ResumeOptions): Promise<UnitOutput> {
    // A colluding pair lies on every unit it gets (the same way on both keys), proof of work included.
    if ((this.kind === CheatKind.SkippedRange || this.kind === CheatKind.ColludingPair) && unit.kernel === Kernel.Sha256dPow) {
      const searched = Math.floor(unit.nonceCount / 2);
      const bytes = (hex: string) => fromHex(hex)!;
      const found = await powSearchCpuFast(bytes(unit.header), unit.nonceStart, searched, bytes(unit.target), bytes(unit.shareTarget), { signal });
      onProgress?.(unit.nonceCount, unit.nonceCount);
      this.lie(unit, `searched ${searched} of ${unit.nonceCount} nonces, reporting ${found.shares.length} shares`);
      return { leaves: sharesToLeaves(found.shares), leafBytes: 4, backend: 'cpu' };
    }
    const out = await this.honest.runUnit(unit, signal, onProgress, resume);
    const colluding = this.kind === CheatKind.ColludingPair;
    const wrongElement =
      (this.kind === CheatKind.WrongElement || colluding) &&
      (unit.kernel === Kernel.MatmulModp || unit.kernel === Kernel.MatmulF32 || unit.kernel === Kernel.MatmulI8);
    const wrongDigest = (this.kind === CheatKind.WrongDigest || colluding) && unit.kernel === Kernel.Sha256Batch;
    if (!wrongElement && !wrongDigest) return out;
    const leaves = out.leaves.slice();
    const view = new DataView(leaves.buffer);
    const count = leaves.length / out.leafBytes;
    // Colluding keys must agree bit for bit: both change the first leaf, the same way.
    const row = colluding ? 0 : this.lies % count;
    if (wrongElement) {
      // One element of C, still a residue mod p; an f32 one far outside any rounding error,
      // since Freivalds' f32 check must tolerate rounding and cannot see tiny lies.
      const at = row * out.leafBytes;
      if (unit.kernel === Kernel.MatmulModp) view.setUint32(at, (view.getUint32(at, true) + 1) % unit.p, true);
      else if (unit.kernel === Kernel.MatmulI8) view.setInt32(at, view.getInt32(at, true) + 1, true);
      else view.setFloat32(at, view.getFloat32(at, true) * 2 + 1000, true);
      this.lie(unit, `changed C[${row}][0]`);
    } else {
      leaves[row * 32]! ^= 0x01;
      this.lie(unit, `flipped a bit of digest ${row}`);
    }
    return { ...out, leaves };
  }

  private lie(unit: WorkUnit, what: string): void {
    this.lies++;
    this.onLie(unit, what);
  }
}
