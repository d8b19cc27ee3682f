import { buildMerkleTreeOfChunks } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';
import { fromHex, toHex } from '../hex';
import { matmulOperands } from '../kernels/matmul-inputs';
import { freivaldsF32 } from '../proof/freivalds-f32';
import { freivaldsModp } from '../proof/freivalds-modp';
import type { Random } from '../proof/random';
import { Kernel, type MatmulUnit } from '../protocol';

/**
 * The Freivalds policy of matrix jobs: after the commitment the host asks for all of C
 * (`send-rows`), the volunteer sends it in `rows` messages, in order, and the host checks that
 * the rows hash to the committed root (so C cannot be swapped after committing) and then runs
 * Freivalds' check with its own randomness: O(mk + kn + mn) per round, against O(mkn) to
 * recompute.
 *
 * Memory stays bounded: the host holds at most one C in flight per volunteer key (≤ 4 MiB at
 * the largest unit). Rows for another unit replace it; a restart loses it, and the volunteer's
 * re-sent result is answered with `send-rows` again.
 */

export interface FreivaldsCheck {
  /** C's bytes (rows of little-endian words), once every row has arrived. */
  readonly c?: Uint8Array;
  /** Why the rows are refused (out of order, wrong size). */
  readonly failure?: string;
}

interface Pending {
  readonly unitId: string;
  readonly c: Uint8Array;
  /** Rows received so far. */
  next: number;
}

export class RowCollector {
  private readonly pending = new Map<string, Pending>();

  /** Adds rows `first`… of `unit`'s C from `who`; returns C when complete. */
  add(who: string, unit: MatmulUnit, first: number, dataHex: string): FreivaldsCheck {
    const rowBytes = 4 * unit.n;
    let p = this.pending.get(who);
    if (p?.unitId !== unit.unitId) {
      p = { unitId: unit.unitId, c: new Uint8Array(unit.m * rowBytes), next: 0 };
      this.pending.set(who, p);
    }
    const data = fromHex(dataHex);
    const failure =
      first !== p.next
        ? `rows must arrive in order: expected row ${p.next}, got ${first}`
        : !data || data.length % rowBytes !== 0
          ? `rows data is not whole rows of ${rowBytes} bytes`
          : first + data.length / rowBytes > unit.m
            ? `rows ${first}.. run past row ${unit.m - 1}`
            : undefined;
    if (failure) {
      this.pending.delete(who);
      return { failure };
    }
    p.c.set(data!, first * rowBytes);
    p.next += data!.length / rowBytes;
    if (p.next < unit.m) return {};
    this.pending.delete(who);
    return { c: p.c };
  }

  /** Drops what `who` had in flight for `unitId` (the unit was judged or requeued). */
  forget(who: string, unitId: string): void {
    if (this.pending.get(who)?.unitId === unitId) this.pending.delete(who);
  }
}

/** Checks a complete C against the committed root, then by Freivalds; returns why it fails, or undefined. */
export function checkFreivalds(unit: MatmulUnit, root: string, c: Uint8Array, rounds: number, random: Random, hash: Hasher): string | undefined {
  if (toHex(buildMerkleTreeOfChunks(c, 4 * unit.n, hash).root) !== root) return 'the rows do not hash to the committed root';
  const { a, b } = matmulOperands(unit);
  const shape = { m: unit.m, n: unit.n, k: unit.k };
  // Copied, so the words are aligned whatever offset the bytes had.
  const words = new Uint8Array(c).buffer;
  const check =
    unit.kernel === Kernel.MatmulModp
      ? freivaldsModp(a as Uint32Array, b as Uint32Array, new Uint32Array(words), shape, unit.p, { rounds, random })
      : freivaldsF32(a as Float32Array, b as Float32Array, new Float32Array(words), shape, { rounds, random });
  return check.ok ? undefined : `Freivalds' check failed: row ${check.badRow} of C is wrong`;
}
