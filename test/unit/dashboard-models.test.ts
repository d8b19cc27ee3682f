import { describe, expect, it } from 'vitest';
import type { UnitView } from '../../src/host/host-views';
import { formatBytes } from '../../src/dashboard/format-bytes';
import {
  DEFAULT_FORM,
  fieldOfError,
  fieldsFor,
  outputSize,
  verifyChoices,
  specFromFile,
  specFromForm,
  type JobFormValues,
} from '../../src/dashboard/job-form-model';
import { resolveSettings, settingsQuery, volunteerUrl } from '../../src/dashboard/settings';
import { throughputSeries } from '../../src/dashboard/throughput';
import { gridModel, REJECTED_SHOWN_MS } from '../../src/dashboard/unit-cells';

const form = (over: Partial<JobFormValues>): JobFormValues => ({ ...DEFAULT_FORM, ...over });

describe('job form → JobSpec', () => {
  it('builds a hashing job with only its own fields', () => {
    expect(specFromForm(form({ id: 'h1', units: '4', seed: '7', samples: '8', messagesPerUnit: '1024' }))).toEqual({
      spec: { id: 'h1', kernel: 'sha256-batch', units: 4, seed: 7, messagesPerUnit: 1024, messageLength: 64, samples: 8, collect: true },
    });
  });

  it('builds matrix jobs with the challenge or the Freivalds policy, and a trust policy', () => {
    expect(specFromForm(form({ kernel: 'matmul-modp', verify: 'freivalds', rounds: '3', m: '8', n: '8', k: '8', p: '65521' })).spec).toEqual({
      id: 'job-1',
      kernel: 'matmul-modp',
      units: 16,
      seed: 1,
      m: 8,
      n: 8,
      k: 8,
      p: 65521,
      verify: { policy: 'freivalds', rounds: 3 },
      collect: true,
    });
    expect(specFromForm(form({ kernel: 'matmul-f32', samples: '4', trust: true, warmup: '5', priority: '2', collect: false })).spec).toEqual({
      id: 'job-1',
      kernel: 'matmul-f32',
      units: 16,
      seed: 1,
      priority: 2,
      m: 256,
      n: 256,
      k: 256,
      samples: 4,
      trust: { warmup: 5, minCheckRate: 0.05, decay: 0.9, banAfter: 3 },
    });
  });

  it('builds a proof-of-work job without samples', () => {
    expect(specFromForm(form({ kernel: 'sha256d-pow', noncesPerUnit: '65536', shareBits: '12', targetBits: '20' })).spec).toEqual({
      id: 'job-1',
      kernel: 'sha256d-pow',
      units: 16,
      seed: 1,
      noncesPerUnit: 65536,
      shareBits: 12,
      targetBits: 20,
    });
  });

  it('puts each error next to its field, ignoring fields the kernel does not use', () => {
    expect(specFromForm(form({ units: 'x', m: 'nonsense' }))).toEqual({ errors: { units: 'enter a number' } });
    expect(specFromForm(form({ units: '0' })).errors).toEqual({ units: 'units must be an integer in 1..1000000' });
    expect(specFromForm(form({ id: 'has space' })).errors).toHaveProperty('id');
    expect(specFromForm(form({ kernel: 'matmul-modp', p: '65520' })).errors).toHaveProperty('p');
    expect(specFromForm(form({ kernel: 'matmul-modp', verify: 'freivalds', rounds: '0' })).errors).toHaveProperty('rounds');
    expect(specFromForm(form({ trust: true, decay: '2' })).errors).toEqual({ decay: expect.stringMatching(/decay/) });
    expect(specFromForm(form({ kernel: 'sha256d-pow', noncesPerUnit: '16', shareBits: '12' })).errors).toHaveProperty('noncesPerUnit');
  });

  it('maps parseJob messages to fields, else to the form', () => {
    expect(fieldOfError('job "a": targetBits (at least shareBits) must be an integer in 3..256')[0]).toBe('targetBits');
    expect(fieldOfError('job "a": the nonce ranges of all units must end at or before 2^32')[0]).toBe('units');
    expect(fieldOfError('job "a": header must be 160 lower-case hex digits (80 bytes)')[0]).toBe('form');
  });

  it('builds replicated hashing and modp jobs, and offers replication only where results are bit-exact', () => {
    expect(specFromForm(form({ id: 'r1', verify: 'replicate', messagesPerUnit: '512', collect: false })).spec).toEqual({
      id: 'r1',
      kernel: 'sha256-batch',
      units: 16,
      seed: 1,
      messagesPerUnit: 512,
      messageLength: 64,
      samples: 16,
      replicate: true,
    });
    expect(specFromForm(form({ kernel: 'matmul-modp', verify: 'replicate', m: '8', n: '8', k: '8' })).spec).toMatchObject({
      kernel: 'matmul-modp',
      replicate: true,
      samples: 16,
    });
    // Replication shows samples: the challenge of each replica from a key without an earned record.
    expect(fieldsFor({ kernel: 'sha256-batch', verify: 'replicate', trust: false }).has('samples')).toBe(true);
    expect(verifyChoices('matmul-f32')).not.toContain('replicate');
    expect(verifyChoices('sha256d-pow')).toEqual([]);
    // A policy left over from another kernel falls back to the challenge.
    expect(specFromForm(form({ kernel: 'matmul-f32', verify: 'replicate', m: '8', n: '8', k: '8' })).spec).toMatchObject({ samples: 16 });
    expect(specFromForm(form({ kernel: 'matmul-f32', verify: 'replicate', m: '8', n: '8', k: '8' })).spec).not.toHaveProperty('replicate');
    expect(specFromForm(form({ verify: 'freivalds' })).spec).toMatchObject({ samples: 16 });
  });

  it('shows the fields of the chosen kernel and policy', () => {
    expect(fieldsFor({ kernel: 'matmul-f32', verify: 'freivalds', trust: false })).toEqual(
      new Set(['id', 'kernel', 'units', 'seed', 'priority', 'trust', 'collect', 'm', 'n', 'k', 'verify', 'rounds']),
    );
    expect(fieldsFor({ kernel: 'sha256d-pow', verify: 'challenge', trust: true }).has('samples')).toBe(false);
  });
});

