import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/free-port';
import { startHost, startSignaling } from '../../scripts/stack';
import type { AcceptedResult } from '../../src/host/host-options';
import type { JobSpec } from '../../src/host/job';
import type { VerdictEvent } from '../../src/host/host-views';
import { dawnTestEnv } from '../helpers/dawn-device';
import { until } from '../helpers/until';

const run = promisify(execFile);
const dawn = dawnTestEnv();

// Every kernel with a GPU runner, in small units; the host checks them as always (sampled digests
// against its own, Freivalds on every product, every share rechecked).
const jobs: JobSpec[] = [
  { id: 'dawn-sha256', kernel: 'sha256-batch', units: 2, messagesPerUnit: 64, messageLength: 200, seed: 31, samples: 64 },
  { id: 'dawn-pow', kernel: 'sha256d-pow', units: 2, seed: 32, noncesPerUnit: 1 << 14, shareBits: 6, targetBits: 12 },
  { id: 'dawn-f32', kernel: 'matmul-f32', units: 2, m: 40, n: 36, k: 52, seed: 33, verify: { policy: 'freivalds' } },
  { id: 'dawn-modp', kernel: 'matmul-modp', units: 2, m: 40, n: 36, k: 52, p: 65521, seed: 34, verify: { policy: 'freivalds' } },
  { id: 'dawn-i8', kernel: 'matmul-i8', units: 2, m: 40, n: 36, k: 52, seed: 35, verify: { policy: 'freivalds' } },
];

describe('npm run volunteer -- --gpu dawn', () => {
  it.skipIf('skip' in dawn)(
    'computes units of every GPU kernel on Dawn (lavapipe) and the host accepts them all',
    async () => {
      if ('skip' in dawn) return;
      const signaling = await startSignaling(await freePort());
      const hostId = `dawn-volunteer-${process.pid}`;
      const accepted: AcceptedResult[] = [];
      const verdicts: VerdictEvent[] = [];
      const { core, host } = await startHost({
        jobs,
        signalUrl: signaling.url,
        hostId,
        onAccepted: (r) => accepted.push(r),
        onVerdict: (v) => verdicts.push(v),
      });
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'scripts/volunteer.ts',
          '--signal',
          signaling.url,
          '--host',
          hostId,
          '--stun',
          'stun:127.0.0.1:9',
          '--gpu',
          'dawn',
          '--backend',
          'webgpu',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: dawn.env },
      );
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      try {
        // Not thrown here: the assertions below show the volunteer's output when it did not finish.
        await until(() => core.done || child.exitCode !== null, 35_000, 50).catch(() => undefined);
      } finally {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
        host.close();
        await signaling.close();
      }
      expect(core.done, output).toBe(true);
      expect(verdicts.filter((v) => v.verdict !== 'accepted')).toEqual([]);
      expect(accepted).toHaveLength(jobs.reduce((n, j) => n + j.units, 0));
      for (const job of jobs) expect(accepted.filter((r) => r.unitId.startsWith(`${job.id}/`)).length, job.id).toBe(job.units);
      // Every result was computed on Dawn's adapter, which the volunteer named when it started.
      expect(
        accepted.every((r) => r.backend === 'webgpu' && /^WebGPU: mesa software llvmpipe/.test(r.adapter ?? '')),
        JSON.stringify(accepted),
      ).toBe(true);
      expect(output).toMatch(/engine on Dawn: WebGPU adapter mesa \/ software \/ llvmpipe: Mesa 25[^\n]*every kernel forced to webgpu/);
    },
    50_000,
  );

  it('refuses --gpu values it does not know, and Dawn flags without --gpu dawn', async () => {
    const failed = (args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/volunteer.ts', ...args], { timeout: 20_000 }).then(
        () => '',
        (err: { stderr: string }) => err.stderr,
      );
    const [bad, loose] = await Promise.all([failed(['--gpu', 'cuda']), failed(['--backend', 'webgpu'])]);
    expect(bad).toMatch(/--gpu cuda must be dawn or none/);
    expect(loose).toMatch(/--dawn-flag and --backend choose how the engine on Dawn runs: they need --gpu dawn/);
  }, 30_000);
});

describe('the GPU machine bundle (scripts/gpu-machine)', () => {
  it.skipIf('skip' in dawn)(
    'builds into one file that runs the volunteer self-check on Dawn: every GPU kernel accepted by the host',
    async () => {
      if ('skip' in dawn) return;
      const dir = mkdtempSync(join(tmpdir(), 'gpu-machine-'));
      try {
        await run(process.execPath, ['scripts/gpu-machine/build.mjs', dir], { timeout: 60_000 });
        // Laid out as run.sh lays it out: Dawn's package beside the bundle, no node_modules.
        symlinkSync(join(process.cwd(), 'node_modules/webgpu'), join(dir, 'webgpu'));
        const { stdout } = await run(process.execPath, [join(dir, 'tabgrid-gpu.mjs'), 'selfcheck', '--out', join(dir, 'selfcheck.json')], {
          cwd: dir,
          env: dawn.env,
          timeout: 60_000,
        });
        const result = JSON.parse(readFileSync(join(dir, 'selfcheck.json'), 'utf8')) as {
          pass: boolean;
          accepted: number;
          expected: number;
          adapter: string;
          problems: string[];
        };
        expect(result, stdout).toMatchObject({ pass: true, accepted: 10, expected: 10, problems: [] });
        expect(result.adapter).toMatch(/^WebGPU: mesa software llvmpipe/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
