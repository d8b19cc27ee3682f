/**
 * Kernel benchmarks in one page, on one adapter, in one run: each of our kernels against the
 * best peer available here. Wall time includes upload and readback for both sides.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { createSHA256 } from 'hash-wasm';
import { MemoryTuneCache } from '../../src/gpu/tune-cache';
import { tuneMatmul } from '../../src/kernels/matmul/autotune';
import { GpuDevices } from '../../src/gpu/device';
import { MatmulGpu, MatmulKind, configKey } from '../../src/kernels/matmul/gpu';
import { Sha256Gpu } from '../../src/kernels/sha256-batch/gpu';
import { Sha256dPowGpu } from '../../src/kernels/sha256d-pow/gpu';
import { meetsTarget, powSearchCpuFast, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';
import { CpuMatmulPool } from '../../src/kernels/matmul/cpu-pool';
import { CpuHashPool } from '../../src/kernels/cpu-hash/pool';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { seededRandom } from '../../src/work/seeded';
import { compare, table, type BenchRow } from './measure';
import { verificationCosts, verifyTable, type VerifyCost } from './verify-cost';

declare global {
  interface Window {
    benchResults?: { adapter: unknown; tuned: unknown; rows: BenchRow[]; verification: VerifyCost[]; table: string; error?: string };
  }
}

const out = document.getElementById('out')!;
const log = (line: string) => {
  out.textContent = out.textContent === 'running…' ? line : `${out.textContent}\n${line}`;
};

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const sizes = (params.get('sizes') ?? '256,512,1024').split(',').map(Number);
  const devices = new GpuDevices();
  const adapter = await devices.adapter();
  const matmul = new MatmulGpu(devices);
  const cache = new MemoryTuneCache();
  const adapterKey = `${adapter.vendor}/${adapter.architecture}/${adapter.description}`;
  const tunedF32 = await tuneMatmul(matmul, MatmulKind.F32, { adapterKey, cache });
  const tunedModp = await tuneMatmul(matmul, MatmulKind.Modp, { adapterKey, cache });
  log(`adapter ${adapterKey} (fallback: ${adapter.isFallbackAdapter}); tuned f32 ${configKey(tunedF32.config)}, modp ${configKey(tunedModp.config)}`);

  await tf.setBackend('webgpu');
  await tf.ready();
  const rows: BenchRow[] = [];
  const random = seededRandom(1);

  for (const n of sizes) {
    const shape = { m: n, n, k: n };
    const a = Float32Array.from({ length: n * n }, () => random() - 0.5);
    const b = Float32Array.from({ length: n * n }, () => random() - 0.5);
    const runs = n >= 1024 ? 3 : 5;
    rows.push(
      await compare(
        'matmul-f32',
        `${n}×${n}×${n}`,
        2 * n ** 3,
        'FLOP',
        [`tabgrid ${configKey(tunedF32.config)}`, () => matmul.f32(a, b, shape, tunedF32.config)],
        [
          'TF.js 4.22 webgpu',
          async () => {
            const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])));
            await c.data();
            c.dispose();
          },
        ],
        runs,
      ),
    );
    log(table(rows.slice(-1)).split('\n').at(-1)!);
  }

  // The CPU fallback against TF.js's CPU backend, and modp on the GPU against our CPU pool
  // (no GPU library multiplies modulo a prime).
  const pool = new CpuMatmulPool();
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  for (const n of sizes.filter((x) => x <= 512)) {
    const shape = { m: n, n, k: n };
    const a = Float32Array.from({ length: n * n }, () => random() - 0.5);
    const b = Float32Array.from({ length: n * n }, () => random() - 0.5);
    rows.push(
      await compare(
        'matmul-f32 (CPU fallback)',
        `${n}×${n}×${n}`,
        2 * n ** 3,
        'FLOP',
        [`tabgrid CPU pool (${await pool.kernel()})`, () => pool.matmulF32(a, b, shape)],
        [
          'TF.js 4.22 cpu',
          async () => {
            const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])));
            await c.data();
            c.dispose();
          },
        ],
        3,
      ),
    );
    log(table(rows.slice(-1)).split('\n').at(-1)!);
    const p = 65521;
    const au = Uint32Array.from(a, (x) => Math.floor((x + 0.5) * (p - 1)));
    const bu = Uint32Array.from(b, (x) => Math.floor((x + 0.5) * (p - 1)));
    rows.push(
      await compare(
        'matmul-modp',
        `${n}×${n}×${n}`,
        2 * n ** 3,
        'OP',
        [`tabgrid ${configKey(tunedModp.config)}`, () => matmul.modp(au, bu, shape, p, tunedModp.config)],
        [`tabgrid CPU pool (${await pool.kernel()})`, () => pool.matmulModp(au, bu, shape, p)],
        3,
      ),
    );
    log(table(rows.slice(-1)).split('\n').at(-1)!);
  }
  await tf.setBackend('webgpu');

  // SHA-256 of a batch: GPU vs hash-wasm on the CPU (the fastest CPU SHA-256 for the web).
  const hash = await createSHA256();
  const hasher = (...parts: Uint8Array[]) => {
    hash.init();
    for (const p of parts) hash.update(p);
    return hash.digest('binary');
  };
  const sha = new Sha256Gpu(devices);
  for (const count of [65536]) {
    const batch = seededBatch(9, count, 64);
    rows.push(
      await compare(
        'sha256-batch',
        `${count} × 64 B`,
        count,
        'hash',
        ['tabgrid sha256-batch kernel', () => sha.hash(batch)],
        ['hash-wasm 4.13 (CPU)', async () => sha256BatchCpu(batch, hasher)],
      ),
    );
    log(table(rows.slice(-1)).split('\n').at(-1)!);
  }

  // Proof-of-work nonce search: GPU and our midstate CPU search vs a hash-wasm double-hash loop.
  const pow = new Sha256dPowGpu(devices);
  const header = Uint8Array.from({ length: 80 }, () => Math.floor(random() * 256));
  const [target, share] = [targetFromLeadingZeroBits(32), targetFromLeadingZeroBits(12)];
  const nonces = 1 << 16;
  const hashWasmSearch = async () => {
    const h = header.slice();
    const view = new DataView(h.buffer);
    const shares: number[] = [];
    for (let nonce = 0; nonce < nonces; nonce++) {
      view.setUint32(76, nonce, true);
      if (meetsTarget(hasher(hasher(h)), share)) shares.push(nonce);
    }
    return shares;
  };
  rows.push(
    await compare(
      'sha256d-pow',
      `${nonces} nonces`,
      nonces,
      'nonce',
      ['tabgrid sha256d-pow kernel', () => pow.search(header, 0, nonces, target, share)],
      ['hash-wasm 4.13 loop (CPU)', hashWasmSearch],
      3,
    ),
  );
  log(table(rows.slice(-1)).split('\n').at(-1)!);
  rows.push(
    await compare(
      'sha256d-pow (CPU fallback)',
      `${nonces} nonces`,
      nonces,
      'nonce',
      ['tabgrid midstate search (JS)', () => powSearchCpuFast(header, 0, nonces, target, share)],
      ['hash-wasm 4.13 loop (CPU)', hashWasmSearch],
      3,
    ),
  );
  log(table(rows.slice(-1)).split('\n').at(-1)!);

  // The volunteer's CPU hashing (cpu-hash/pool.ts): every core against one worker.
  const cores = navigator.hardwareConcurrency;
  const onePool = new CpuHashPool({ workers: 1 });
  const allPool = new CpuHashPool({ workers: cores });
  const shaUnit = { kernel: 'sha256-batch', jobId: 'bench', unitId: 'bench/0', seed: 9, count: 1 << 17, messageLength: 64 } as const;
  rows.push(
    await compare(
      'sha256-batch (CPU pool)',
      `${shaUnit.count} × 64 B`,
      shaUnit.count,
      'hash',
      [`${cores} workers`, () => allPool.sha256Batch(shaUnit, 0, shaUnit.count)],
      ['1 worker', () => onePool.sha256Batch(shaUnit, 0, shaUnit.count)],
    ),
  );
  log(table(rows.slice(-1)).split('\n').at(-1)!);
  rows.push(
    await compare(
      'sha256d-pow (CPU pool)',
      `${nonces * 16} nonces`,
      nonces * 16,
      'nonce',
      [`${cores} workers`, () => allPool.powSearch(header, 0, nonces * 16, target, share)],
      ['1 worker', () => onePool.powSearch(header, 0, nonces * 16, target, share)],
      3,
    ),
  );
  log(table(rows.slice(-1)).split('\n').at(-1)!);
  onePool.terminate();
  allPool.terminate();

  log('verification cost at 1024² and friends…');
  const verification = await verificationCosts(matmul, tunedF32.config, pool, hasher);
  pool.terminate();
  const both = `${table(rows)}\n\n${verifyTable(verification)}`;
  window.benchResults = { adapter, tuned: { f32: tunedF32, modp: tunedModp }, rows, verification, table: both };
  log('\n' + both);
}

main().catch((err: unknown) => {
  log(`failed: ${String(err)}`);
  window.benchResults = { adapter: null, tuned: null, rows: [], verification: [], table: '', error: String(err) };
});
