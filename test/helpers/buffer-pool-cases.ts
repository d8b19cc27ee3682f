import { expect, it } from 'vitest';
import { ErrorCode, isTabgridError } from '../../src/errors';
import { BufferPool, bufferPoolOf } from '../../src/gpu/buffer-pool';
import type { GpuDevices } from '../../src/gpu/device';
import { DispatchPacer } from '../../src/gpu/pacer';
import { runPaced, submitDispatch, withRunBuffers, writeBytes } from '../../src/gpu/run';

/** The device's buffer pool and the run plumbing (gpu/buffer-pool.ts, gpu/run.ts); shared by the SwiftShader (browser) and Dawn (unit) files. */
export function bufferPoolCases(devices: () => GpuDevices) {
  const usage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

  it('never lends a buffer whose queued work is unfinished, and lends it again after', async () => {
    const device = await devices().acquire();
    const pool = new BufferPool(device);
    const first = pool.acquire(4096, usage(), 'first');
    device.queue.writeBuffer(first, 0, new Uint32Array(1024).fill(7));
    pool.release(first);
    const second = pool.acquire(4000, usage(), 'second');
    expect(second).not.toBe(first);
    await device.queue.onSubmittedWorkDone();
    await Promise.resolve();
    const third = pool.acquire(4096, usage(), 'third');
    expect(third).toBe(first);
    expect(pool.stats()).toMatchObject({ created: 2, reused: 1, lent: 2 });
    // Another usage is another key.
    expect(pool.acquire(4096, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'u')).not.toBe(second);
    expect(() => pool.release(device.createBuffer({ size: 16, usage: usage() }))).toThrow(/not lent/);
    pool.destroy();
  });

  it('keeps at most capBytes idle and destroys the rest; a destroyed pool refuses to lend', async () => {
    const device = await devices().acquire();
    const pool = new BufferPool(device, { capBytes: 5000 });
    const bufs = [pool.acquire(4096, usage(), 'a'), pool.acquire(4096, usage(), 'b')];
    for (const b of bufs) pool.release(b, Promise.resolve());
    await Promise.resolve();
    await Promise.resolve();
    expect(pool.stats()).toMatchObject({ idle: 1, idleBytes: 4096, lent: 0, pending: 0 });
    pool.destroy();
    expect(pool.stats()).toMatchObject({ idle: 0, idleBytes: 0 });
    let caught: unknown;
    try {
      pool.acquire(16, usage(), 'late');
    } catch (err) {
      caught = err;
    }
    expect(isTabgridError(caught, ErrorCode.DeviceLost)).toBe(true);
  });

  it('hands a reused output back zeroed or poisoned, never with the last run’s values', async () => {
    const device = await devices().acquire();
    const pool = bufferPoolOf(device);
    await withRunBuffers(device, async (buffers) => {
      const out = buffers.output(1000, 'junk');
      device.queue.writeBuffer(out, 0, new Uint32Array(250).fill(0xdeadbeef));
      expect(new Uint32Array(await buffers.read(out, 1000))[249]).toBe(0xdeadbeef);
    });
    await device.queue.onSubmittedWorkDone();
    const before = pool.stats().reused;
    const [zeroed, poisoned] = await withRunBuffers(device, async (buffers) => {
      const a = buffers.output(1000, 'zeroed');
      const b = buffers.output(1000, 'poisoned', 0x7fc0dead);
      return [new Uint32Array(await buffers.read(a, 1000)), new Uint32Array(await buffers.read(b, 1000))];
    });
    expect(pool.stats().reused).toBeGreaterThan(before);
    expect(zeroed.every((w) => w === 0)).toBe(true);
    expect(poisoned.every((w) => w === 0x7fc0dead)).toBe(true);
    // Inputs of any byte length round-trip.
    const odd = Uint8Array.from({ length: 13 }, (_, i) => i + 1);
    const back = await withRunBuffers(device, async (buffers) => {
      const scratch = buffers.scratch(13, 'odd');
      writeBytes(device.queue, scratch, 0, odd);
      return new Uint8Array(await buffers.read(scratch, 13));
    });
    expect(back).toEqual(odd);
  });

  it('fails loudly on a validation error without waiting on a scope per dispatch', async () => {
    const device = await devices().acquire();
    let caught: unknown;
    try {
      await withRunBuffers(device, async (buffers) => {
        const small = buffers.output(16, 'small');
        const other = buffers.output(16, 'other');
        // Out of bounds: a validation error inside the run's scopes.
        buffers.errors.run(() => {
          const encoder = device.createCommandEncoder();
          encoder.copyBufferToBuffer(small, 0, other, 0, 4096);
          device.queue.submit([encoder.finish()]);
        });
        return 1;
      });
    } catch (err) {
      caught = err;
    }
    expect(isTabgridError(caught, ErrorCode.GpuError)).toBe(true);
  });

  it('an aborted paced run stops between dispatches and returns every buffer', async () => {
    const device = await devices().acquire();
    const pool = bufferPoolOf(device);
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read_write> out: array<u32>;
             @group(0) @binding(1) var<uniform> params: vec4u;
             @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
               let i = params.x * 64u + id.x;
               if (i < params.y) { out[i] = i + 1u; }
             }`,
    });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const controller = new AbortController();
    const total = 64;
    let seen = 0;
    let caught: unknown;
    try {
      await withRunBuffers(device, async (buffers) => {
        const out = buffers.output(total * 64 * 4, 'out');
        const params = buffers.uniform(16, 'params');
        const bindGroup = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [out, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
        await runPaced({
          device,
          total,
          pacer: new DispatchPacer({ initial: 1, max: 1 }),
          errors: buffers.errors,
          signal: controller.signal,
          onProgress: (done) => {
            seen = done;
            if (done >= 5) controller.abort();
          },
          dispatch: (start, count) => submitDispatch(device, pipeline, bindGroup, { buffer: params, words: Uint32Array.of(start, total * 64, 0, 0) }, count),
        });
      });
    } catch (err) {
      caught = err;
    }
    expect(isTabgridError(caught, ErrorCode.Aborted)).toBe(true);
    // At most the one dispatch queued ahead finished after the abort.
    expect(seen).toBeGreaterThanOrEqual(5);
    expect(seen).toBeLessThan(total);
    expect(pool.stats().lent).toBe(0);
    await device.queue.onSubmittedWorkDone();
    await Promise.resolve();
    expect(pool.stats()).toMatchObject({ lent: 0, pending: 0 });
  });

  it('a lost device destroys its pool', async () => {
    const device = await devices().acquire();
    const pool = bufferPoolOf(device);
    pool.release(pool.acquire(512, usage(), 'x'), Promise.resolve());
    devices().destroy();
    await device.lost;
    expect(pool.isDestroyed).toBe(true);
    expect(pool.stats()).toMatchObject({ idle: 0, idleBytes: 0 });
    expect(bufferPoolOf(await devices().acquire())).not.toBe(pool);
  });
}
