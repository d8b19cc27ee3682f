import { describe, expect, it } from 'vitest';
import { sizeClass } from '../../src/gpu/buffer-pool';
import { bufferPoolCases } from '../helpers/buffer-pool-cases';
import { dawnGpu } from '../helpers/dawn-device';
import { gpuSuite } from '../helpers/gpu-suite';

const dawn = await dawnGpu();
/** Dawn's GPU (read inside a function, as a page's navigator.gpu is). */
const gpu = () => ('gpu' in dawn ? dawn.gpu : undefined);
if ('skip' in dawn) console.warn(`buffer-pool-dawn.test.ts: skipped on Dawn: ${dawn.skip}`);

describe('sizeClass', () => {
  it('rounds up to a quarter of a power of two, at least 256 bytes', () => {
    expect([0, 1, 256, 257, 320, 321, 1024, 1025, 1280, 1281, 4 * 1024 * 1024 + 1].map(sizeClass)).toEqual([
      256,
      256,
      256,
      320,
      320,
      384,
      1024,
      1280,
      1280,
      1536,
      5 * 1024 * 1024,
    ]);
    for (let s = 1; s < 100_000; s += 997) {
      const c = sizeClass(s);
      expect(c).toBeGreaterThanOrEqual(s);
      expect(c).toBeLessThanOrEqual(Math.max(256, s * 1.25));
    }
  });
});

describe.skipIf('skip' in dawn)('BufferPool on Dawn', () => {
  const { devices } = gpuSuite(gpu);
  bufferPoolCases(() => devices);
});
