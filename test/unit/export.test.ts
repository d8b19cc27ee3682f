import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { parseNpy } from '../../src/data/npy';
import { encodeRecords } from '../../src/data/records';
import { shelf } from '../../src/data/shelf';
import { fromHex } from '../../src/hex';
import { exportJob, listJobs } from '../../src/host/export/export-job';
import type { ExportManifest } from '../../src/host/export/export-manifest';
import { assembleOutput, gridPlacement, type PowUnitSolutions } from '../../src/host/export/export-output';
import { HostCore } from '../../src/host/host-core';
import { productJob, recordsJob, type Ingested } from '../../src/host/ingest/build';
import { jobUnit, type JobSpec, type PowJobSpec } from '../../src/host/job';
import { matmulGrid } from '../../src/kernels/matmul/tiles';
import { referenceLeaves } from '../../src/host/recompute';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import type { HostStore } from '../../src/host/store/store';
import { sharesRoot } from '../../src/kernels/sha256d-pow/recheck';
import { powSearchCpuFast } from '../../src/kernels/sha256d-pow/pow';
import { isTabgridError } from '../../src/errors';
import type { MatrixGrid } from '../../src/kernels/host-kernel';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import type { ChallengedUnit, PowUnit } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';
import { honest, reasonOf, submit, volunteer, type TestVolunteer } from '../helpers/judged';
import { resultOf } from '../helpers/signing';

