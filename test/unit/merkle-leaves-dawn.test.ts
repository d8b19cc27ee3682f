import { afterAll, describe, expect } from 'vitest';
import { GpuDevices } from '../../src/gpu/device';
import { dawnGpu } from '../helpers/dawn-device';
import { merkleLeavesCases } from '../helpers/merkle-leaves-cases';

const { gpu, reason } = await dawnGpu();
if (!gpu) console.warn(`merkle-leaves-dawn.test.ts: skipped: ${reason}`);

describe.skipIf(!gpu)('Merkle leaves on the GPU (Dawn)', () => {
  const uncaptured: string[] = [];
  const devices = new GpuDevices({ onUncapturedError: (m) => uncaptured.push(m) }, () => gpu);
  afterAll(() => {
    expect(uncaptured).toEqual([]);
    devices.destroy();
  });
  merkleLeavesCases(
    () => devices,
    (run) => run(),
  );
});
