/**
 * One piece of CPU hashing, as a hash worker (hash-worker.ts) or the in-thread fallback
 * computes it: a run of a sha256-batch unit's messages, or a range of proof-of-work nonces.
 * The messages are made where they are hashed (from the unit's seed), so generating them is
 * spread over the workers too and only digests cross postMessage.
 */
import type { Hasher } from '../../hash/sha256-cpu';
import { DIGEST_BYTES, sha256BatchCpu } from '../sha256-batch/batch';
import { sha256BatchInputs } from '../sha256-batch/inputs';
import type { MessageBatch } from '../sha256-batch/batch';
import type { Sha256BatchUnit } from '../sha256-batch/unit';
import { powSearchCpuFast } from '../sha256d-pow/pow';

/** Messages first … first + count − 1 of `unit`. */
export interface BatchPiece {
  readonly kind: 'sha256-batch';
  readonly unit: Sha256BatchUnit;
  readonly first: number;
  readonly count: number;
  /**
   * The messages themselves, for units that read a dataset: a pool worker holds no dataset, so
   * the compute worker (which holds the verified slice) cuts them out. Seeded units' messages
   * are made where they are hashed instead.
   */
  readonly messages?: MessageBatch;
}

/** Nonces start … start + count − 1 of a header, against a target and a share target. */
export interface PowPiece {
  readonly kind: 'sha256d-pow';
  readonly header: Uint8Array;
  readonly target: Uint8Array;
  readonly shareTarget: Uint8Array;
  readonly start: number;
  readonly count: number;
}

export type HashPiece = BatchPiece | PowPiece;

/** Digests back to back (sha256-batch), or the shares and solutions found (proof of work), ascending. */
export type PieceResult = Uint8Array | { readonly shares: number[]; readonly solutions: number[] };

export async function hashPiece(piece: HashPiece, hash: Hasher): Promise<PieceResult> {
  if (piece.kind === 'sha256-batch') {
    const batch = piece.messages ?? sha256BatchInputs(piece.unit).batch(piece.first, piece.count);
    return sha256BatchCpu(batch, hash, 0, piece.count, new Uint8Array(piece.count * DIGEST_BYTES));
  }
  // One chunk: the pool yields and paces between pieces, so the search need not.
  const { shares, solutions } = await powSearchCpuFast(piece.header, piece.start, piece.count, piece.target, piece.shareTarget, {
    chunk: Math.max(1, piece.count),
  });
  return { shares, solutions };
}
