import { describe } from 'vitest';
import { dawnGpu } from '../helpers/dawn-device';
import { gpuSuite } from '../helpers/gpu-suite';
import { merkleLeavesCases } from '../helpers/merkle-leaves-cases';

const dawn = await dawnGpu();
/** Dawn's GPU (read inside a function, as a page's navigator.gpu is). */
const gpu = () => ('gpu' in dawn ? dawn.gpu : undefined);
if ('skip' in dawn) console.warn(`merkle-leaves-dawn.test.ts: skipped: ${dawn.skip}`);

describe.skipIf('skip' in dawn)('Merkle leaves on the GPU (Dawn)', () => {
  const { devices } = gpuSuite(gpu);
  merkleLeavesCases(
    () => devices,
    (run) => run(),
  );
});
