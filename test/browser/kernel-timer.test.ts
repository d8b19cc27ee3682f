/**
 * The kernel timer on SwiftShader (Chromium's software adapter): resident timing always, and
 * timestamps where the device has them (they may be refused: quantized to the browser's
 * resolution, too coarse for software-speed work, in which case the timer must fall back).
 */
import { describe, expect, it } from 'vitest';
import { TimingMethod } from '../../src/gpu/kernel-timer';
import { MatmulGpu, MatmulKind, type MatmulConfig } from '../../src/kernels/matmul/gpu';
import { TileBench } from '../../src/kernels/matmul/tile-timing';
import { gpuSuite } from '../helpers/gpu-suite';

const { devices } = gpuSuite();
const gpu = new MatmulGpu(devices);
const config: MatmulConfig = { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16, vec4: true };

describe('kernel timer on SwiftShader', () => {
  it('measures a 4× bigger dispatch as longer, on resident data, by timestamps and by default', async () => {
    const small = await TileBench.open(gpu, MatmulKind.F32, { m: 256, n: 256, k: 128 });
    const big = await TileBench.open(gpu, MatmulKind.F32, { m: 256, n: 256, k: 512 });
    try {
      // Chromium's SwiftShader offers timestamp-query (100 µs resolution): both paths, forced.
      const methods = big.device.features.has('timestamp-query') ? [TimingMethod.Resident, TimingMethod.Timestamp] : [TimingMethod.Resident];
      for (const method of methods) {
        // The least of three timings each: other work on this machine can only add time.
        const least = async (bench: TileBench) => {
          const timings = [];
          for (let i = 0; i < 3; i++) timings.push(await bench.time(config, { method, repeats: 2 }));
          expect(timings.map((t) => t.method)).toEqual([method, method, method]);
          return Math.min(...timings.map((t) => t.minMs));
        };
        const s = await least(small);
        const b = await least(big);
        expect(b / s, `${method}: ${b} ms vs ${s} ms`).toBeGreaterThan(2);
      }
      // By default: timestamps where the device has them and they are believable, else resident.
      const byDefault = await big.time(config, { repeats: 2 });
      const hasTimestamps = big.device.features.has('timestamp-query');
      if (byDefault.method === TimingMethod.Timestamp) expect(hasTimestamps).toBe(true);
      else expect(!hasTimestamps || big.timer.refusal !== undefined).toBe(true);
      expect(byDefault.ms).toBeGreaterThan(0);
    } finally {
      small.destroy();
      big.destroy();
    }
  });
});
