/**
 * What checking a result costs the host, against what computing it costs a volunteer, for each
 * kernel's verification policy, timed in one run on this machine (the host's checks run on its
 * CPU; the compute side on the backend a volunteer would use here).
 */
import { buildMerkleTreeOfChunks, merklePath } from '../../src/hash/merkle';
import type { Hasher } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { sharesRoot, checkPowResult } from '../../src/kernels/sha256d-pow/recheck';
import { checkOpenings, chooseChallenge } from '../../src/host/verify-openings';
import { sha256LeafCheck } from '../../src/kernels/sha256-batch/leaf-check';
import type { MatmulConfig, MatmulGpu } from '../../src/kernels/matmul/gpu';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { powSearchCpuFast, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';
import { freivaldsF32 } from '../../src/proof/freivalds-f32';
import { freivaldsModp } from '../../src/proof/freivalds-modp';
import type { CpuMatmulPool } from '../../src/kernels/matmul/cpu-pool';
import { seededRandom } from '../../src/work/seeded';
import { medianMs } from './measure';

export interface VerifyCost {
  readonly kernel: string;
  readonly size: string;
  readonly policy: string;
  readonly compute: string;
  readonly computeMs: number;
  readonly verifyMs: number;
  /** verifyMs / computeMs: the fraction of the work the host redoes. */
  readonly ratio: number;
}

const row = (kernel: string, size: string, policy: string, compute: string, computeMs: number, verifyMs: number): VerifyCost => ({
  kernel,
  size,
  policy,
  compute,
  computeMs,
  verifyMs,
  ratio: verifyMs / computeMs,
});

export async function verificationCosts(gpu: MatmulGpu, f32Config: MatmulConfig, pool: CpuMatmulPool, hash: Hasher): Promise<VerifyCost[]> {
  const random = seededRandom(77);
  const n = 1024;
  const shape = { m: n, n, k: n };
  const out: VerifyCost[] = [];

  // f32: the faster of the tuned GPU kernel and the CPU pool computes; Freivalds, 2 rounds, checks.
  const a = Float32Array.from({ length: n * n }, () => random() - 0.5);
  const b = Float32Array.from({ length: n * n }, () => random() - 0.5);
  const gpuMs = await medianMs(() => gpu.f32(a, b, shape, f32Config), 3);
  const cpuMs = await medianMs(() => pool.matmulF32(a, b, shape), 3);
  const c = await pool.matmulF32(a, b, shape);
  out.push(
    row(
      'matmul-f32',
      '1024³',
      'Freivalds, 2 rounds',
      gpuMs < cpuMs ? 'GPU' : 'CPU pool',
      Math.min(gpuMs, cpuMs),
      await medianMs(async () => freivaldsF32(a, b, c, shape), 3),
    ),
  );

  // modp: the CPU pool computes (on a software adapter it beats the GPU by far).
  const p = 65521;
  const au = Uint32Array.from(a, (x) => Math.floor((x + 0.5) * (p - 1)));
  const bu = Uint32Array.from(b, (x) => Math.floor((x + 0.5) * (p - 1)));
  const cu = await pool.matmulModp(au, bu, shape, p);
  out.push(
    row(
      'matmul-modp',
      '1024³',
      'Freivalds, 2 rounds',
      'CPU pool',
      await medianMs(() => pool.matmulModp(au, bu, shape, p), 3),
      await medianMs(async () => freivaldsModp(au, bu, cu, shape, p), 3),
    ),
  );

  // Hashing: 16 challenged leaves out of 2^20, each rehashed and its audit path checked.
  const unit = { kernel: 'sha256-batch', jobId: 'b', unitId: 'b/0', seed: 5, count: 1 << 20, messageLength: 64 } as const;
  let digests: Uint8Array = new Uint8Array(0);
  const hashMs = await medianMs(async () => (digests = sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash)), 3);
  const tree = buildMerkleTreeOfChunks(digests, 32, hash);
  const root = toHex(tree.root);
  const indices = chooseChallenge(unit.count, 16, random);
  const openings = indices.map((index) => ({ index, leaf: toHex(digests.subarray(32 * index, 32 * index + 32)), path: merklePath(tree, index).map(toHex) }));
  const check = () => checkOpenings(unit, root, indices, openings, hash, sha256LeafCheck(unit, hash));
  if (check() !== undefined) throw new Error('the honest openings failed');
  out.push(row('sha256-batch', '2^20 × 64 B', 'challenge, 16 leaves', 'CPU (hash-wasm)', hashMs, await medianMs(async () => check(), 5)));

  // Proof of work: every share rechecked; the search is the midstate CPU search.
  const header = Uint8Array.from({ length: 80 }, () => Math.floor(random() * 256));
  const [target, share] = [targetFromLeadingZeroBits(32), targetFromLeadingZeroBits(10)];
  const nonces = 1 << 20;
  let shares: number[] = [];
  const searchMs = await medianMs(async () => (shares = (await powSearchCpuFast(header, 0, nonces, target, share)).shares), 3);
  const powUnit = {
    kernel: 'sha256d-pow',
    jobId: 'p',
    unitId: 'p/0',
    header: toHex(header),
    nonceStart: 0,
    nonceCount: nonces,
    target: toHex(target),
    shareTarget: toHex(share),
  } as const;
  const sharesRootHex = sharesRoot(shares, hash);
  out.push(
    row(
      'sha256d-pow',
      '2^20 nonces',
      'every share rechecked',
      'CPU (midstate)',
      searchMs,
      await medianMs(async () => checkPowResult(powUnit, sharesRootHex, shares, hash), 5),
    ),
  );
  return out;
}

export function verifyTable(rows: readonly VerifyCost[]): string {
  const lines = ['| kernel | size | check | computed on | compute ms | verify ms | verify / compute |', '|---|---|---|---|---:|---:|---:|'];
  for (const r of rows)
    lines.push(
      `| ${r.kernel} | ${r.size} | ${r.policy} | ${r.compute} | ${r.computeMs.toFixed(1)} | ${r.verifyMs.toFixed(2)} | ${(100 * r.ratio).toFixed(2)} % |`,
    );
  return lines.join('\n');
}
