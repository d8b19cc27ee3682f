import { ErrorCode, TabgridError } from '../../errors';
import type { Hasher } from '../../hash/sha256-cpu';

/** The longest single message the batch kernels accept (1 MiB): keeps one invocation short. */
export const SHA256_MAX_MESSAGE_BYTES = 1 << 20;
/** The most bytes one batch may hold (64 MiB), under WebGPU's default storage binding limit. */
export const SHA256_MAX_BATCH_BYTES = 64 << 20;
export const DIGEST_BYTES = 32;

/**
 * A batch of messages laid out for the GPU: the bytes back to back, each message starting at a
 * multiple of 4 so the kernel can read whole words.
 */
export interface MessageBatch {
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
}

const align4 = (n: number) => (n + 3) & ~3;

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > SHA256_MAX_MESSAGE_BYTES) {
    throw new TabgridError(ErrorCode.BadInput, `message length ${length} is outside 0..${SHA256_MAX_MESSAGE_BYTES}`);
  }
}

/** An empty batch of messages of these lengths, laid out as the kernels read it. */
export function allocateBatch(lengths: ArrayLike<number>): MessageBatch {
  const offsets = new Uint32Array(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    checkLength(lengths[i]!);
    offsets[i] = at;
    at += align4(lengths[i]!);
    if (at > SHA256_MAX_BATCH_BYTES) throw new TabgridError(ErrorCode.BadInput, `batch exceeds ${SHA256_MAX_BATCH_BYTES} bytes`);
  }
  return { data: new Uint8Array(at), offsets, lengths: Uint32Array.from(lengths) };
}

export function packMessages(messages: readonly Uint8Array[]): MessageBatch {
  const batch = allocateBatch(messages.map((m) => m.length));
  messages.forEach((m, i) => batch.data.set(m, batch.offsets[i]));
  return batch;
}

export function batchMessage(batch: MessageBatch, index: number): Uint8Array {
  return batch.data.subarray(batch.offsets[index], batch.offsets[index]! + batch.lengths[index]!);
}

/** Checks a batch that came from elsewhere (a peer, a caller) before it reaches the GPU. */
export function validateBatch(batch: MessageBatch): void {
  const { data, offsets, lengths } = batch;
  if (offsets.length !== lengths.length || offsets.length === 0) {
    throw new TabgridError(ErrorCode.BadInput, `batch needs as many offsets as lengths, at least one (${offsets.length}/${lengths.length})`);
  }
  if (data.length > SHA256_MAX_BATCH_BYTES) throw new TabgridError(ErrorCode.BadInput, `batch exceeds ${SHA256_MAX_BATCH_BYTES} bytes`);
  for (let i = 0; i < offsets.length; i++) {
    checkLength(lengths[i]!);
    if (offsets[i]! % 4 !== 0 || offsets[i]! + lengths[i]! > data.length) {
      throw new TabgridError(ErrorCode.BadInput, `message ${i} (offset ${offsets[i]}, length ${lengths[i]}) is misaligned or outside the data`);
    }
  }
}

/** CPU SHA-256 of every message in the batch: count × 32 bytes of digests, in order. */
export function sha256BatchCpu(batch: MessageBatch, hash: Hasher, from = 0, to = batch.lengths.length, out?: Uint8Array): Uint8Array {
  const digests = out ?? new Uint8Array(batch.lengths.length * DIGEST_BYTES);
  for (let i = from; i < to; i++) digests.set(hash(batchMessage(batch, i)), i * DIGEST_BYTES);
  return digests;
}
