import { afterAll, describe, expect } from 'vitest';
import { GpuDevices } from '../../src/gpu/device';
import { dawnGpu } from '../helpers/dawn-device';
import { unitStreamCases } from '../helpers/unit-stream-cases';

const { gpu, reason } = await dawnGpu();
if (!gpu) console.warn(`unit-stream-dawn.test.ts: skipped: ${reason}`);

describe.skipIf(!gpu)('the matmul unit stream (Dawn)', () => {
  const uncaptured: string[] = [];
  const devices = new GpuDevices({ onUncapturedError: (m) => uncaptured.push(m) }, () => gpu);
  afterAll(() => {
    expect(uncaptured).toEqual([]);
    devices.destroy();
  });
  unitStreamCases(
    () => devices,
    () => gpu,
  );
});
