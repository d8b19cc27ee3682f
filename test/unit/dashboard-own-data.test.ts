import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_FORM,
  fieldsFor,
  fileFieldOf,
  outputSize,
  requestFromForm,
  specFromFile,
  specFromForm,
  type FormFiles,
  type JobFormValues,
} from '../../src/dashboard/job-form-model';
import { buildResults, matrixNpyName, offersNpy, type ResultsSource } from '../../src/dashboard/results-file';
import { encodeNpy, NpyDtype, parseNpy } from '../../src/data/npy';
import { shelf } from '../../src/data/shelf';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { productJob } from '../../src/host/ingest/build';
import { ingestRequest } from '../../src/host/ingest/ingest';
import { jobUnit } from '../../src/host/job';
import { referenceLeaves } from '../../src/host/recompute';
import type { ChallengedUnit, Receipt } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

const form = (over: Partial<JobFormValues>): JobFormValues => ({ ...DEFAULT_FORM, ...over });
const npy = (name: string, shape: [number, number], data: Float32Array) =>
  new File([encodeNpy(NpyDtype.Float32, shape, new Uint8Array(data.buffer)) as Uint8Array<ArrayBuffer>], name);

describe('the job form on your own data', () => {
  it('hides the units, seed and the sizes the files decide, keeps the policy fields, and asks for the kernel’s files', () => {
    const matrix = fieldsFor(form({ kernel: 'matmul-modp', source: 'files' }));
    for (const hidden of ['units', 'seed', 'm', 'n', 'k']) expect(matrix.has(hidden as never), hidden).toBe(false);
    for (const kept of ['p', 'samples', 'collect', 'priority', 'trust', 'verify']) expect(matrix.has(kept as never), kept).toBe(true);
    expect(fieldsFor(form({ kernel: 'sha256-batch', source: 'files' })).has('messageLength')).toBe(false);
    expect(fieldsFor(form({ kernel: 'sha256-batch', source: 'files', recordsFormat: 'fixed' })).has('recordBytes')).toBe(true);
    expect(fieldsFor(form({ kernel: 'sha256d-pow', source: 'files' })).has('unitsPerHeader')).toBe(true);
    // matmul-i8 has no files: the source is ignored and its seeded fields stay.
    expect(fieldsFor(form({ kernel: 'matmul-i8', source: 'files' })).has('units')).toBe(true);
    expect(outputSize(form({ kernel: 'matmul-f32', source: 'files' }))).toBeUndefined();
    // The seeded form is as it was.
    expect(specFromForm(form({ id: 'h1', units: '4', seed: '7', samples: '8' })).spec).toMatchObject({ id: 'h1', units: 4, seed: 7 });
  });

  it('builds a request with the policy fields and the Files, which ingestion reads into a tiled job', async () => {
    const a = npy(
      'A.npy',
      [5, 3],
      Float32Array.from({ length: 15 }, (_, i) => i),
    );
    const b = npy(
      'B.npy',
      [3, 4],
      Float32Array.from({ length: 12 }, (_, i) => i / 2),
    );
    const values = form({ id: 'mine', kernel: 'matmul-f32', source: 'files', verify: 'freivalds', rounds: '3', units: 'not a number', m: '' });
    const { request, errors } = requestFromForm(values, { a, b });
    expect(errors).toBeUndefined();
    expect(request).toEqual({ id: 'mine', kernel: 'matmul-f32', verify: { policy: 'freivalds', rounds: 3 }, collect: true, a, b });
    const { spec } = await ingestRequest(request, { hash });
    expect(spec).toMatchObject({
      id: 'mine',
      kernel: 'matmul-f32',
      k: 3,
      verify: { policy: 'freivalds', rounds: 3 },
      collect: true,
      data: { rows: 5, cols: 4 },
    });
  });

  it('asks for missing files next to their inputs, and checks the record size and units per header', () => {
    expect(requestFromForm(form({ kernel: 'matmul-f32', source: 'files' }), { a: new File([], 'A.npy') }).errors).toEqual({ b: 'choose B, a .npy file' });
    expect(
      requestFromForm(form({ kernel: 'sha256-batch', source: 'files', recordsFormat: 'fixed', recordBytes: '0' }), { records: [new File(['x'], 'r')] }).errors,
    ).toEqual({
      recordBytes: 'enter a whole number ≥ 1',
    });
    const two = [new File(['x'], 'r1'), new File(['y'], 'r2')];
    expect(requestFromForm(form({ kernel: 'sha256-batch', source: 'files' }), { records: two }).errors).toEqual({
      records: 'choose one file (or lay the records out as a folder of files)',
    });
    expect(requestFromForm(form({ kernel: 'sha256d-pow', source: 'files', unitsPerHeader: '1.5' }), { headers: new File([''], 'h.txt') }).errors).toEqual({
      unitsPerHeader: 'enter a whole number ≥ 1',
    });
    expect(requestFromForm(form({ kernel: 'matmul-i8', source: 'files' }), {}).errors).toEqual({ form: 'matmul-i8 jobs take seeded inputs only' });
  });

  it('gives a folder’s files in name order, and a fixed-size file its format', () => {
    const folder = ['b', 'a', 'C', '10', '9'].map((n) => new File([n], n));
    const r = requestFromForm(form({ kernel: 'sha256-batch', source: 'files', recordsFormat: 'directory', messagesPerUnit: '2' }), {
      records: folder,
    }).request!;
    expect((r.records as File[]).map((f) => f.name)).toEqual(['10', '9', 'C', 'a', 'b']);
    expect(r).not.toHaveProperty('format');
    expect(r).not.toHaveProperty('messageLength');
    expect(r.messagesPerUnit).toBe(2);
    const fixed = requestFromForm(form({ kernel: 'sha256-batch', source: 'files', recordsFormat: 'fixed', recordBytes: '16' }), {
      records: [folder[0]!],
    }).request!;
    expect(fixed).toMatchObject({ records: folder[0], format: { fixed: 16 } });
  });

  it('points a job file that names its own input files to the form’s file inputs', () => {
    expect(specFromFile(JSON.stringify({ kernel: 'matmul-f32', a: 'A.npy', b: 'B.npy' })).error).toMatch(/cannot read by path: choose "Your own data"/);
    expect(
      specFromFile(JSON.stringify({ id: 's', kernel: 'sha256-batch', units: 1, seed: 1, messagesPerUnit: 4, messageLength: 8, samples: 1 })).spec,
    ).toBeDefined();
  });

  it('finds the file an ingestion error is about by the name it starts with', () => {
    const files: FormFiles = { a: new File([], 'A.npy'), b: new File([], 'A.npy.bak'), records: [new File([], 'r0')] };
    expect(fileFieldOf('A.npy: truncated', files)).toBe('a');
    expect(fileFieldOf('A.npy.bak: not a .npy file', files)).toBe('b');
    expect(fileFieldOf("A.npy is 2×3 and A.npy.bak is 4×2: A's columns must equal B's rows", files)).toBe('a');
    expect(fileFieldOf('r0: is 9000 bytes, longer than the 4096 a record may be', files)).toBe('records');
    expect(fileFieldOf('job "x": samples must be an integer in 1..64', files)).toBeUndefined();
  });
});

