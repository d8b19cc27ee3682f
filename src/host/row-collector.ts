import { buildMerkleTreeOfChunks } from '../hash/merkle';
import type { Hasher } from '../hash/sha256-cpu';
import { fromHex, toHex } from '../hex';
import { unitLeaves, type ChallengedUnit } from '../protocol';

/**
 * A unit's whole output, uploaded after `send-rows` in `rows` messages, in order: rows of C for
 * matrices, digests for hashing (a "row" is a leaf). The host asks for it to run Freivalds'
 * check, and to keep the output of jobs that collect it.
 *
 * Memory stays bounded, because anyone with a fresh key can start an upload and go quiet:
 * - one upload in flight per volunteer key; rows for another unit replace it;
 * - an upload holds what arrived, in a buffer grown by doubling (at most twice the bytes
 *   received, never more than the unit's output, itself at most 4 MiB: MAX_COLLECT_BYTES),
 *   not the whole output from its first row;
 * - it is dropped as soon as its unit stops waiting for it (judged, requeued, lapsed, its key
 *   banned: see `keepOnly`) or the connection it came over closes (`dropVia`);
 * - all uploads together stay under `maxBytes`. An upload that does not fit is refused as
 *   `busy`: no fault of the volunteer's, which offers its result again later; the rest of its
 *   rows are dropped unanswered as they arrive. A lone upload is always taken, so a unit larger
 *   than the cap is still collected, one at a time.
 * A restart loses what is in flight, and the volunteer's re-sent result is answered with
 * `send-rows` again.
 */
export interface Collected {
  /** The output's bytes, once every row has arrived. */
  readonly data?: Uint8Array;
  /** Why the rows are refused (out of order, wrong size): the result is rejected. */
  readonly failure?: string;
  /** Why the host cannot take the upload now (memory): not the volunteer's fault. */
  readonly busy?: string;
}

interface Upload {
  readonly unitId: string;
  /** The connection the rows come over. */
  readonly via: string;
  /** The rows received so far are its first `filled` bytes. */
  buffer: Uint8Array;
  filled: number;
  /** The next row expected. */
  next: number;
  /** Refused as busy: what is still on its way is dropped unanswered. */
  refused: boolean;
  /** When its last rows arrived (the host's clock). */
  last: number;
}

const EMPTY = new Uint8Array(0);

export class RowCollector {
  private readonly uploads = new Map<string, Upload>();
  /** Who is uploading each unit (its holder; rows from anyone else are refused before they get here). */
  private readonly byUnit = new Map<string, string>();
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes the uploads in flight hold (their buffers, not their outputs' full sizes). */
  get bytes(): number {
    return this.held;
  }

  /** Adds rows `first`… of `unit`'s output from `who`, sent over connection `via`; returns the output when complete. */
  add(who: string, via: string, unit: ChallengedUnit, first: number, dataHex: string, now: number): Collected {
    const { count, bytes } = unitLeaves(unit);
    let p = this.uploads.get(who);
    if (p?.unitId === unit.unitId && p.refused && first !== 0) return {};
    // Row 0 starts an upload over (the volunteer reconnected, or was told busy, and sends it again).
    if (p?.unitId !== unit.unitId || first === 0) {
      this.drop(who);
      p = { unitId: unit.unitId, via, buffer: EMPTY, filled: 0, next: 0, refused: false, last: now };
      const before = this.byUnit.get(unit.unitId);
      if (before !== undefined) this.drop(before);
      this.uploads.set(who, p);
      this.byUnit.set(unit.unitId, who);
      // Only if the whole output would fit beside the others, so that uploads seldom fail midway.
      if (first === 0 && this.held > 0 && this.held + count * bytes > this.maxBytes) return this.refuse(p);
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
      this.drop(who);
      return { failure };
    }
    const needed = p.filled + data!.length;
    if (needed > p.buffer.length) {
      const others = this.held - p.buffer.length;
      const size = Math.min(count * bytes, Math.max(needed, 2 * p.buffer.length));
      // Doubling past the cap falls back to the bytes needed; past it even so, only a lone upload goes on.
      const grown = others + size <= this.maxBytes ? size : others + needed <= this.maxBytes || others === 0 ? needed : undefined;
      if (grown === undefined) return this.refuse(p);
      const buffer = new Uint8Array(grown);
      buffer.set(p.buffer.subarray(0, p.filled));
      this.held += grown - p.buffer.length;
      p.buffer = buffer;
    }
    p.buffer.set(data!, p.filled);
    p.filled = needed;
    p.last = now;
    p.next += data!.length / bytes;
    if (p.next < count) return {};
    // Grown at most to the output's size, so the buffer is exactly the output now.
    const done = p.buffer;
    this.drop(who);
    return { data: done };
  }

  /** Drops what `who` had in flight for `unitId` (the result was sent again, or judged). */
  forget(who: string, unitId: string): void {
    if (this.uploads.get(who)?.unitId === unitId) this.drop(who);
  }

  /** Keeps the upload of `unitId` only if it comes from `holder`, the key the unit now waits for rows from (undefined: nobody). */
  keepOnly(unitId: string, holder: string | undefined): void {
    const who = this.byUnit.get(unitId);
    if (who !== undefined && who !== holder) this.drop(who);
  }

  /**
   * Uploads holding memory whose last rows came before `before`: a volunteer that starts an
   * upload and goes quiet while it heartbeats would otherwise hold its part of the cap for as
   * long as its lease lasts. An honest upload streams its rows back to back.
   */
  stalled(before: number): { readonly who: string; readonly unitId: string }[] {
    return [...this.uploads].filter(([, p]) => p.buffer.length > 0 && p.last < before).map(([who, p]) => ({ who, unitId: p.unitId }));
  }

  /** Drops the uploads that came over connection `name` or, for a relay, over its children's. */
  dropVia(name: string): void {
    for (const [who, p] of [...this.uploads]) if (p.via === name || p.via.startsWith(`${name}>`)) this.drop(who);
  }

  private refuse(p: Upload): Collected {
    this.held -= p.buffer.length;
    p.buffer = EMPTY;
    p.filled = 0;
    p.refused = true;
    return { busy: `the host's memory for uploads is full (${this.maxBytes} bytes); send the result again later` };
  }

  private drop(who: string): void {
    const p = this.uploads.get(who);
    if (!p) return;
    this.held -= p.buffer.length;
    this.uploads.delete(who);
    if (this.byUnit.get(p.unitId) === who) this.byUnit.delete(p.unitId);
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