let hash: Hasher;
const dir = mkdtempSync(join(tmpdir(), 'tabgrid-export-'));
let dirs = 0;
const freshDir = () => join(dir, `out-${++dirs}`);
beforeAll(async () => {
  hash = await createCpuSha256();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const modp: JobSpec = { id: 'x-modp', kernel: 'matmul-modp', units: 3, m: 6, n: 5, k: 7, p: 65521, seed: 6, verify: { policy: 'freivalds' }, collect: true };
const f32: JobSpec = { id: 'x-f32', kernel: 'matmul-f32', units: 2, m: 4, n: 9, k: 3, seed: 2, verify: { policy: 'freivalds' }, collect: true };
const hashing: JobSpec = { id: 'x-sha', kernel: 'sha256-batch', units: 3, messagesPerUnit: 10, messageLength: 20, seed: 5, samples: 4, collect: true };
const roots: JobSpec = { ...hashing, id: 'x-roots', collect: false };
const pow: PowJobSpec = { id: 'x-pow', kernel: 'sha256d-pow', units: 2, seed: 7, noncesPerUnit: 4096, shareBits: 6, targetBits: 11 };

/** A host signing with its store's key, as the Node host does (scripts/stack.ts). */
async function open(specs: JobSpec[], store: HostStore) {
  return HostCore.open(store, specs, { hostId: 'h', hash, identity: await store.hostIdentity(), random: seededRandom(3), maxLeases: 1 });
}

/** Has `v` lease and honestly compute `count` units (of whichever job the host hands out), reporting a backend and adapter. */
async function work(v: TestVolunteer, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const unit = await v.lease();
    if (unit.kernel === 'sha256d-pow') {
      const { shares } = await powSearchCpuFast(fromHex(unit.header)!, unit.nonceStart, unit.nonceCount, fromHex(unit.target)!, fromHex(unit.shareTarget)!);
      const [verdict] = await v.say(await resultOf(v.me, unit, sharesRoot(shares, hash), { shares, backend: 'cpu', adapter: 'test CPU' }));
      expect(reasonOf(verdict!)).toMatch(/^accepted/);
    } else {
      expect(reasonOf(await submit(v, unit, honest(unit, hash), hash, { backend: 'webgpu', adapter: 'test GPU' }))).toMatch(/^accepted/);
    }
  }
}

/** A tiny .npy reader: version 1 or 2 header, its dtype, shape and the bytes after it. */
function readNpy(bytes: Uint8Array): { descr: string; fortran: boolean; shape: number[]; data: Uint8Array } {
  expect([...bytes.subarray(0, 6)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const v2 = bytes[6] === 2;
  const len = v2 ? view.getUint32(8, true) : view.getUint16(8, true);
  const start = v2 ? 12 : 10;
  const header = new TextDecoder().decode(bytes.subarray(start, start + len));
  expect((start + len) % 64).toBe(0);
  const descr = /'descr': '([^']+)'/.exec(header)![1]!;
  const fortran = /'fortran_order': (True|False)/.exec(header)![1] === 'True';
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  return { descr, fortran, shape, data: bytes.subarray(start + len) };
}

const manifestOf = (out: string) => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ExportManifest;

/** Every accepted unit's receipt in the manifest is the holder's, signed by the manifest's host key. */
async function expectReceiptsVerify(m: ExportManifest): Promise<void> {
  for (const u of m.units.list.filter((u) => u.state === 'accepted')) {
    expect(u.receipt).toMatchObject({ unitId: u.unitId, volunteer: u.volunteer, root: u.root });
    expect(await verifyReceiptSignature(m.host.publicKey, u.receipt!, u.receipt!.signature!)).toBe(true);
    // The same receipt with another root does not verify: the check can fail.
    expect(await verifyReceiptSignature(m.host.publicKey, { ...u.receipt!, root: '00'.repeat(32) }, u.receipt!.signature!)).toBe(false);
  }
}

describe('exportJob', () => {
  it('writes C.npy of a matrix job that collects, as the reference computes it, with a manifest whose receipts verify', async () => {
    const store = new MemoryHostStore();
    const core = await open([modp, f32], store);
    await work(await volunteer(core, 'a'), modp.units + f32.units);
    expect(core.done).toBe(true);
    for (const spec of [modp, f32]) {
      const out = freshDir();
      const report = await exportJob(store, spec.id, out, { now: 1_767_225_600_000 });
      expect(report).toMatchObject({ jobId: spec.id, state: 'complete', output: 'matrix', files: ['C.npy', 'manifest.json'], total: spec.units, missing: [] });
      const c = readNpy(readFileSync(join(out, 'C.npy')));
      const { m, n } = spec as { m: number; n: number };
      expect(c).toMatchObject({ descr: spec.kernel === 'matmul-f32' ? '<f4' : '<u4', fortran: false, shape: [spec.units, m, n] });
      const expected = Buffer.concat(Array.from({ length: spec.units }, (_, i) => referenceLeaves(jobUnit(spec, i) as ChallengedUnit, hash)));
      expect(Buffer.from(c.data).equals(expected)).toBe(true);
      // In memory (the SDK's output()), the same bytes as the file.
      const units = (await store.load()).units.filter((u) => u.jobId === spec.id);
      const inMemory = await assembleOutput(spec, units, (unitId, root) => store.output(unitId, root));
      expect(inMemory).toMatchObject({ output: 'matrix', unkept: [] });
      expect(Buffer.from(inMemory.files[0]!.data).equals(readFileSync(join(out, 'C.npy')))).toBe(true);
      // tabgrid's own reader (the one that ingests datasets) takes it too.
      expect(parseNpy(readFileSync(join(out, 'C.npy')), 'C.npy')).toMatchObject({ dtype: c.descr, shape: [spec.units, m, n] });
      const manifest = manifestOf(out);
      expect(manifest).toMatchObject({
        format: 'tabgrid-export/1',
        job: { id: spec.id, kernel: spec.kernel, spec },
        state: 'complete',
        output: 'matrix',
        exportedAt: '2026-01-01T00:00:00.000Z',
        host: { publicKey: (await store.hostIdentity()).publicKey },
        units: { total: spec.units, accepted: spec.units },
        missing: [],
        files: [{ name: 'C.npy', bytes: readFileSync(join(out, 'C.npy')).length }],
      });
      expect(manifest.units.list.map((u) => [u.index, u.state, u.backend, u.adapter])).toEqual(
        Array.from({ length: spec.units }, (_, i) => [i, 'accepted', 'webgpu', 'test GPU']),
      );
      expect(manifest.units.list.every((u) => u.acceptedAt !== null && /^[0-9a-f]{64}$/.test(u.root!))).toBe(true);
      await expectReceiptsVerify(manifest);
    }
  });

  it('exports a partial job: the units not accepted are listed as missing and their blocks are zero', async () => {
    const store = new MemoryHostStore();
    const core = await open([modp], store);
    const v = await volunteer(core, 'a');
    await work(v, 1);
    // One more unit leased but not computed: it is not accepted either.
    await v.lease();
    const out = freshDir();
    const report = await exportJob(store, modp.id, out);
    expect(report).toMatchObject({ state: 'partial', accepted: 1, missing: ['x-modp/1', 'x-modp/2'] });
    const manifest = manifestOf(out);
    expect(manifest).toMatchObject({ state: 'partial', missing: ['x-modp/1', 'x-modp/2'], units: { accepted: 1 } });
    expect(manifest.units.list.map((u) => [u.state, u.volunteer === null, u.receipt === null, u.backend])).toEqual([
      ['accepted', false, false, 'webgpu'],
      ['leased', true, true, null],
      ['queued', true, true, null],
    ]);
    const c = readNpy(readFileSync(join(out, 'C.npy')));
    const unitBytes = 6 * 5 * 4;
    expect(Buffer.from(c.data.subarray(0, unitBytes)).equals(referenceLeaves(jobUnit(modp, 0) as ChallengedUnit, hash))).toBe(true);
    expect(c.data.subarray(unitBytes).every((b) => b === 0)).toBe(true);
    await expectReceiptsVerify(manifest);
  });

  it('lists an accepted unit whose output the store lost as missing', async () => {
    const store = new MemoryHostStore();
    const core = await open([modp], store);
    await work(await volunteer(core, 'a'), 3);
    const lost = (await store.load()).units.find((u) => u.index === 1)!;
    await store.commit({ droppedOutputs: [{ unitId: lost.unitId, root: lost.root! }] });
    const report = await exportJob(store, modp.id, freshDir());
    expect(report).toMatchObject({ state: 'partial', accepted: 3, missing: ['x-modp/1'] });
  });

  it('writes digests.bin and digests.npy (uint8[N, 32]) of a hashing job in message order', async () => {
    const store = new MemoryHostStore();
    const core = await open([hashing], store);
    await work(await volunteer(core, 'a'), hashing.units);
    const out = freshDir();
    expect(await exportJob(store, hashing.id, out)).toMatchObject({
      state: 'complete',
      output: 'digests',
      files: ['digests.bin', 'digests.npy', 'manifest.json'],
    });
    const expected = Buffer.concat(Array.from({ length: hashing.units }, (_, i) => referenceLeaves(jobUnit(hashing, i) as ChallengedUnit, hash)));
    expect(expected.length).toBe(30 * 32);
    expect(readFileSync(join(out, 'digests.bin')).equals(expected)).toBe(true);
    const npy = readNpy(readFileSync(join(out, 'digests.npy')));
    expect(npy).toMatchObject({ descr: '|u1', shape: [30, 32] });
    expect(Buffer.from(npy.data).equals(expected)).toBe(true);
    await expectReceiptsVerify(manifestOf(out));
  });

  it('writes only the manifest for a job that did not collect, saying so', async () => {
    const store = new MemoryHostStore();
    const core = await open([roots], store);
    await work(await volunteer(core, 'a'), roots.units);
    const out = freshDir();
    expect(await exportJob(store, roots.id, out)).toMatchObject({ state: 'complete', output: 'none', files: ['manifest.json'] });
    expect(readdirSync(out)).toEqual(['manifest.json']);
    const manifest = manifestOf(out);
    expect(manifest.note).toMatch(/did not collect its output/);
    expect(manifest.files).toEqual([]);
    await expectReceiptsVerify(manifest);
  });

  it('writes solutions.json of a proof-of-work job: header, nonce range, solutions and the shares the host kept', async () => {
    const store = new MemoryHostStore();
    const core = await open([pow], store);
    await work(await volunteer(core, 'a'), 1);
    const out = freshDir();
    expect(await exportJob(store, pow.id, out)).toMatchObject({ state: 'partial', output: 'solutions', missing: ['x-pow/1'] });
    const { units } = JSON.parse(readFileSync(join(out, 'solutions.json'), 'utf8')) as { units: PowUnitSolutions[] };
    const unit = jobUnit(pow, 0) as PowUnit;
    const search = await powSearchCpuFast(fromHex(unit.header)!, unit.nonceStart, unit.nonceCount, fromHex(unit.target)!, fromHex(unit.shareTarget)!);
    expect(search.shares.length).toBeGreaterThan(0);
    expect(units[0]).toEqual({
      unitId: 'x-pow/0',
      index: 0,
      state: 'accepted',
      header: unit.header,
      nonceStart: 0,
      nonceCount: 4096,
      target: unit.target,
      shareTarget: unit.shareTarget,
      solutions: search.solutions,
      shares: search.shares,
    });
    expect(units[1]).toMatchObject({ unitId: 'x-pow/1', state: 'queued', nonceStart: 4096, solutions: null, shares: null });
    const manifest = manifestOf(out);
    expect(manifest.units.list[0]).toMatchObject({ backend: 'cpu', adapter: 'test CPU', root: sharesRoot(search.shares, hash) });
    await expectReceiptsVerify(manifest);
  });

  it('refuses an unknown job, naming the jobs there, and a non-empty directory unless forced', async () => {
    const store = new MemoryHostStore();
    const core = await open([roots], store);
    await work(await volunteer(core, 'a'), 1);
    const err = await exportJob(store, 'nope', freshDir()).catch((e: unknown) => e);
    expect(isTabgridError(err, 'bad-input')).toBe(true);
    expect(String(err)).toMatch(/the store holds no job "nope"; its jobs: x-roots/);
    const out = freshDir();
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    await expect(exportJob(store, roots.id, out)).rejects.toThrow(/export directory .* is not empty \(1 entries\).*--force/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    await exportJob(store, roots.id, out, { force: true });
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'notes.txt']);
    // Nothing left under a temporary name.
    expect(readdirSync(out).some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(await listJobs(store)).toEqual([
      { id: 'x-roots', kernel: 'sha256-batch', units: 3, accepted: 1, collect: false, createdAt: expect.any(Number), status: 'active' },
    ]);
  });

  it('re-exporting with --force over an export keeps the old one whole when it fails before its files are in place, and clears a killed export’s leftovers', async () => {
    const store = new MemoryHostStore();
    const core = await open([modp], store);
    const v = await volunteer(core, 'a');
    await work(v, 1);
    const out = freshDir();
    await exportJob(store, modp.id, out);
    const old = { manifest: readFileSync(join(out, 'manifest.json')), c: readFileSync(join(out, 'C.npy')) };
    writeFileSync(join(out, `.C.npy.999.deadbeef.tmp`), 'a killed export’s');
    await work(v, 1);
    /** A forced re-export that fails with `why`: the directory is as it was, the old manifest with its own C.npy. */
    const failsKeepingTheOld = async (why: RegExp) => {
      await expect(exportJob(store, modp.id, out, { force: true })).rejects.toThrow(why);
      expect(readdirSync(out).sort()).toEqual(['C.npy', 'manifest.json']);
      expect(readFileSync(join(out, 'manifest.json')).equals(old.manifest)).toBe(true);
      expect(readFileSync(join(out, 'C.npy')).equals(old.c)).toBe(true);
    };
    // The store fails while the new files are written.
    const output = store.output.bind(store);
    store.output = () => Promise.reject(new Error('the disk went away'));
    await failsKeepingTheOld(/the disk went away/);
    store.output = output;
    // The manifest cannot be made (the host key unreadable) after every file was written.
    const identity = store.hostIdentity.bind(store);
    store.hostIdentity = () => Promise.reject(new Error('the key is unreadable'));
    await failsKeepingTheOld(/the key is unreadable/);
    store.hostIdentity = identity;
    const again = await exportJob(store, modp.id, out, { force: true });
    expect(again.accepted).toBe(2);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).units.accepted).toBe(2);
  });

  it('stops when its signal is aborted', async () => {
    const store = new MemoryHostStore();
    const core = await open([modp], store);
    await work(await volunteer(core, 'a'), 1);
    await expect(exportJob(store, modp.id, freshDir(), { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});

describe('exportJob of dataset jobs (from a stopped store: the datasets come from it)', () => {
  const [rows, inner, cols] = [37, 19, 45];
  const r = seededRandom(11);
  const a = Float32Array.from({ length: rows * inner }, () => r() * 2 - 1);
  const b = Float32Array.from({ length: inner * cols }, () => r() * 2 - 1);
  const p = 65521;
  const am = Uint32Array.from({ length: rows * inner }, () => Math.floor(r() * p));
  const bm = Uint32Array.from({ length: inner * cols }, () => Math.floor(r() * p));
  const bytesOf = (w: Float32Array | Uint32Array) => new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
  const records = Array.from({ length: 23 }, (_, i) => Uint8Array.from({ length: (i * 37) % 131 }, () => Math.floor(r() * 256)));

  /** C = A·B in f64 (or exactly mod p), the test's own product. */
  function product(x: ArrayLike<number>, y: ArrayLike<number>, mod?: number): number[] {
    const c: number[] = new Array(rows * cols).fill(0);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        let sum = 0;
        for (let t = 0; t < inner; t++)
          sum = mod === undefined ? sum + x[i * inner + t]! * y[t * cols + j]! : (sum + x[i * inner + t]! * y[t * cols + j]!) % mod;
        c[i * cols + j] = sum;
      }
    return c;
  }

  /** Runs `job` to the end with an honest volunteer on a SQLite store (datasets saved before the job, as a host does), closes it, and exports from the file. */
  async function runAndExport(job: Ingested, accept = job.spec.units): Promise<{ out: string; report: Awaited<ReturnType<typeof exportJob>> }> {
    const db = join(dir, `${job.spec.id}-${++dirs}.sqlite`);
    const store = new SqliteHostStore(db);
    for (const [root, data] of job.datasets) await store.saveDataset({ root, data, createdAt: 1 });
    const releases = [...job.datasets].map(([root, data]) => shelf.holdDataset(root, data));
    try {
      const core = await open([job.spec], store);
      await work(await volunteer(core, 'a'), accept);
    } finally {
      for (const release of releases) release();
      await store.close();
    }
    const out = freshDir();
    const stopped = new SqliteHostStore(db);
    try {
      return { out, report: await exportJob(stopped, job.spec.id, out) };
    } finally {
      await stopped.close();
    }
  }

  it('places every unit of a tiled f32 product in one C.npy of A·B’s shape, within f32 error', async () => {
    const job = productJob(
      {
        id: 'tiled-f32',
        kernel: 'matmul-f32',
        a: { rows, cols: inner, data: bytesOf(a), name: 'A.npy' },
        b: { rows: inner, cols, data: bytesOf(b), name: 'B.npy' },
        m: 8,
        n: 16,
        options: { verify: { policy: 'freivalds' }, collect: true },
      },
      hash,
    );
    expect(job.spec.units).toBe(15);
    const { out, report } = await runAndExport(job);
    expect(report).toMatchObject({ state: 'complete', files: ['C.npy', 'manifest.json'] });
    const c = readNpy(readFileSync(join(out, 'C.npy')));
    expect(c).toMatchObject({ descr: '<f4', shape: [rows, cols] });
    const got = new Float32Array(Uint8Array.from(c.data).buffer);
    const want = product(a, b);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4);
  });

  it('a partial tiled modp export is exact where accepted, zero where missing', async () => {
    const job = productJob(
      {
        id: 'tiled-modp',
        kernel: 'matmul-modp',
        p,
        a: { rows, cols: inner, data: bytesOf(am), name: 'A.npy' },
        b: { rows: inner, cols, data: bytesOf(bm), name: 'B.npy' },
        m: 10,
        n: 20,
        options: { verify: { policy: 'freivalds' }, collect: true },
      },
      hash,
    );
    const grid = matmulGrid(job.spec as Parameters<typeof matmulGrid>[0])!;
    const { out, report } = await runAndExport(job, 5);
    const accepted = new Set(
      manifestOf(out)
        .units.list.filter((u) => u.state === 'accepted')
        .map((u) => u.index),
    );
    expect(accepted.size).toBe(5);
    expect(report.state).toBe('partial');
    expect(report.missing).toEqual(
      manifestOf(out)
        .units.list.filter((u) => !accepted.has(u.index))
        .map((u) => u.unitId),
    );
    expect(report.missing).toHaveLength(job.spec.units - 5);
    const c = readNpy(readFileSync(join(out, 'C.npy')));
    expect(c).toMatchObject({ descr: '<u4', shape: [rows, cols] });
    const got = new Uint32Array(Uint8Array.from(c.data).buffer);
    const want = product(am, bm, p);
    for (let i = 0; i < grid.units; i++) {
      const t = grid.tile(i);
      for (let row = t.row; row < t.row + t.m; row++)
        for (let col = t.col; col < t.col + t.n; col++) expect(got[row * cols + col]).toBe(accepted.has(i) ? want[row * cols + col] : 0);
    }
  });

  it('digests of a records job (variable lengths, a shorter last unit) are node:crypto’s, in record order', async () => {
    const job = recordsJob(
      {
        id: 'recs',
        records: { data: encodeRecords(records), count: records.length, name: 'r.bin' },
        messagesPerUnit: 5,
        options: { samples: 2, collect: true },
      },
      hash,
    );
    const { out, report } = await runAndExport(job);
    expect(report).toMatchObject({ state: 'complete', output: 'digests' });
    const want = Buffer.concat(records.map((m) => createHash('sha256').update(m).digest()));
    expect(readFileSync(join(out, 'digests.bin')).equals(want)).toBe(true);
    const npy = readNpy(readFileSync(join(out, 'digests.npy')));
    expect(npy.shape).toEqual([23, 32]);
    expect(Buffer.from(npy.data).equals(want)).toBe(true);
  });
});

describe('placing tiles of a grid in C', () => {
  it('puts each unit’s block at its place, edge tiles smaller, and refuses a block of the wrong size', async () => {
    // C is 5×7, cut into 3×4 tiles: a 2×2 grid whose last row and column are smaller.
    const grid: MatrixGrid = {
      rows: 5,
      cols: 7,
      units: 4,
      tile: (i) => {
        const [r, c] = [Math.floor(i / 2), i % 2];
        return { row: 3 * r, col: 4 * c, m: r === 0 ? 3 : 2, n: c === 0 ? 4 : 3 };
      },
    };
    const want = Uint32Array.from({ length: 35 }, (_, i) => 1000 + i);
    const c = new Uint8Array(35 * 4);
    const write = async (at: number, bytes: Uint8Array) => c.set(bytes, at);
    const place = gridPlacement(grid);
    expect(place.shape).toEqual([5, 7]);
    for (let i = 0; i < 4; i++) {
      const t = grid.tile(i);
      const block = new Uint32Array(t.m * t.n);
      for (let r = 0; r < t.m; r++) for (let k = 0; k < t.n; k++) block[r * t.n + k] = want[(t.row + r) * 7 + t.col + k]!;
      await place.place(i, new Uint8Array(block.buffer), write);
    }
    expect(new Uint32Array(c.buffer)).toEqual(want);
    await expect(place.place(3, new Uint8Array(4 * 5), write)).rejects.toThrow(/not its 2×3 tile at \(3, 4\)/);
    // A tile as wide as C goes in one write.
    const full = gridPlacement({ rows: 4, cols: 3, units: 2, tile: (i) => ({ row: 2 * i, col: 0, m: 2, n: 3 }) });
    const writes: number[] = [];
    await full.place(1, new Uint8Array(24), async (at) => void writes.push(at));
    expect(writes).toEqual([24]);
  });
});

const run = promisify(execFile);

/** Runs `npm run host` with `args`; resolves to its exit code and output (a failing exit does not throw). */
async function hostCli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'scripts/host.ts', ...args], { timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('npm run host -- --export / --list-jobs', () => {
  it('exports from a SQLite store while its host still has it open, lists jobs, and says what is wrong', async () => {
    const db = join(dir, 'host.sqlite');
    const store = new SqliteHostStore(db);
    const core = await open([hashing, modp], store);
    await work(await volunteer(core, 'a'), 4);
    // The host keeps the file open (a running host); the CLI reads it beside it.
    const listed = await hostCli('--list-jobs', '--db', db);
    expect(listed.code, listed.out).toBe(0);
    expect(listed.out).toMatch(/x-sha\tsha256-batch\t3\/3 units accepted\toutput collected/);
    expect(listed.out).toMatch(/x-modp\tmatmul-modp\t1\/3 units accepted\toutput collected/);
    const out = freshDir();
    const exported = await hostCli('--export', 'x-modp', '--out', out, '--store', db);
    expect(exported.code, exported.out).toBe(0);
    expect(exported.out).toMatch(/exported job x-modp \(partial: 1\/3 units accepted\) to .*: C\.npy, manifest\.json/);
    expect(exported.out).toMatch(/missing 2 unit\(s\): x-modp\/1, x-modp\/2/);
    const manifest = manifestOf(out);
    expect(manifest.host.publicKey).toBe((await store.hostIdentity()).publicKey);
    await expectReceiptsVerify(manifest);
    // The host goes on committing after the export.
    await work(await volunteer(core, 'b'), 2);
    await store.close();
    expect(await hostCli('--export', 'x-modp', '--out', out, '--db', db)).toMatchObject({ code: 1, out: expect.stringMatching(/is not empty/) });
    const again = await hostCli('--export', 'x-modp', '--out', out, '--db', db, '--force');
    expect(again.out).toMatch(/\(complete: 3\/3 units accepted\)/);
    expect(await hostCli('--export', 'nope', '--out', freshDir(), '--db', db)).toMatchObject({
      code: 1,
      out: expect.stringMatching(/the store holds no job "nope"; its jobs: x-sha, x-modp/),
    });
    expect(await hostCli('--export', 'x-modp', '--out', freshDir(), '--db', join(dir, 'missing.sqlite'))).toMatchObject({
      code: 1,
      out: expect.stringContaining('no host database at'),
    });
    expect(await hostCli('--export', 'x-modp', '--db', db)).toMatchObject({ code: 2, out: expect.stringContaining('--export needs --out DIR') });
    expect(await hostCli('--list-jobs')).toMatchObject({ code: 2, out: expect.stringContaining('give --db FILE.sqlite') });
  }, 120_000);
});
