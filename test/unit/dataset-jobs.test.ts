import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, type DatasetSlice } from '../../src/data/dataset';
import { encodeRecords } from '../../src/data/records';
import { shelf } from '../../src/data/shelf';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { headersJob, productJob, recordsJob, type Ingested } from '../../src/host/ingest/build';
import { jobUnit, parseJob, type JobSpec } from '../../src/host/job';
import { hostKernel, referenceLeaves } from '../../src/kernels/host-registry';
import { f32Operands } from '../../src/kernels/matmul/inputs';
import { matmulGrid } from '../../src/kernels/matmul/tiles';
import { sha256BatchInputs } from '../../src/kernels/sha256-batch/inputs';
import { unitDatasets, workUnitSchema, type ChallengedUnit, type WorkUnit } from '../../src/kernels/units';
import { unitInputDigest } from '../../src/proof/commitment';
import { seededRandom } from '../../src/work/seeded';

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

/** Holds a job's datasets on the shelf for the test's body, as a host does. */
function holding<T>(ingested: Ingested, body: () => T): T {
  const releases = [...ingested.datasets].map(([root, data]) => shelf.holdDataset(root, data));
  try {
    return body();
  } finally {
    for (const r of releases) r();
  }
}

const bytesOf = (words: Float32Array | Uint32Array) => new Uint8Array(words.buffer, words.byteOffset, words.byteLength);

function randomF32(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

/** C = A·B in f64, the test's own product. */
function product(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, inner: number, cols: number, mod?: number): number[] {
  const c: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let t = 0; t < inner; t++) s = mod === undefined ? s + a[i * inner + t]! * b[t * cols + j]! : (s + a[i * inner + t]! * b[t * cols + j]!) % mod;
      c[i * cols + j] = s;
    }
  return c;
}

/** C assembled from every unit's reference output, placed by the job's grid. */
function assembled(spec: JobSpec, asWords: (bytes: Uint8Array) => ArrayLike<number>): number[] {
  const grid = matmulGrid(spec as Parameters<typeof matmulGrid>[0])!;
  const c: number[] = new Array(grid.rows * grid.cols).fill(NaN);
  for (let i = 0; i < grid.units; i++) {
    const unit = jobUnit(spec, i) as ChallengedUnit;
    const words = asWords(referenceLeaves(unit, hash));
    const t = grid.tile(i);
    for (let r = 0; r < t.m; r++) for (let col = 0; col < t.n; col++) c[(t.row + r) * grid.cols + t.col + col] = words[r * t.n + col]!;
  }
  return c;
}

