import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, NpyDtype } from '../../src/data/npy';
import { encodeRecords } from '../../src/data/records';
import { isTabgridError } from '../../src/errors';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import type { AcceptedResult } from '../../src/host/host-options';
import { ingestRequest } from '../../src/host/ingest/ingest';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { submitToPageHost, type JobProgress, type PageGridHost } from '../../src/sdk/page-grid';
import { seededRandom } from '../../src/work/seeded';
import { honest, reasonOf, submit, volunteer } from '../helpers/judged';
import { npyFile as npyAs, product } from '../helpers/npy-file';

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

/** A host as the page SDK sees it, over a memory store: the page host's parts without IndexedDB or a network. */
async function memoryPageHost(): Promise<PageGridHost & { store: MemoryHostStore }> {
  const store = new MemoryHostStore();
  const watchers = new Set<(r: AcceptedResult) => void>();
  const core = await HostCore.open(store, [], {
    hostId: 'page',
    hash,
    identity: await store.hostIdentity(),
    random: seededRandom(5),
    onAccepted: (r) => watchers.forEach((w) => w(r)),
  });
  return {
    core,
    store,
    hash,
    watchAccepted: (w) => {
      watchers.add(w);
      return () => watchers.delete(w);
    },
  };
}

const bytesOf = (a: Float32Array | Uint32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const npyFile = (name: string, dtype: NpyDtype, shape: number[], data: Float32Array | Uint32Array | Uint16Array) => npyAs(name, shape, data, dtype);

function randomF32(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => Math.round((r() * 2 - 1) * 64) / 16);
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (!isTabgridError(err)) throw err;
    return err.message;
  }
  throw new Error('expected an error');
}

/** The host stored nothing and serves no job. */
async function expectUntouched(host: PageGridHost & { store: MemoryHostStore }): Promise<void> {
  expect(await host.store.datasetRoots()).toEqual([]);
  expect(host.core.jobs()).toEqual([]);
  expect((await host.store.load()).jobs).toEqual([]);
}

