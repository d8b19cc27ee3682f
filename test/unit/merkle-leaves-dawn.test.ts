import { afterAll, describe, expect } from 'vitest';
import { GpuDevices } from '../../src/gpu/device';
import { dawnGpu } from '../helpers/dawn-device';
import { merkleLeavesCases } from '../helpers/merkle-leaves-cases';

const dawn = await dawnGpu();
/** Dawn's GPU (read inside a function, as a page's navigator.gpu is). */
const gpu = () => ('gpu' in dawn ? dawn.gpu : undefined);
if ('skip' in dawn) console.warn(`merkle-leaves-dawn.test.ts: skipped: ${dawn.skip}`);

describe.skipIf('skip' in dawn)('Merkle leaves on the GPU (Dawn)', () => {
  const uncaptured: string[] = [];
  const devices = new GpuDevices({ onUncapturedError: (m) => uncaptured.push(m) }, gpu);
  afterAll(() => {
    expect(uncaptured).toEqual([]);
    devices.destroy();
  });
  merkleLeavesCases(
    () => devices,
    (run) => run(),
  );
});
