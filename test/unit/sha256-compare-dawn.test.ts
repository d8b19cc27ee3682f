/**
 * Old vs new SHA-256 kernels, kernel only, in one run on Dawn in Node (test/bench/sha256-kernels.ts):
 * a measurement, run by hand, skipped unless TABGRID_SHA256_COMPARE is set. Every kernel's
 * digests are checked against the reference. On lavapipe (the dawn project's Vulkan):
 *
 *   TABGRID_SHA256_COMPARE=1 npx vitest run --project dawn test/unit/sha256-compare-dawn.test.ts
 *
 * (Run outside the dawn project with VK_ICD_FILENAMES naming Chromium's SwiftShader ICD, and
 * lavapipe's LD_LIBRARY_PATH for the Vulkan loader, it runs on SwiftShader.) The replaced
 * kernels are read from git at TABGRID_SHA256_OLD (default 78c7618, the last commit with them).
 * On a software adapter the times are CPU figures: quote ratios within one run; the CPU-time
 * columns (this process's threads run the kernel) are steadier than wall time on a busy machine.
 */
import { execFileSync } from 'node:child_process';
import { describe, it } from 'vitest';
import { dawnGpu } from '../helpers/dawn-device';
import { sha256Ref } from '../../src/hash/sha256-ref';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';
import { ratioTable, timePow, timeSha256Batch } from '../bench/sha256-kernels';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

describe.skipIf(!process.env.TABGRID_SHA256_COMPARE)('sha256 kernels, old vs new (measurement)', () => {
  it('times both on the same device', { timeout: 600_000 }, async () => {
    const commit = process.env.TABGRID_SHA256_OLD ?? '78c7618';
    const show = (path: string) => execFileSync('git', ['show', `${commit}:${path}`], { encoding: 'utf8' });
    const old = { batch: show('src/kernels/sha256-batch/sha256.wgsl'), pow: show('src/kernels/sha256d-pow/sha256d-pow.wgsl') };
    const dawn = await dawnGpu();
    if ('skip' in dawn) throw new Error(dawn.skip);
    const { adapter } = dawn;
    const device = await adapter.requestDevice();
    const cpu = () => {
      const used = process.cpuUsage();
      return (used.user + used.system) / 1000;
    };
    const runs = env('TABGRID_SHA256_RUNS', 3);
    const batch = seededBatch(1, env('TABGRID_SHA256_MESSAGES', 16384), 64);
    const rows = await timeSha256Batch(device, old, batch, sha256BatchCpu(batch, sha256Ref), 4, runs, cpu);
    const nonces = env('TABGRID_SHA256_NONCES', 131072);
    rows.push(...(await timePow(device, old, seededBatch(2, 1, 80).data, targetFromLeadingZeroBits(12), nonces, 4, runs, cpu)));
    console.log(ratioTable(rows, `${adapter.info.vendor} ${adapter.info.description}`.trim()));
    device.destroy();
  });
});
