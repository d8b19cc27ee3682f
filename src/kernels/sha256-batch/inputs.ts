/**
 * A hashing unit's input source: its messages, derived from its seed (work/seeded.ts), so a
 * unit travels as a few numbers and the host can rebuild any one message to check a digest.
 * A dataset unit's messages are the length-prefixed records (data/records.ts) of its slice
 * `records`, read from the shelf (data/shelf.ts).
 * Every user of a unit's messages (the compute worker, the host's checks, the reference) asks
 * here, so the source of a unit's messages is this file's business alone.
 */
import { ErrorCode, TabgridError } from '../../errors';
import type { DatasetSlice } from '../../data/dataset';
import { splitRecords } from '../../data/records';
import { shelf } from '../../data/shelf';
import { fillSeededMessage, seededMessage } from '../../work/seeded';
import { allocateBatch, type MessageBatch } from './batch';
import { MAX_UNIT_MESSAGE_BYTES, type Sha256BatchUnit } from './unit';

export interface Messages {
  /** Message `index` of the unit. */
  message(index: number): Uint8Array;
  /** Messages first … first + count − 1, laid out for the kernels. */
  batch(first: number, count: number): MessageBatch;
}

/** Messages first … first + count − 1 of a seeded unit, `length` bytes each (see work/seeded.ts). */
export function seededBatch(seed: number, count: number, length: number, first = 0): MessageBatch {
  if (!Number.isInteger(count) || count < 1) throw new TabgridError(ErrorCode.BadInput, `message count ${count} must be ≥ 1`);
  const batch = allocateBatch(new Uint32Array(count).fill(length));
  for (let i = 0; i < count; i++) {
    fillSeededMessage(seed, first + i, batch.data.subarray(batch.offsets[i], batch.offsets[i]! + length));
  }
  return batch;
}

/** Records first … first + count − 1 of the `total` records that fill `bytes`, laid out for the kernels. */
export function recordBatch(bytes: Uint8Array, total: number, first: number, count: number, name: string): MessageBatch {
  const { starts, lengths } = splitRecords(bytes, total, name);
  if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 || first + count > total) {
    throw new TabgridError(ErrorCode.BadInput, `records ${first}..${first + count - 1} are not among the ${total} of ${name}`);
  }
  const batch = allocateBatch(lengths.subarray(first, first + count));
  for (let i = 0; i < count; i++) batch.data.set(bytes.subarray(starts[first + i], starts[first + i]! + lengths[first + i]!), batch.offsets[i]);
  return batch;
}

function datasetMessages(slice: DatasetSlice, count: number, unitId: string): Messages {
  const name = `the records of ${unitId}`;
  let split: { starts: Uint32Array; lengths: Uint32Array } | undefined;
  const bytes = () => shelf.slice(slice);
  return {
    message: (index) => {
      const b = bytes();
      const { starts, lengths } = (split ??= splitRecords(b, count, name));
      if (!Number.isInteger(index) || index < 0 || index >= count)
        throw new TabgridError(ErrorCode.BadInput, `record ${index} is not among the ${count} of ${name}`);
      return b.subarray(starts[index], starts[index]! + lengths[index]!);
    },
    batch: (first, n) => recordBatch(bytes(), count, first, n, name),
  };
}

/**
 * Unit `index` of a job hashing a records dataset: its `perUnit` records (fewer in the last
 * unit) as a slice, their offsets read from the dataset on the host's shelf.
 */
export function recordsUnitFields(data: { readonly root: string; readonly bytes: number; readonly records: number }, perUnit: number, index: number) {
  const first = index * perUnit;
  const count = Math.min(perUnit, data.records - first);
  if (!Number.isInteger(index) || index < 0 || count < 1) throw new RangeError(`unit ${index} is past the ${data.records} records`);
  const offsets = shelf.records(data.root, MAX_UNIT_MESSAGE_BYTES);
  if (offsets.length !== data.records + 1)
    throw new TabgridError(ErrorCode.BadInput, `dataset ${data.root.slice(0, 12)}… holds ${offsets.length - 1} records, not ${data.records}`);
  const offset = offsets[first]!;
  return { seed: 0, count, messageLength: 0, records: { root: data.root, bytes: data.bytes, offset, length: offsets[first + count]! - offset } };
}

export function sha256BatchInputs(unit: Sha256BatchUnit): Messages {
  if (unit.records) return datasetMessages(unit.records, unit.count, unit.unitId);
  return {
    message: (index) => seededMessage(unit.seed, index, unit.messageLength),
    batch: (first, count) => seededBatch(unit.seed, count, unit.messageLength, first),
  };
}

/** A unit's seed, from its job's seed and its index. */
export { unitSeed } from '../../work/seeded';
