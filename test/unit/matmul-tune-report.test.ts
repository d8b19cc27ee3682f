/**
 * A report, not a check of behaviour (it runs only with TABGRID_TUNE_REPORT=1, under lavapipe's
 * environment; see docs/matmul-tuning.md): on Dawn, each tile's kernel time against the old
 * tuner's whole-call time at the same shape, and what the tuner picks at 1024, 2048 and 4096.
 * On a software adapter these are CPU figures: compare them as ratios within one run only.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GpuDevices } from '../../src/gpu/device';
import { MemoryTuneCache } from '../../src/gpu/tune-cache';
import { tuneMatmul } from '../../src/kernels/matmul/autotune';
import { MatmulGpu, MatmulKind, configKey } from '../../src/kernels/matmul/gpu';
import { candidatesFor, shapeClass } from '../../src/kernels/matmul/tile-space';
import { TileBench } from '../../src/kernels/matmul/tile-timing';
import { seededRandom } from '../../src/work/seeded';
import { dawnGpu } from '../helpers/dawn-device';

const wanted = process.env.TABGRID_TUNE_REPORT === '1';
const dawn = wanted ? await dawnGpu() : { skip: 'set TABGRID_TUNE_REPORT=1 to run this report' };
const devices = new GpuDevices({}, () => ('gpu' in dawn ? dawn.gpu : undefined));
const gpu = new MatmulGpu(devices);
afterAll(() => devices.destroy());

describe.skipIf('skip' in dawn)('tuning report on Dawn', { timeout: 600_000 }, () => {
  it('kernel time vs whole-call time per tile at 256³, and the tuner at 1024/2048/4096', async () => {
    const device = await devices.acquire();
    const n = 256;
    const shape = { m: n, n, k: n };
    const random = seededRandom(n);
    const af = Float32Array.from({ length: n * n }, () => random() - 0.5);
    const bf = Float32Array.from({ length: n * n }, () => random() - 0.5);
    const au = Uint32Array.from(af, (x) => Math.floor((x + 0.5) * 65521));
    const bu = Uint32Array.from(bf, (x) => Math.floor((x + 0.5) * 65521));
    const lines: string[] = [`adapter ${JSON.stringify(device.adapterInfo)}; timestamps: ${device.features.has('timestamp-query')}`];
    for (const kind of [MatmulKind.F32, MatmulKind.Modp]) {
      const bench = await TileBench.open(gpu, kind, shape);
      try {
        lines.push(`${kind} at ${n}³: tile | whole call (old tuner: upload + kernel + readback, best of 2) | kernel (median of 5) | kernel / whole`);
        for (const config of candidatesFor(kind, shapeClass(shape), device.limits)) {
          const whole = async () => {
            const started = performance.now();
            if (kind === MatmulKind.F32) await gpu.f32(af, bf, shape, config, { initialTileRows: 65535 });
            else await gpu.modp(au, bu, shape, 65521, config, { initialTileRows: 65535 });
            return performance.now() - started;
          };
          await whole();
          const wholeMs = Math.min(await whole(), await whole());
          const kernel = await bench.time(config, { repeats: 5 });
          lines.push(`${configKey(config)} | ${wholeMs.toFixed(2)} | ${kernel.ms.toFixed(2)} (${kernel.method}) | ${(kernel.ms / wholeMs).toFixed(2)}`);
        }
      } finally {
        bench.destroy();
      }
    }
    for (const side of [1024, 2048, 4096]) {
      for (const kind of [MatmulKind.F32, MatmulKind.Modp]) {
        const started = performance.now();
        const tuned = await tuneMatmul(gpu, kind, { adapterKey: 'report', cache: new MemoryTuneCache(), shape: { m: side, n: side, k: side } });
        const t = tuned.timedAt!;
        const ranked = [...tuned.timings].sort((x, y) => x.ms - y.ms);
        lines.push(
          `tuner ${kind} at ${side}³ (key ${tuned.key}): picks ${configKey(tuned.config)}, timed at ${t.m}×${t.n}×${t.k}, ` +
            `${tuned.timings.length} tiles in ${((performance.now() - started) / 1000).toFixed(1)} s; slowest/fastest ${(ranked.at(-1)!.ms / ranked[0]!.ms).toFixed(2)}; ` +
            `ranking ${ranked.map((r) => `${r.config} ${(r.ms / ranked[0]!.ms).toFixed(2)}`).join(', ')}`,
        );
        expect(configKey(tuned.config)).toBe(ranked[0]!.config);
      }
    }
    console.log(lines.join('\n'));
  });
});
