/**
 * The verified dataset bytes a process holds, by content: the one place a unit's inputs are
 * read from when the unit names dataset slices (kernels/<kernel>/inputs.ts). A host holds the
 * whole datasets of the jobs it serves; a compute worker holds the slices of the unit it runs,
 * which its volunteer fetched and checked chunk by chunk against their root (data/dataset.ts)
 * before handing them over. Content addressing makes sharing safe: one root names one byte
 * string, whoever put it here. Every hold is counted and released by whoever took it, so the
 * shelf keeps bytes exactly as long as someone computes or serves from them.
 */
import { ErrorCode, TabgridError } from '../errors';
import type { DatasetSlice } from './dataset';
import { indexRecords } from './records';

interface Held {
  readonly data: Uint8Array;
  holds: number;
  records?: Uint32Array;
}

const sliceKey = (s: DatasetSlice) => `${s.root}:${s.offset}:${s.length}`;

export class DatasetShelf {
  private readonly datasets = new Map<string, Held>();
  private readonly slices = new Map<string, Held>();

  /** Holds a whole dataset (its bytes hash to `root`: the caller built or verified it) until the returned release is called. */
  holdDataset(root: string, data: Uint8Array): () => void {
    return hold(this.datasets, root, data);
  }

  /** Holds the verified bytes of one slice until the returned release is called. */
  holdSlice(slice: DatasetSlice, data: Uint8Array): () => void {
    if (data.length !== slice.length) throw new TabgridError(ErrorCode.BadInput, `slice of ${slice.length} bytes given ${data.length}`);
    return hold(this.slices, sliceKey(slice), data);
  }

  hasDataset(root: string): boolean {
    return this.datasets.has(root);
  }

  /** The bytes of a slice (a view: do not write), from a held slice or a held whole dataset. */
  slice(s: DatasetSlice): Uint8Array {
    const exact = this.slices.get(sliceKey(s));
    if (exact) return exact.data;
    const whole = this.datasets.get(s.root);
    if (whole) {
      if (whole.data.length !== s.bytes)
        throw new TabgridError(ErrorCode.BadInput, `dataset ${s.root.slice(0, 12)}… has ${whole.data.length} bytes, not ${s.bytes}`);
      return whole.data.subarray(s.offset, s.offset + s.length);
    }
    throw new TabgridError(ErrorCode.BadInput, `dataset ${s.root.slice(0, 12)}… (bytes ${s.offset}..${s.offset + s.length}) is not held here`);
  }

  /** The record offsets of a held length-prefixed records dataset (records.ts), worked out once. */
  records(root: string, maxRecordBytes: number): Uint32Array {
    const whole = this.datasets.get(root);
    if (!whole) throw new TabgridError(ErrorCode.BadInput, `records dataset ${root.slice(0, 12)}… is not held here`);
    return (whole.records ??= indexRecords(whole.data, `dataset ${root.slice(0, 12)}…`, maxRecordBytes));
  }

  /** Bytes held, whole datasets and slices (a dataset held twice counts once). */
  get bytes(): number {
    let total = 0;
    for (const map of [this.datasets, this.slices]) for (const h of map.values()) total += h.data.length;
    return total;
  }
}

function hold(map: Map<string, Held>, key: string, data: Uint8Array): () => void {
  const held = map.get(key) ?? { data, holds: 0 };
  held.holds++;
  map.set(key, held);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--held.holds === 0 && map.get(key) === held) map.delete(key);
  };
}

/** This process's (or worker's) shelf. */
export const shelf = new DatasetShelf();
