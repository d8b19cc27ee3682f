/**
 * A hashing unit's input source: its messages, derived from its seed (work/seeded.ts), so a
 * unit travels as a few numbers and the host can rebuild any one message to check a digest.
 * Every user of a unit's messages (the compute worker, the host's checks, the reference) asks
 * here, so another source (a dataset) is a change to this file.
 */
import { ErrorCode, TabgridError } from '../../errors';
import { fillSeededMessage, seededMessage } from '../../work/seeded';
import { allocateBatch, type MessageBatch } from './batch';
import type { Sha256BatchUnit } from './unit';

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

export function sha256BatchInputs(unit: Sha256BatchUnit): Messages {
  return {
    message: (index) => seededMessage(unit.seed, index, unit.messageLength),
    batch: (first, count) => seededBatch(unit.seed, count, unit.messageLength, first),
  };
}

/** A unit's seed, from its job's seed and its index. */
export { unitSeed } from '../../work/seeded';