describe('submitToPageHost: the page SDK with File inputs', () => {
  it('runs a tiled f32 product from .npy Files: datasets saved, units read slices, progress and results, C assembled', async () => {
    const host = await memoryPageHost();
    const [rows, inner, cols] = [10, 6, 7];
    const a = randomF32(rows * inner, 1);
    const b = randomF32(inner * cols, 2);
    const job = await submitToPageHost(host, {
      id: 'page-f32',
      kernel: 'matmul-f32',
      a: npyFile('A.npy', NpyDtype.Float32, [rows, inner], a),
      b: npyFile('B.npy', NpyDtype.Float32, [inner, cols], b),
      m: 4,
      n: 3,
      verify: { policy: 'freivalds' },
      collect: true,
    });
    // 3 row bands × 3 column panels; A and the 3 panels saved.
    expect(job.spec).toMatchObject({ kernel: 'matmul-f32', units: 9, m: 4, n: 3, k: inner, data: { rows, cols, inner } });
    expect(await host.store.datasetRoots()).toHaveLength(4);
    const progress: JobProgress[] = [];
    job.addEventListener('progress', (e) => progress.push((e as CustomEvent<JobProgress>).detail));
    const v = await volunteer(host.core, 'v1');
    for (let i = 0; i < job.spec.units; i++) {
      const unit = await v.lease();
      expect(unit).toMatchObject({ kernel: 'matmul-f32', a: { root: expect.any(String) }, b: { root: expect.any(String) } });
      expect(reasonOf(await submit(v, unit, honest(unit, hash), hash))).toMatch(/^accepted/);
    }
    const seen: number[] = [];
    for await (const unit of job.results()) seen.push(unit.index);
    expect(seen.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(progress.at(-1)).toEqual({ accepted: 9, total: 9 });
    const out = await job.output();
    expect(out.kind).toBe('matrix');
    if (out.kind !== 'matrix') return;
    expect(out.shape).toEqual([rows, cols]);
    expect(out.missing).toEqual([]);
    expect([...out.data]).toEqual(product(a, b, rows, inner, cols));
    job.close();
  });

  it('widens a uint16 modp operand and checks residues against p', async () => {
    const host = await memoryPageHost();
    const a = Uint16Array.from({ length: 12 }, (_, i) => (i * 37) % 101);
    const b = Uint16Array.from({ length: 8 }, (_, i) => (i * 11) % 101);
    const { spec, datasets } = await ingestRequest(
      {
        id: 'modp',
        kernel: 'matmul-modp',
        p: 101,
        samples: 4,
        a: npyFile('A.npy', NpyDtype.Uint16, [3, 4], a),
        b: npyFile('B.npy', NpyDtype.Uint16, [4, 2], b),
      },
      { hash },
    );
    expect(spec).toMatchObject({ kernel: 'matmul-modp', p: 101, data: { rows: 3, cols: 2, inner: 4 } });
    expect([...datasets.values()][0]).toEqual(bytesOf(Uint32Array.from(a)));
    const bad = Uint16Array.from(b, (x, i) => (i === 5 ? 101 : x));
    expect(
      await failure(
        submitToPageHost(host, {
          kernel: 'matmul-modp',
          p: 101,
          a: npyFile('A.npy', NpyDtype.Uint16, [3, 4], a),
          b: npyFile('B.npy', NpyDtype.Uint16, [4, 2], bad),
        }),
      ),
    ).toBe('B.npy: element [2, 1] is 101, not a residue in 0..100');
    await expectUntouched(host);
  });

  it('names the file and stores nothing when an input is bad, even after a good one was read', async () => {
    const host = await memoryPageHost();
    const good = npyFile('A.npy', NpyDtype.Float32, [2, 3], randomF32(6, 3));
    const truncated = new File([encodeNpy(NpyDtype.Float32, [3, 2], bytesOf(randomF32(6, 4))).subarray(0, 100) as Uint8Array<ArrayBuffer>], 'B.npy');
    expect(await failure(submitToPageHost(host, { kernel: 'matmul-f32', a: good, b: truncated }))).toMatch(/^B\.npy: /);
    await expectUntouched(host);
    const wrongShape = npyFile('B.npy', NpyDtype.Float32, [4, 2], randomF32(8, 5));
    expect(await failure(submitToPageHost(host, { kernel: 'matmul-f32', a: good, b: wrongShape }))).toBe(
      "A.npy is 2×3 and B.npy is 4×2: A's columns must equal B's rows",
    );
    const f64 = new File([encodeNpy(NpyDtype.Uint32, [3, 2], new Uint8Array(24)) as Uint8Array<ArrayBuffer>], 'B.npy');
    expect(await failure(submitToPageHost(host, { kernel: 'matmul-f32', a: good, b: f64 }))).toBe("B.npy: a matmul-f32 operand is '<f4', not '<u4'");
    // A policy the host refuses is refused before anything is stored too.
    const b = npyFile('B.npy', NpyDtype.Float32, [3, 2], randomF32(6, 6));
    expect(await failure(submitToPageHost(host, { kernel: 'matmul-f32', a: good, b, samples: -1 }))).toMatch(/samples/);
    await expectUntouched(host);
    // A job its id names already, with another spec, stores none of its datasets either.
    await submitToPageHost(host, { id: 'mine', kernel: 'matmul-f32', a: good, b, samples: 1 });
    const before = await host.store.datasetRoots();
    const otherB = npyFile('B.npy', NpyDtype.Float32, [3, 2], randomF32(6, 7));
    expect(await failure(submitToPageHost(host, { id: 'mine', kernel: 'matmul-f32', a: good, b: otherB, samples: 1 }))).toMatch(
      /job mine is stored with a different spec/,
    );
    expect(await host.store.datasetRoots()).toEqual(before);
  });

  it('checks a Blob\u2019s size before reading any of it', async () => {
    const host = await memoryPageHost();
    let read = false;
    class Huge extends Blob {
      override get size(): number {
        return 2 ** 31;
      }
      override arrayBuffer(): Promise<ArrayBuffer> {
        read = true;
        return super.arrayBuffer();
      }
    }
    const huge = Object.assign(new Huge([]), {});
    expect(await failure(submitToPageHost(host, { kernel: 'sha256-batch', records: huge, messagesPerUnit: 4 }))).toMatch(
      /^records: is 2147483648 bytes, over the/,
    );
    expect(read).toBe(false);
    await expectUntouched(host);
    // A folder of records each within bounds, too many bytes in all: refused before any is read.
    class Record extends Blob {
      override get size(): number {
        return 4096;
      }
      override arrayBuffer(): Promise<ArrayBuffer> {
        read = true;
        return super.arrayBuffer();
      }
    }
    const folder = Array.from({ length: 2 ** 18 }, () => new Record([]));
    expect(await failure(submitToPageHost(host, { kernel: 'sha256-batch', records: folder, messagesPerUnit: 4 }))).toMatch(
      /^records: 262144 records as length-prefixed records would be 1074790400 bytes, over the 1073741824/,
    );
    expect(read).toBe(false);
    await expectUntouched(host);
  });

  it('takes records as a length-prefixed File, a fixed-size File, or a list of Files; refuses paths in a page', async () => {
    const host = await memoryPageHost();
    const messages = ['a', 'bb', '', 'dddd', 'eeeee'].map((s) => new TextEncoder().encode(s));
    const prefixed = await ingestRequest(
      { id: 'lp', kernel: 'sha256-batch', records: new File([encodeRecords(messages) as Uint8Array<ArrayBuffer>], 'msgs.bin'), messagesPerUnit: 2, samples: 2 },
      { hash },
    );
    expect(prefixed.spec).toMatchObject({ units: 3, data: { records: 5 } });
    const listed = await ingestRequest(
      { id: 'lp', kernel: 'sha256-batch', records: messages.map((m, i) => new File([m as Uint8Array<ArrayBuffer>], `m${i}`)), messagesPerUnit: 2, samples: 2 },
      { hash },
    );
    expect(listed.spec).toEqual(prefixed.spec);
    const fixed = await ingestRequest(
      { id: 'fx', kernel: 'sha256-batch', records: new File(['aaaabbbbcccc'], 'fixed.bin'), format: { fixed: 4 }, messagesPerUnit: 2, samples: 2 },
      { hash },
    );
    expect(fixed.spec).toMatchObject({ units: 2, data: { records: 3, bytes: 24 } });
    expect(
      await failure(
        ingestRequest({ kernel: 'sha256-batch', records: new File(['aaaabbbbc'], 'fixed.bin'), format: { fixed: 4 }, messagesPerUnit: 2 }, { hash }),
      ),
    ).toBe('fixed.bin: 9 bytes are not a whole number of 4-byte records (1 bytes left over)');
    const cut = encodeRecords(messages).subarray(0, 10);
    expect(
      await failure(submitToPageHost(host, { kernel: 'sha256-batch', records: new File([cut as Uint8Array<ArrayBuffer>], 'cut.bin'), messagesPerUnit: 2 })),
    ).toMatch(/^cut\.bin: truncated: /);
    expect(
      await failure(submitToPageHost(host, { kernel: 'sha256-batch', records: [new File([new Uint8Array(5000)], 'big.txt')], messagesPerUnit: 2 })),
    ).toMatch(/^big\.txt: is 5000 bytes, longer than the \d+ a record may be$/);
    expect(await failure(submitToPageHost(host, { kernel: 'sha256-batch', records: 'msgs.bin', messagesPerUnit: 2 }))).toBe(
      'msgs.bin: a page cannot read a file by its path: pass the File (or its bytes)',
    );
    await expectUntouched(host);
  });

  it('hashes a records File to the digests node:crypto gives', async () => {
    const host = await memoryPageHost();
    const messages = Array.from({ length: 7 }, (_, i) => new TextEncoder().encode('x'.repeat(i * 13)));
    const job = await submitToPageHost(host, {
      id: 'recs',
      kernel: 'sha256-batch',
      records: new File([encodeRecords(messages) as Uint8Array<ArrayBuffer>], 'msgs.bin'),
      messagesPerUnit: 3,
      samples: 2,
      collect: true,
    });
    const v = await volunteer(host.core, 'v1');
    for (let i = 0; i < job.spec.units; i++) {
      const unit = await v.lease();
      expect(reasonOf(await submit(v, unit, honest(unit, hash), hash))).toMatch(/^accepted/);
    }
    const out = await job.output();
    if (out.kind !== 'digests') throw new Error(`expected digests, got ${out.kind}`);
    const want = messages.map((m) => createHash('sha256').update(m).digest('hex'));
    expect(Array.from({ length: 7 }, (_, i) => toHex(out.digests.subarray(32 * i, 32 * i + 32)))).toEqual(want);
    job.close();
  });

  it('reads a headers File, naming the line that is wrong', async () => {
    const host = await memoryPageHost();
    const h = (x: string) => x.repeat(80);
    const options = { noncesPerUnit: 4096, shareBits: 6, targetBits: 11 };
    const job = await submitToPageHost(host, {
      id: 'pow',
      kernel: 'sha256d-pow',
      headers: new File([`${h('0a')}\n\n${h('1B')}\r\n`], 'headers.txt'),
      unitsPerHeader: 2,
      ...options,
    });
    expect(job.spec).toMatchObject({ units: 4, headers: [h('0a'), h('1b')] });
    job.close();
    const other = await memoryPageHost();
    expect(
      await failure(
        submitToPageHost(other, { kernel: 'sha256d-pow', headers: new File([`${h('00')}\n${h('0')}`], 'headers.txt'), unitsPerHeader: 1, ...options }),
      ),
    ).toBe('headers.txt:2: 80 hex digits; a header is 160 (80 bytes)');
    await expectUntouched(other);
  });

  it('stops before storing when the signal is aborted', async () => {
    const host = await memoryPageHost();
    const files = { a: npyFile('A.npy', NpyDtype.Float32, [2, 2], randomF32(4, 7)), b: npyFile('B.npy', NpyDtype.Float32, [2, 2], randomF32(4, 8)) };
    const abort = new AbortController();
    abort.abort();
    await expect(submitToPageHost(host, { kernel: 'matmul-f32', ...files }, { signal: abort.signal })).rejects.toThrow();
    await expectUntouched(host);
  });
});
