import { buildMerkleTreeOfChunks } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';
import { fromHex, toHex } from '../hex';
import { unitLeaves, type ChallengedUnit } from '../protocol';

/**
 * A unit's whole output, uploaded after `send-rows` in `rows` messages, in order: rows of C for
 * matrices, digests for hashing (a "row" is a leaf). The host asks for it to run Freivalds'
 * check, and to keep the output of jobs that collect it.
 *
 * Memory stays bounded: the host holds at most one output in flight per volunteer key (≤ 4 MiB
 * at the largest unit). Rows for another unit replace it; a restart loses it, and the
 * volunteer's re-sent result is answered with `send-rows` again.
 */
export interface Collected {
  /** The output's bytes, once every row has arrived. */
  readonly data?: Uint8Array;
  /** Why the rows are refused (out of order, wrong size). */
  readonly failure?: string;
}

interface Pending {
  readonly unitId: string;
  readonly data: Uint8Array;
  /** Rows received so far. */
  next: number;
}

export class RowCollector {
  private readonly pending = new Map<string, Pending>();

  /** Adds rows `first`… of `unit`'s output from `who`; returns the output when complete. */
  add(who: string, unit: ChallengedUnit, first: number, dataHex: string): Collected {
    const { count, bytes } = unitLeaves(unit);
    let p = this.pending.get(who);
    // Row 0 starts an upload over (the volunteer reconnected and sends it again).
    if (p?.unitId !== unit.unitId || first === 0) {
      p = { unitId: unit.unitId, data: new Uint8Array(count * bytes), next: 0 };
      this.pending.set(who, p);
    }
    const data = fromHex(dataHex);
    const failure =
      first !== p.next
        ? `rows must arrive in order: expected row ${p.next}, got ${first}`
        : !data || data.length % bytes !== 0
          ? `rows data is not whole rows of ${bytes} bytes`
          : first + data.length / bytes > count
            ? `rows ${first}.. run past row ${count - 1}`
            : undefined;
    if (failure) {
      this.pending.delete(who);
      return { failure };
    }
    p.data.set(data!, first * bytes);
    p.next += data!.length / bytes;
    if (p.next < count) return {};
    this.pending.delete(who);
    return { data: p.data };
  }

  /** Drops what `who` had in flight for `unitId` (the unit was judged or requeued). */
  forget(who: string, unitId: string): void {
    if (this.pending.get(who)?.unitId === unitId) this.pending.delete(who);
  }
}

/** The Merkle root (hex) of a unit's whole output, leaf by leaf (rows of C, or digests). */
export function outputRoot(unit: ChallengedUnit, data: Uint8Array, hash: Hasher): string {
  return toHex(buildMerkleTreeOfChunks(data, unitLeaves(unit).bytes, hash).root);
}

/** Whether a unit's whole output hashes to the committed Merkle root. */
export function hashesTo(unit: ChallengedUnit, data: Uint8Array, root: string, hash: Hasher): boolean {
  return outputRoot(unit, data, hash) === root;
}