describe('Keep the output (collect)', () => {
  it('is on by default for hashing and matrices, off when unticked, and not offered for proof of work', () => {
    expect(DEFAULT_FORM.collect).toBe(true);
    for (const kernel of ['sha256-batch', 'matmul-f32', 'matmul-modp'] as const) {
      expect(fieldsFor({ kernel, verify: 'challenge', trust: false }).has('collect')).toBe(true);
      expect(specFromForm(form({ kernel, m: '8', n: '8', k: '8' })).spec).toMatchObject({ kernel, collect: true });
      // Off is the spec's default: left out, as a job file would say it.
      expect(specFromForm(form({ kernel, m: '8', n: '8', k: '8', collect: false })).spec).not.toHaveProperty('collect');
    }
    expect(fieldsFor({ kernel: 'sha256d-pow', verify: 'challenge', trust: false }).has('collect')).toBe(false);
    // The box stays ticked from another kernel, but proof of work takes no collect (parseJob refuses it).
    expect(specFromForm(form({ kernel: 'sha256d-pow', noncesPerUnit: '65536', shareBits: '12', targetBits: '20', collect: true })).spec).not.toHaveProperty(
      'collect',
    );
    // Replication and Freivalds jobs collect too.
    expect(specFromForm(form({ kernel: 'matmul-modp', verify: 'replicate', m: '8', n: '8', k: '8' })).spec).toMatchObject({ replicate: true, collect: true });
  });

  it('says what keeping the output costs: 32 bytes a digest, 4 a cell of C', () => {
    expect(outputSize(form({ messagesPerUnit: '4096', units: '16' }))).toEqual({ perUnit: 131072, total: 2097152 });
    expect(outputSize(form({ kernel: 'matmul-modp', m: '1024', n: '1024', units: '3' }))).toEqual({ perUnit: 4 << 20, total: 12 << 20 });
    expect(outputSize(form({ kernel: 'matmul-f32', m: 'x' }))).toBeUndefined();
    expect(outputSize(form({ units: '' }))).toBeUndefined();
    expect(outputSize(form({ kernel: 'sha256d-pow' }))).toBeUndefined();
    expect([0, 1000, 131072, 4 << 20, 1.5 * 2 ** 30].map(formatBytes)).toEqual(['0 bytes', '1000 bytes', '128 KiB', '4.0 MiB', '1.5 GiB']);
  });
});

describe('job file', () => {
  it('accepts a valid job and explains a bad one', () => {
    const spec = { id: 'f', kernel: 'sha256-batch', units: 2, messagesPerUnit: 8, messageLength: 64, seed: 1, samples: 4 };
    expect(specFromFile(JSON.stringify(spec))).toEqual({ spec });
    expect(specFromFile('{').error).toMatch(/^not JSON/);
    expect(specFromFile(JSON.stringify({ ...spec, input: 'data' })).error).toMatch(/unknown field 'input'/);
  });
});

