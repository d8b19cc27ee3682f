/**
 * A CPU matmul worker: computes one band of rows of C per call, over Comlink. CpuMatmulPool
 * (cpu-pool.ts) runs several of these in parallel; each keeps the current products' B so that
 * B crosses postMessage (or is shared) once per worker per product, not once per band.
 *
 * Kernels: WebAssembly SIMD where the browser has it (matmul-simd.ts), else the scalar JS
 * kernels (matmul-cpu.ts). Errors are TabgridErrors and keep their code across Comlink.
 */
import { expose, transfer } from 'comlink';
import { ErrorCode, TabgridError } from '../../errors';
import { checkResidues } from './matmul';
import { matmulF32Rows, matmulModpRows } from './matmul-cpu';
import { createSimdMatmul } from './matmul-simd';
import { installErrorTransfer } from '../../thread/error-transfer';

installErrorTransfer();

export type CpuKernelName = 'wasm-simd' | 'js';

/** One band: rows [rowStart, rowEnd) of C, from those rows of A. */
export interface BandRequest {
  /** The pool's id for the product, naming the B this worker keeps between bands. */
  readonly job: number;
  readonly kind: 'f32' | 'modp';
  readonly n: number;
  readonly k: number;
  /** The prime for `modp`; ignored for `f32`. */
  readonly p: number;
  readonly rowStart: number;
  readonly rowEnd: number;
  /** Rows rowStart..rowEnd of A ((rowEnd − rowStart) × k). */
  readonly a: Float32Array | Uint32Array;
  /** B (k × n): sent with the first band of a job this worker sees, omitted afterwards. */
  readonly b?: Float32Array | Uint32Array;
}

const simd = createSimdMatmul();
const jobs = new Map<number, Float32Array | Uint32Array>();

function runBand(req: BandRequest): Float32Array | Uint32Array {
  const { job, kind, n, k, p, rowStart, rowEnd, a } = req;
  if (req.b) {
    // Checked once per worker and job; in parallel across workers, so cheap in wall time.
    if (kind === 'modp') checkResidues('B', req.b as Uint32Array, p);
    jobs.set(job, req.b);
  }
  const b = jobs.get(job);
  if (!b) throw new TabgridError(ErrorCode.BadInput, `no B was sent for matmul job ${job}`);
  const rows = rowEnd - rowStart;
  const shape = { m: rows, n, k };
  if (kind === 'f32') {
    if (!(a instanceof Float32Array) || !(b instanceof Float32Array)) throw new TabgridError(ErrorCode.BadInput, 'f32 matmul needs Float32Array operands');
    const out = new Float32Array(rows * n);
    if (simd) simd.matmulF32Rows(a, b, shape, 0, rows, out);
    else matmulF32Rows(a, b, shape, 0, rows, out);
    return out;
  }
  if (!(a instanceof Uint32Array) || !(b instanceof Uint32Array)) throw new TabgridError(ErrorCode.BadInput, 'mod-p matmul needs Uint32Array operands');
  checkResidues(`A (rows from ${rowStart})`, a, p);
  const out = new Uint32Array(rows * n);
  if (simd) simd.matmulModpRows(a, b, shape, p, 0, rows, out);
  else matmulModpRows(a, b, shape, p, 0, rows, out);
  return out;
}

const api = {
  kernel(): CpuKernelName {
    return simd ? 'wasm-simd' : 'js';
  },

  run(req: BandRequest): Float32Array | Uint32Array {
    const out = runBand(req);
    return transfer(out, [out.buffer]);
  },

  /** Forgets a finished product's B. */
  drop(job: number): void {
    if (jobs.delete(job)) simd?.release();
  },
};

export type CpuMatmulWorkerApi = typeof api;

expose(api);