describe('tiled products from datasets', () => {
  const [rows, inner, cols] = [37, 19, 45];
  const a = randomF32(rows * inner, 1);
  const b = randomF32(inner * cols, 2);
  const f32 = () =>
    productJob(
      {
        id: 'big-f32',
        kernel: 'matmul-f32',
        a: { rows, cols: inner, data: bytesOf(a), name: 'A.npy' },
        b: { rows: inner, cols, data: bytesOf(b), name: 'B.npy' },
        m: 8,
        n: 16,
        options: { verify: { policy: 'freivalds' }, collect: true },
      },
      hash,
    );

  it('cuts A into bands and B into panels, each unit two slices of the right size', () => {
    const job = f32();
    expect(job.spec).toMatchObject({ units: 5 * 3, m: 8, n: 16, k: inner, seed: 0 });
    expect(job.datasets.size).toBe(1 + 3);
    holding(job, () => {
      for (let i = 0; i < job.spec.units; i++) {
        const unit = jobUnit(job.spec, i);
        expect(v.parse(workUnitSchema, JSON.parse(JSON.stringify(unit)))).toEqual(unit);
        expect(unitDatasets(unit).every((r) => job.datasets.has(r))).toBe(true);
      }
      // Units go panel by panel: the first five read panel 0.
      expect(new Set([0, 1, 2, 3, 4].map((i) => unitDatasets(jobUnit(job.spec, i))[1])).size).toBe(1);
      const last = jobUnit(job.spec, 14) as Extract<WorkUnit, { kernel: 'matmul-f32' }>;
      expect([last.m, last.n]).toEqual([37 - 32, 45 - 32]);
      const { a: ua } = f32Operands(last);
      expect([...ua]).toEqual([...a.subarray(32 * inner, 37 * inner)]);
    });
  });

  it('the units computed and placed by the grid make A·B', () => {
    const job = f32();
    const c = holding(job, () => assembled(job.spec, (bytes) => new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)));
    const want = product(a, b, rows, inner, cols);
    for (let i = 0; i < want.length; i++) expect(Math.abs(c[i]! - want[i]!)).toBeLessThan(1e-4);
  });

  it('matmul-modp: exact, residues below p', () => {
    const p = 65521;
    const r = seededRandom(9);
    const am = Uint32Array.from({ length: rows * inner }, () => Math.floor(r() * p));
    const bm = Uint32Array.from({ length: inner * cols }, () => Math.floor(r() * p));
    const job = productJob(
      {
        id: 'big-modp',
        kernel: 'matmul-modp',
        p,
        a: { rows, cols: inner, data: bytesOf(am), name: 'A.npy' },
        b: { rows: inner, cols, data: bytesOf(bm), name: 'B.npy' },
        unitFlops: 2 * 10 * 45 * inner,
        options: { samples: 4 },
      },
      hash,
    );
    expect(job.spec).toMatchObject({ m: 10, n: 45, units: 4 });
    const c = holding(job, () => assembled(job.spec, (bytes) => new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)));
    expect(c).toEqual(product(am, bm, rows, inner, cols, p));
  });

  it('refuses operands whose shapes do not fit, and specs that disagree with their datasets', () => {
    const job = f32();
    expect(() =>
      productJob(
        {
          id: 'x',
          kernel: 'matmul-f32',
          a: { rows: 2, cols: 3, data: new Uint8Array(24), name: 'A.npy' },
          b: { rows: 4, cols: 2, data: new Uint8Array(32), name: 'B.npy' },
          options: {},
        },
        hash,
      ),
    ).toThrow(/A.npy is 2×3 and B.npy is 4×2/);
    expect(() => parseJob({ ...job.spec, units: 14 })).toThrow(/units must be 15/);
    expect(() => parseJob({ ...job.spec, seed: 3 })).toThrow(/seed must be 0/);
    expect(() => parseJob({ ...job.spec, k: 20 })).toThrow(/k must equal data.inner/);
    const data = (job.spec as unknown as { data: { panels: string[] } }).data;
    expect(() => parseJob({ ...job.spec, data: { ...data, panels: data.panels.slice(1) } })).toThrow(/data.panels must list 3/);
    expect(() => parseJob({ id: 's', kernel: 'matmul-f32', units: 1, seed: 1, m: 2, n: 2, k: 2000, samples: 1 })).toThrow(/k must be an integer in 1..1024/);
  });

  it('a unit names both operands or neither, of exactly its sizes, with seed 0', () => {
    const job = f32();
    const unit = holding(job, () => jobUnit(job.spec, 0)) as Extract<WorkUnit, { kernel: 'matmul-f32' }>;
    const refused = (u: object) => !v.safeParse(workUnitSchema, u).success;
    expect(refused(unit)).toBe(false);
    expect(refused({ ...unit, b: undefined })).toBe(true);
    expect(refused({ ...unit, seed: 1 })).toBe(true);
    expect(refused({ ...unit, a: { ...unit.a!, length: unit.a!.length - 4 } })).toBe(true);
    expect(refused({ ...unit, a: { ...unit.a!, offset: unit.a!.bytes } })).toBe(true);
    expect(refused({ ...unit, kernel: 'matmul-i8' })).toBe(true);
    // The slices are the inputs: another root is another digest.
    const other: DatasetSlice = { ...unit.b!, root: 'ab'.repeat(32) };
    expect(unitInputDigest({ ...unit, b: other })).not.toBe(unitInputDigest(unit));
  });

  it('a dataset unit whose bytes are not held here is refused, not computed on other bytes', () => {
    const job = f32();
    const unit = holding(job, () => jobUnit(job.spec, 0)) as ChallengedUnit;
    expect(() => referenceLeaves(unit, hash)).toThrow(/is not held here/);
  });
});