describe('settings', () => {
  it('takes the query, then the build defaults, then the local demo stack', () => {
    expect(resolveSettings('?host=h1&signal=ws%3A%2F%2Fx%2F', {})).toEqual({ hostId: 'h1', signalUrl: 'ws://x/' });
    expect(resolveSettings('', { VITE_TABGRID_HOST: 'env-h', VITE_TABGRID_SIGNAL: 'ws://env/' })).toEqual({ hostId: 'env-h', signalUrl: 'ws://env/' });
    expect(resolveSettings('?host=', {})).toEqual({ hostId: 'tabgrid-demo-host', signalUrl: 'ws://127.0.0.1:9000/' });
    expect(settingsQuery('?x=1&host=a', { hostId: 'b', signalUrl: 'ws://s/' })).toBe('?x=1&host=b&signal=ws%3A%2F%2Fs%2F');
    expect(volunteerUrl('http://o', { hostId: 'b', signalUrl: 'ws://s/' })).toBe('http://o/?host=b&signal=ws%3A%2F%2Fs%2F');
  });
});

describe('throughput', () => {
  it('counts acceptances per bar, aligned, ending now', () => {
    const now = 100_500;
    const s = throughputSeries([100_100, 99_900, 99_800, 90_000, null, 200_000], now);
    expect(s.barMs).toBe(1000);
    expect(s.counts).toHaveLength(12);
    expect(s.start).toBe(101_000 - 12_000);
    expect(s.counts.slice(-2)).toEqual([2, 1]);
    expect(s.counts[1]).toBe(1);
    expect(s).toMatchObject({ peak: 2, total: 4 });
  });

  it('widens the bars for a long job and keeps at most maxBars', () => {
    const s = throughputSeries([0, 3_600_000], 3_600_000, 60);
    expect(s.barMs).toBe(300_000);
    expect(s.counts.length).toBeLessThanOrEqual(60);
    expect(s.total).toBe(2);
    expect(throughputSeries([], 1000)).toMatchObject({ peak: 0, total: 0, barMs: 1000 });
  });
});

describe('unit grid model', () => {
  const unit = (index: number, over: Partial<UnitView> = {}): UnitView => ({
    unitId: `j/${index}`,
    index,
    state: 'queued',
    holder: null,
    progress: 0,
    root: null,
    rejections: 0,
    acceptedAt: null,
    ...over,
  });

  it('labels every unit and shows recent rejections', () => {
    const units = [
      unit(0, { state: 'accepted', holder: 'abcdef0123456789' }),
      unit(1, { state: 'leased', holder: 'ffff0000aaaa', progress: 40 }),
      unit(2, { rejections: 1 }),
      unit(3),
      unit(4, { state: 'accepted', holder: '0123456789abcdef', backend: 'webgpu', adapter: 'Apple M3' }),
      unit(5, { state: 'accepted', holder: '0123456789abcdef', backend: 'cpu' }),
    ];
    const m = gridModel(units, new Map([['j/2', 1000]]), 1000 + REJECTED_SHOWN_MS - 1);
    expect(m.cells.map((c) => c.state)).toEqual(['accepted', 'leased', 'rejected', 'queued', 'accepted', 'accepted']);
    expect(m.cells[0]!.label).toBe('unit 0: accepted from abcdef01');
    // What computed it, where the volunteer said.
    expect(m.cells[4]!.label).toBe('unit 4: accepted from 01234567 (webgpu, Apple M3)');
    expect(m.cells[5]!.label).toBe('unit 5: accepted from 01234567 (cpu)');
    expect(m.cells[1]!.label).toBe('unit 1: leased by ffff0000, 40 items done');
    expect(m.summary).toBe('3 of 6 units accepted; 0 verifying, 1 leased, 1 queued, 1 recently rejected.');
    // Once the rejection is old, the unit shows its state again.
    expect(gridModel(units, new Map([['j/2', 1000]]), 1000 + REJECTED_SHOWN_MS).cells[2]!.state).toBe('queued');
  });

  it('groups units into range cells past maxCells, showing the least advanced state', () => {
    const units = Array.from({ length: 10 }, (_, i) => unit(i, i < 7 ? { state: 'accepted', holder: 'a' } : {}));
    const m = gridModel(units, new Map(), 0, 4);
    expect(m.cells.map((c) => [c.from, c.to, c.state])).toEqual([
      [0, 2, 'accepted'],
      [3, 5, 'accepted'],
      [6, 8, 'queued'],
      [9, 9, 'queued'],
    ]);
    expect(m.cells[2]!.label).toBe('units 6–8: 2 queued, 1 accepted');
  });
});
