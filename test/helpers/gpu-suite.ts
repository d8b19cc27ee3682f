import { afterAll, expect } from 'vitest';
import { GpuDevices } from '../../src/gpu/device';

/**
 * The GPU side of a kernel test file, as gpuweb/cts does it: one device for the file, any
 * error that escapes every scope fails the file, and `scoped` runs work inside the test's own
 * validation scope, failing the test on any validation error. `gpu` is where the devices come
 * from: the page's navigator.gpu by default, Dawn's in Node (the *-dawn tests).
 */
export function gpuSuite(gpu?: () => GPU | undefined) {
  const uncaptured: string[] = [];
  const devices = new GpuDevices({ onUncapturedError: (m) => uncaptured.push(m) }, gpu);
  afterAll(() => {
    expect(uncaptured).toEqual([]);
    devices.destroy();
  });
  async function scoped<T>(run: () => Promise<T>): Promise<T> {
    const device = await devices.acquire();
    device.pushErrorScope('validation');
    const out = await run();
    expect(await device.popErrorScope()).toBeNull();
    return out;
  }
  return { devices, scoped };
}
