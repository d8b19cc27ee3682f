import { afterAll, describe, expect } from 'vitest';
import { GpuDevices } from '../../src/gpu/device';
import { MatmulGpu } from '../../src/kernels/matmul/gpu';
import { dawnGpu } from '../helpers/dawn-device';
import { seededGpuCases } from '../helpers/seeded-gpu-cases';

const dawn = await dawnGpu();
/** Dawn's GPU (read inside a function, as a page's navigator.gpu is). */
const gpu = () => ('gpu' in dawn ? dawn.gpu : undefined);
if ('skip' in dawn) console.warn(`seeded-gpu-dawn.test.ts: skipped: ${dawn.skip}`);

describe.skipIf('skip' in dawn)('seeded operands on the GPU (Dawn)', () => {
  const uncaptured: string[] = [];
  const devices = new GpuDevices({ onUncapturedError: (m) => uncaptured.push(m) }, gpu);
  const matmul = new MatmulGpu(devices);
  afterAll(() => {
    expect(uncaptured).toEqual([]);
    devices.destroy();
  });
  seededGpuCases(
    () => devices,
    () => matmul,
    (run) => run(),
  );
});