describe('hashing a records dataset', () => {
  const r = seededRandom(4);
  const records = Array.from({ length: 23 }, (_, i) => Uint8Array.from({ length: (i * 37) % 131 }, () => Math.floor(r() * 256)));
  const job = () =>
    recordsJob(
      {
        id: 'recs',
        records: { data: encodeRecords(records), count: records.length, name: 'r.bin' },
        messagesPerUnit: 5,
        options: { samples: 2, collect: true },
      },
      hash,
    );

  it('cuts the records into units, the last one shorter, and the digests are those of node:crypto', () => {
    const j = job();
    expect(j.spec.units).toBe(5);
    const digests = holding(j, () => {
      const out: string[] = [];
      for (let i = 0; i < j.spec.units; i++) {
        const unit = jobUnit(j.spec, i) as Extract<WorkUnit, { kernel: 'sha256-batch' }>;
        expect(v.parse(workUnitSchema, JSON.parse(JSON.stringify(unit)))).toEqual(unit);
        expect(unit.count).toBe(i === 4 ? 3 : 5);
        const messages = sha256BatchInputs(unit);
        for (let m = 0; m < unit.count; m++) expect([...messages.message(m)]).toEqual([...records[i * 5 + m]!]);
        const leaves = referenceLeaves(unit, hash);
        for (let m = 0; m < unit.count; m++) out.push(toHex(leaves.subarray(32 * m, 32 * m + 32)));
        // Credit counts each record's compression blocks.
        expect(hostKernel('sha256-batch').work(unit)).toBe(records.slice(i * 5, i * 5 + unit.count).reduce((s, m) => s + Math.ceil((m.length + 9) / 64), 0));
      }
      return out;
    });
    expect(digests).toEqual(records.map((m) => createHash('sha256').update(m).digest('hex')));
  });

  it('refuses a spec that disagrees with its records', () => {
    const j = job();
    expect(() => parseJob({ ...j.spec, units: 4 })).toThrow(/units must be 5/);
    expect(() => parseJob({ ...j.spec, messageLength: 3 })).toThrow(/seed and messageLength must be 0/);
  });
});

describe('proof of work over given headers', () => {
  it('gives each header its own run of units', () => {
    const headers = ['00'.repeat(80), '11'.repeat(80)];
    const { spec } = headersJob({ id: 'pow-h', headers, unitsPerHeader: 3, options: { noncesPerUnit: 4096, shareBits: 8, targetBits: 16 } });
    const units = Array.from({ length: 6 }, (_, i) => jobUnit(spec, i) as Extract<WorkUnit, { kernel: 'sha256d-pow' }>);
    expect(units.map((u) => u.header.slice(0, 2))).toEqual(['00', '00', '00', '11', '11', '11']);
    expect(units.map((u) => u.nonceStart)).toEqual([0, 4096, 8192, 0, 4096, 8192]);
    expect(() => parseJob({ ...spec, units: 5 })).toThrow(/multiple of the 2 headers/);
    expect(() => parseJob({ ...spec, header: headers[0] })).toThrow(/header or headers/);
  });
});

describe('datasets', () => {
  it('a dataset root is its chunk tree root: one byte changed is another root', () => {
    const data = new Uint8Array(300_000).map((_, i) => i * 7);
    const root = buildDataset(data, hash).root;
    data[299_999]! ^= 1;
    expect(buildDataset(data, hash).root).not.toBe(root);
  });
});

describe('the host computing a dataset unit itself', () => {
  it('on its recomputing thread, which holds no datasets: the request carries the slices, and the root is the host’s own', async () => {
    const { threadRecomputer } = await import('../../src/host/recompute-thread');
    const { recomputedRoot } = await import('../../src/host/recompute');
    const r = seededRandom(12);
    const records = Array.from({ length: 40 }, (_, i) => Uint8Array.from({ length: (i * 13) % 90 }, () => Math.floor(r() * 256)));
    const job = recordsJob(
      { id: 'thread-recs', records: { data: encodeRecords(records), count: 40, name: 'r' }, messagesPerUnit: 16, options: { replicate: true } },
      hash,
    );
    const recomputer = threadRecomputer();
    try {
      const [unit, root] = holding(job, () => {
        const u = jobUnit(job.spec, 1) as ChallengedUnit;
        return [u, recomputedRoot(u, hash)] as const;
      });
      // Not held here any more: the request must bring the bytes, which it reads while held.
      await expect(recomputer.root(unit)).rejects.toThrow(/not held here/);
      const got = await holding(job, () => recomputer.root(unit));
      expect(got).toBe(root);
    } finally {
      recomputer.close();
    }
  });
});
