import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { withExactTimestamps, type DawnRow } from '../../scripts/bench/dawn';
import { dawnTestEnv } from '../helpers/dawn-device';

const run = promisify(execFile);
const dawn = dawnTestEnv();

describe('npm run bench -- --dawn', () => {
  it("turns Dawn's timestamp rounding off, within a --dawn-flag list of disabled features if one is given", () => {
    expect(withExactTimestamps([])).toEqual(['disable-dawn-features=timestamp_quantization']);
    expect(withExactTimestamps(['enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=a'])).toEqual([
      'enable-dawn-features=allow_unsafe_apis',
      'disable-dawn-features=a,timestamp_quantization',
    ]);
    expect(withExactTimestamps(['disable-dawn-features=timestamp_quantization'])).toEqual(['disable-dawn-features=timestamp_quantization']);
  });

  it.skipIf('skip' in dawn)(
    'on lavapipe: every GPU kernel checked, wall and kernel time, TF.js beside it, the unit stream; --require-gpu refuses',
    async () => {
      if ('skip' in dawn) return;
      const dir = mkdtempSync(join(tmpdir(), 'bench-dawn-'));
      const out = join(dir, 'b.json');
      const bench = (...flags: string[]) =>
        run(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--dawn', '--no-torch', '--out', out, ...flags], { env: dawn.env, timeout: 60_000 });
      try {
        const refused = await bench('--require-gpu').then(
          () => ({ code: 0, stderr: '' }),
          (err: { code: number; stderr: string }) => err,
        );
        expect(refused.code).toBe(3);
        expect(refused.stderr).toMatch(/--require-gpu: the adapter runs on the CPU \(llvmpipe/);

        const { stdout } = await bench('--sizes', '48,64', '--sha-count', '2048', '--pow-nonces', '16384', '--stream-units', '2', '--stream-size', '64');
        const record = JSON.parse(readFileSync(out, 'utf8')) as {
          adapter: { software: boolean; timestamps: boolean; description: string };
          checks: { name: string; pass: boolean }[];
          rows: DawnRow[];
          stream: { units: number; unitsPerS: number; busy?: number }[];
          tfjs: { version?: string };
          torch: unknown;
          dawnFlags: string[];
        };
        expect(record.adapter).toMatchObject({ software: true, timestamps: true });
        expect(record.dawnFlags).toContain('disable-dawn-features=timestamp_quantization');
        expect(record.checks.filter((c) => !c.pass)).toEqual([]);
        // Each kernel checked against the CPU at each size, and TF.js against ours.
        expect(record.checks.map((c) => c.name.split(' ')[0])).toEqual(
          expect.arrayContaining(['matmul-f32', 'matmul-modp', 'matmul-i8', 'sha256-batch', 'sha256d-pow']),
        );
        expect(record.checks).toHaveLength(2 * 4 + 2);
        const ours = record.rows.filter((r) => r.impl.startsWith('tabgrid'));
        expect(new Set(ours.map((r) => r.kernel))).toEqual(new Set(['matmul-f32', 'matmul-modp p=65521', 'matmul-i8', 'sha256-batch', 'sha256d-pow']));
        for (const r of ours) {
          expect(r.wallMs, r.kernel).toBeGreaterThan(0);
          expect(r.kernelMs, r.kernel).toBeGreaterThan(0);
          expect(r.busy, r.kernel).toBeGreaterThan(0);
        }
        expect(record.tfjs.version).toMatch(/^4\./);
        expect(record.rows.filter((r) => r.impl.startsWith('TF.js')).every((r) => r.kernelMs! > 0)).toBe(true);
        expect(record.stream).toHaveLength(1);
        expect(record.stream[0]).toMatchObject({ units: 2 });
        expect(record.stream[0]!.busy).toBeGreaterThan(0);
        expect(record.torch).toBeNull();
        expect(stdout).toMatch(/\| matmul-f32 \| 64×64×64 \| tabgrid /);
        expect(stdout).toMatch(/these are CPU figures; only ratios within this run mean anything/);
        expect(readFileSync(out.replace(/\.json$/, '.md'), 'utf8')).toContain('| unit stream');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
