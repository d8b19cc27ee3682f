import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJobs } from '../../scripts/args';
import { encodeNpy, NpyDtype } from '../../src/data/npy';
import { encodeRecords } from '../../src/data/records';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { ingestRequest } from '../../src/host/ingest/ingest-node';
import { isJobRequest } from '../../src/host/ingest/request';
import { MemoryHostStore } from '../../src/host/store/memory-store';

/** Job requests from files: good ones become datasets and a spec; a bad one says which file and what is wrong, and nothing is stored. */
let dir: string;
let hash: Hasher;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabgrid-ingest-'));
  hash = await createCpuSha256();
  const f32 = (n: number) => new Uint8Array(Float32Array.from({ length: n }, (_, i) => (i % 7) - 3).buffer);
  await writeFile(join(dir, 'A.npy'), encodeNpy(NpyDtype.Float32, [6, 5], f32(30)));
  await writeFile(join(dir, 'B.npy'), encodeNpy(NpyDtype.Float32, [5, 9], f32(45)));
  await writeFile(join(dir, 'B-wrong.npy'), encodeNpy(NpyDtype.Float32, [4, 9], f32(36)));
  const big = encodeNpy(NpyDtype.Float32, [5, 9], f32(45));
  await writeFile(join(dir, 'B-cut.npy'), big.subarray(0, big.length - 3));
  await writeFile(join(dir, 'recs.bin'), encodeRecords([new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70)]));
  await writeFile(join(dir, 'recs-cut.bin'), encodeRecords([new Uint8Array([1, 2, 3])]).subarray(0, 5));
  await writeFile(join(dir, 'headers.txt'), `${'ab'.repeat(80)}\n\n${'CD'.repeat(80)}\n`);
  await writeFile(join(dir, 'headers-bad.txt'), `${'ab'.repeat(80)}\nnot a header\n`);
  const job = (name: string, body: object) => writeFile(join(dir, name), JSON.stringify(body));
  await job('good.json', { id: 'good', kernel: 'matmul-f32', a: 'A.npy', b: 'B.npy', m: 4, n: 4, samples: 2 });
  await job('mismatch.json', { id: 'mismatch', kernel: 'matmul-f32', a: 'A.npy', b: 'B-wrong.npy', samples: 2 });
  await job('cut.json', { id: 'cut', kernel: 'matmul-f32', a: 'A.npy', b: 'B-cut.npy', samples: 2 });
  await job('recs.json', { id: 'recs', kernel: 'sha256-batch', records: 'recs.bin', messagesPerUnit: 2, samples: 1 });
  await job('recs-cut.json', { id: 'recs-cut', kernel: 'sha256-batch', records: 'recs-cut.bin', messagesPerUnit: 2, samples: 1 });
  await job('headers-bad.json', {
    id: 'hb',
    kernel: 'sha256d-pow',
    headers: 'headers-bad.txt',
    unitsPerHeader: 1,
    noncesPerUnit: 4096,
    shareBits: 8,
    targetBits: 12,
  });
  await job('missing.json', { id: 'missing', kernel: 'matmul-f32', a: 'nowhere.npy', b: 'B.npy', samples: 2 });
  await job('seeded.json', { id: 'seeded', kernel: 'sha256-batch', units: 2, messagesPerUnit: 4, messageLength: 8, seed: 1, samples: 1 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('job requests from files', () => {
  it('tells requests from seeded specs', () => {
    expect(isJobRequest({ kernel: 'matmul-f32', a: 'A.npy' })).toBe(true);
    expect(isJobRequest({ kernel: 'sha256-batch', records: 'r.bin' })).toBe(true);
    expect(isJobRequest({ kernel: 'sha256d-pow', unitsPerHeader: 2 })).toBe(true);
    expect(isJobRequest({ kernel: 'sha256-batch', units: 2 })).toBe(false);
  });

  it('reads good files into datasets and specs, stored only once every file is good', async () => {
    const store = new MemoryHostStore();
    const [product, records, seeded] = await readJobs([join(dir, 'good.json'), join(dir, 'recs.json'), join(dir, 'seeded.json')], store);
    expect(product).toMatchObject({ id: 'good', units: 2 * 3, m: 4, n: 4, k: 5 });
    expect(records).toMatchObject({ id: 'recs', units: 2, data: { records: 3 } });
    expect(seeded).toMatchObject({ id: 'seeded', seed: 1 });
    expect((await store.datasetRoots()).length).toBe(1 + 3 + 1);
  });

  it.each([
    ['mismatch.json', /mismatch.json.*A.npy is 6×5 and B-wrong.npy is 4×9/],
    ['cut.json', /cut.json.*B-cut.npy/],
    ['recs-cut.json', /recs-cut.json.*recs-cut.bin/],
    ['headers-bad.json', /headers-bad.json.*headers-bad.txt.*2/],
    ['missing.json', /missing.json.*nowhere.npy/],
  ])('%s: the error names the file and what is wrong, and nothing of any job is stored', async (name, message) => {
    const store = new MemoryHostStore();
    await expect(readJobs([join(dir, 'good.json'), join(dir, name)], store)).rejects.toThrow(message);
    expect(await store.datasetRoots()).toEqual([]);
  });

  it('says too many panels or units in the request’s own terms (n, m, messagesPerUnit, unitsPerHeader)', async () => {
    const wide = encodeNpy(NpyDtype.Float32, [1, 5000], new Uint8Array(5000 * 4));
    const row = encodeNpy(NpyDtype.Float32, [1, 1], new Uint8Array(4));
    await expect(ingestRequest({ id: 'w', kernel: 'matmul-f32', a: row, b: wide, n: 1, samples: 1 }, { hash })).rejects.toThrow(
      /^job "w": n 1 cuts b's 5000 columns into 5000 panels, over the 4096 a job may have: give a larger n$/,
    );
    // One million and one empty records (4-byte prefixes of zero), one a unit.
    const empties = new Uint8Array(4 * 1_000_001);
    await expect(ingestRequest({ kernel: 'sha256-batch', records: new Blob([empties]), messagesPerUnit: 1, samples: 1 }, { hash })).rejects.toThrow(
      /^job: 1000001 records at messagesPerUnit 1 make 1000001 units, over the 1000000 a job may have: raise messagesPerUnit$/,
    );
  });

  it('a request with the bytes themselves, and an id made from its inputs when none is given', async () => {
    const a = encodeNpy(NpyDtype.Uint32, [2, 2], new Uint8Array(new Uint32Array([1, 2, 3, 4]).buffer));
    const once = await ingestRequest({ kernel: 'matmul-modp', p: 7, a, b: a, samples: 1 }, { hash });
    const again = await ingestRequest({ kernel: 'matmul-modp', p: 7, a, b: a, samples: 1 }, { hash });
    expect(once.spec.id).toMatch(/^matmul-modp-[0-9a-f]{12}$/);
    expect(again.spec.id).toBe(once.spec.id);
    // The same A with another B (or another option) is another job, not a clash with the first.
    const b = encodeNpy(NpyDtype.Uint32, [2, 2], new Uint8Array(new Uint32Array([4, 3, 2, 1]).buffer));
    const otherB = await ingestRequest({ kernel: 'matmul-modp', p: 7, a, b, samples: 1 }, { hash });
    const otherSamples = await ingestRequest({ kernel: 'matmul-modp', p: 7, a, b: a, samples: 2 }, { hash });
    expect(new Set([once.spec.id, otherB.spec.id, otherSamples.spec.id]).size).toBe(3);
    await expect(ingestRequest({ kernel: 'matmul-modp', p: 3, a, b: a, samples: 1 }, { hash })).rejects.toThrow(/a.*3.*0\.\.2|residue|p/);
    await expect(ingestRequest({ kernel: 'matmul-modp', a, b: a, samples: 1 }, { hash })).rejects.toThrow(/^job: p \(the prime modulus\) is missing/);
    // Errors name the job as the request did: no id, no made-up name.
    await expect(ingestRequest({ kernel: 'matmul-modp', p: 7, a, b: a, samples: 0 }, { hash })).rejects.toThrow(/^job: samples/);
    await expect(ingestRequest({ id: 'mine', kernel: 'matmul-modp', p: 7, a, b: a, samples: 0 }, { hash })).rejects.toThrow(/^job "mine": samples/);
  });
});
