import { describe } from 'vitest';
import { dawnGpu } from '../helpers/dawn-device';
import { gpuSuite } from '../helpers/gpu-suite';
import { unitStreamCases } from '../helpers/unit-stream-cases';

const dawn = await dawnGpu();
/** Dawn's GPU (read inside a function, as a page's navigator.gpu is). */
const gpu = () => ('gpu' in dawn ? dawn.gpu : undefined);
if ('skip' in dawn) console.warn(`unit-stream-dawn.test.ts: skipped: ${dawn.skip}`);

describe.skipIf('skip' in dawn)('the matmul unit stream (Dawn)', () => {
  const { devices } = gpuSuite(gpu);
  unitStreamCases(() => devices, gpu);
});
