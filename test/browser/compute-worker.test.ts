import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, TabgridError } from '../../src/errors';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { sha256BatchCpu } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import type { Sha256BatchUnit, WorkUnit } from '../../src/protocol';
import { ComputeClient } from '../../src/worker/client';
import { ComputeEngine } from '../../src/worker/engine';

const unit: Sha256BatchUnit = { kernel: 'sha256-batch', jobId: 'j', unitId: 'j/0', seed: 31337, count: 777, messageLength: 64 };

async function expected(u: Sha256BatchUnit): Promise<Uint8Array> {
  return sha256BatchCpu(seededBatch(u.seed, u.count, u.messageLength), await createCpuSha256());
}

describe('compute worker (Comlink)', () => {
  const client = new ComputeClient();
  afterAll(() => client.terminate());

  it('runs a unit in the worker on the backend it chose and returns the CPU reference digests', async () => {
    expect((await client.describe()).backend).toBe('webgpu');
    const progress: number[] = [];
    const out = await client.runUnit(unit, undefined, (done) => progress.push(done));
    // On SwiftShader the CPU may win the calibration; either way the choice is reported.
    expect((await client.describe()).choices?.['sha256-batch']?.backend).toBe(out.backend);
    expect(out.leaves).toEqual(await expected(unit));
    expect(progress.at(-1)).toBe(unit.count);
  });

  it('keeps the TabgridError code across the worker boundary', async () => {
    const bad = { ...unit, kernel: 'matmul' } as unknown as WorkUnit;
    const err = await client.runUnit(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TabgridError);
    expect((err as TabgridError).code).toBe(ErrorCode.BadInput);
  });

  it('aborts a running unit through the AbortSignal', async () => {
    const controller = new AbortController();
    const big = { ...unit, count: 200_000 };
    const run = client.runUnit(big, controller.signal, () => controller.abort());
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
  });

  it('recovers after the worker loses its device', async () => {
    await client.loseDevice();
    const out = await client.runUnit(unit);
    expect(out.leaves).toEqual(await expected(unit));
  });
});

describe('ComputeEngine backend choice', () => {
  it('falls back to the CPU where there is no WebGPU, and says why', async () => {
    const engine = new ComputeEngine({ gpu: () => undefined });
    const info = await engine.describe();
    expect(info.backend).toBe('cpu');
    expect(info.reason).toMatch(/WebGPU/);
    const out = await engine.runUnit(unit);
    expect(out.backend).toBe('cpu');
    expect(out.leaves).toEqual(await expected(unit));
  });

  it('falls back to the CPU when no adapter is offered', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    expect(await new ComputeEngine({ gpu: () => noAdapter }).describe()).toMatchObject({ backend: 'cpu', reason: 'no WebGPU adapter is available' });
  });
});

describe('compute worker throttle', () => {
  const client = new ComputeClient();
  afterAll(() => client.terminate());
  const hashing: Sha256BatchUnit = { ...unit, unitId: 'j/throttle', count: 60_000 };

  async function timed(): Promise<number> {
    const started = performance.now();
    await client.runUnit(hashing);
    return performance.now() - started;
  }

  it('at a quarter share, a unit takes several times as long (the worker idles 3 ms per ms of work)', async () => {
    await client.runUnit(unit); // calibrate the backend choice first, outside the timing
    const full = await timed();
    await client.setThrottle(0.25);
    const quarter = await timed();
    await client.setThrottle(1);
    // 4× in theory; 2× leaves room for a noisy machine.
    expect(quarter).toBeGreaterThan(2 * full);
  });

  it('refuses a share outside 10–100 % with bad-input', async () => {
    await expect(client.setThrottle(0.01)).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });
});
