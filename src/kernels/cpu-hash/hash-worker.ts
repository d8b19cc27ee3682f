/**
 * A CPU hashing worker: computes one piece (pieces.ts) per call, over Comlink. CpuHashPool
 * (pool.ts) runs several of these in parallel, so hashing uses every core. Errors are
 * TabgridErrors and keep their code across Comlink.
 */
import { expose, transfer } from 'comlink';
import { createCpuSha256 } from '../../hash/sha256-cpu';
import { installErrorTransfer } from '../../thread/error-transfer';
import { hashPiece, type HashPiece, type PieceResult } from './pieces';

installErrorTransfer();

// WebAssembly instantiation starts with the worker, not with its first piece.
const hasher = createCpuSha256();

const api = {
  async run(piece: HashPiece): Promise<PieceResult> {
    const out = await hashPiece(piece, await hasher);
    return out instanceof Uint8Array ? transfer(out, [out.buffer]) : out;
  },
};

export type CpuHashWorkerApi = typeof api;

expose(api);