describe("a tiled product's download", () => {
  it('adds C.npy, each accepted block where the grid puts it (edge blocks smaller), missing blocks zero', async () => {
    const r = seededRandom(9);
    const words = (n: number) => new Uint8Array(Float32Array.from({ length: n }, () => Math.round(r() * 8)).buffer);
    const [rows, inner, cols] = [5, 3, 7];
    const { spec, datasets } = productJob(
      {
        id: 'tiled',
        kernel: 'matmul-f32',
        a: { rows, cols: inner, data: words(rows * inner), name: 'A' },
        b: { rows: inner, cols, data: words(inner * cols), name: 'B' },
        m: 2,
        n: 3,
        options: { samples: 2, collect: true },
      },
      hash,
    );
    expect(offersNpy(spec)).toBe(true);
    expect(offersNpy({ ...spec, collect: false })).toBe(false);
    const releases = [...datasets].map(([root, data]) => shelf.holdDataset(root, data));
    try {
      // 3 bands (2, 2, 1 rows) × 3 panels (3, 3, 1 columns); unit 4 is not accepted.
      const accepted = Array.from({ length: spec.units }, (_, i) => i).filter((i) => i !== 4);
      const outputs = new Map(accepted.map((i) => [`tiled/${i}`, referenceLeaves(jobUnit(spec, i) as ChallengedUnit, hash)]));
      const src: ResultsSource = {
        hostId: 'h',
        publicKey: 'ab'.repeat(65),
        job: spec,
        accepted: accepted.map((i) => ({ unitId: `tiled/${i}`, volunteer: 'v', root: 'r' })),
        receipt: () => ({}) as Receipt,
        output: async (id) => outputs.get(id),
        now: 0,
      };
      const built = await buildResults(src);
      expect(built.npy?.name).toBe(matrixNpyName('tiled'));
      expect(built.header.layout!.units.find((u) => u.index === 8)).toMatchObject({ m: 1, n: 1, bytes: 4 });
      const c = parseNpy(built.npy!.data, 'C.npy');
      expect(c).toMatchObject({ dtype: '<f4', shape: [rows, cols] });
      const got = new Float32Array(new Uint8Array(c.data).buffer);
      const data = (spec as unknown as { data: { a: string; panels: string[] } }).data;
      const a = new Float32Array(datasets.get(data.a)!.slice().buffer);
      const bRoots = data.panels;
      // B back from its panels (3, 3, 1 columns wide), for the test's own product.
      const panels = bRoots.map((p) => new Float32Array(datasets.get(p)!.slice().buffer));
      const bAt = (t: number, j: number) => panels[Math.floor(j / 3)]![t * (j < 6 ? 3 : 1) + (j % 3)]!;
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) {
          const unit = Math.floor(i / 2) * 3 + Math.floor(j / 3);
          let want = 0;
          for (let t = 0; t < inner; t++) want += a[i * inner + t]! * bAt(t, j);
          expect(got[i * cols + j], `C[${i}, ${j}]`).toBe(unit === 4 ? 0 : want);
        }
    } finally {
      releases.forEach((release) => release());
    }
  });
});
