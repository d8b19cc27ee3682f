import { describe, expect, it } from 'vitest';
import type { AdapterSummary } from '../../src/gpu/device';
import { BackendChooser, parseBackend } from '../../src/worker/backend-choice';

const software: AdapterSummary = { vendor: 'google', architecture: 'swiftshader', description: '', isFallbackAdapter: true };
const hardware: AdapterSummary = { vendor: 'acme', architecture: 'rdna9', description: '', isFallbackAdapter: false };

/** A fake clock that each fake kernel advances by its cost. */
function clock() {
  let t = 0;
  return { now: () => t, run: (ms: number) => async () => void (t += ms) };
}

describe('BackendChooser', () => {
  it('uses the CPU without an adapter and the GPU on a hardware adapter, without timing', async () => {
    const c = clock();
    let timed = 0;
    const calibration = { gpu: async () => void timed++, cpu: async () => void timed++ };
    expect(await new BackendChooser(async () => undefined, c.now).choose('k', calibration)).toMatchObject({ backend: 'cpu' });
    expect(await new BackendChooser(async () => hardware, c.now).choose('k', calibration)).toMatchObject({ backend: 'webgpu' });
    expect(timed).toBe(0);
  });

  it('on a software adapter, picks the faster backend per kernel and remembers it', async () => {
    const c = clock();
    let calls = 0;
    const chooser = new BackendChooser(async () => software, c.now);
    const slowGpu = { gpu: async () => void (calls++, await c.run(50)()), cpu: c.run(10) };
    const fastGpu = { gpu: c.run(5), cpu: c.run(10) };
    expect(await chooser.choose('sha256', slowGpu)).toMatchObject({ backend: 'cpu', gpuMs: 50, cpuMs: 10 });
    expect(await chooser.choose('matmul', fastGpu)).toMatchObject({ backend: 'webgpu', gpuMs: 5, cpuMs: 10 });
    const before = calls;
    expect(await chooser.choose('sha256', fastGpu)).toMatchObject({ backend: 'cpu' });
    expect(calls).toBe(before);
    expect(Object.keys(await chooser.known()).sort()).toEqual(['matmul', 'sha256']);
  });

  it('obeys a forced backend, and says when WebGPU was required but is missing', async () => {
    const never = { gpu: async () => Promise.reject(new Error('timed')), cpu: async () => Promise.reject(new Error('timed')) };
    expect(await new BackendChooser(async () => software, undefined, 'cpu').choose('k', never)).toMatchObject({ backend: 'cpu' });
    expect(await new BackendChooser(async () => software, undefined, 'webgpu').choose('k', never)).toMatchObject({ backend: 'webgpu' });
    await expect(new BackendChooser(async () => undefined, undefined, 'webgpu').choose('k', never)).rejects.toMatchObject({ code: 'no-webgpu' });
    await expect(
      new BackendChooser(
        async () => undefined,
        undefined,
        'webgpu',
        () => 'no adapter here',
      ).choose('k', never),
    ).rejects.toMatchObject({
      message: 'backend=webgpu was forced, but no adapter here',
    });
  });

  it('parses a forced backend: webgpu, cpu, or none; anything else is refused', () => {
    expect(parseBackend('webgpu')).toBe('webgpu');
    expect(parseBackend(' CPU ')).toBe('cpu');
    expect(parseBackend(null)).toBeUndefined();
    expect(parseBackend('')).toBeUndefined();
    expect(() => parseBackend('gpu')).toThrow(expect.objectContaining({ code: 'bad-input', message: 'backend "gpu" is not one of webgpu, cpu' }));
  });

  it('does not remember a calibration that failed', async () => {
    const chooser = new BackendChooser(async () => software);
    const failing = { gpu: async () => Promise.reject(new Error('device lost')), cpu: async () => undefined };
    await expect(chooser.choose('k', failing)).rejects.toThrow('device lost');
    expect(await chooser.choose('k', { gpu: async () => undefined, cpu: async () => undefined })).toMatchObject({ backend: expect.any(String) });
  });
});
