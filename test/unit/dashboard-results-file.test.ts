import { beforeAll, describe, expect, it } from 'vitest';
import { MatrixDtype, type MatrixLayout } from '../../src/dashboard/matrix-output';
import { buildResults, OutputKept, RESULTS_FORMAT, resultsNote, type ResultsSource } from '../../src/dashboard/results-file';
import { formatDuration } from '../../src/dashboard/throughput';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import type { JobSpec } from '../../src/host/job';
import type { Receipt } from '../../src/protocol';

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

/** Output bytes of unit i: distinct per unit and per byte. */
const bytesOf = (i: number, length: number) => Uint8Array.from({ length }, (_, j) => (i * 37 + j * 11) & 0xff);

/**
 * A source over a fake store: `outputs` by unit index (missing: the store lost it); the reader
 * records how many reads overlap, since the builders must read one unit at a time.
 */
function source(job: JobSpec, outputs: Map<number, Uint8Array>, indices: number[], leaf: number) {
  let inFlight = 0;
  const seen = { reads: [] as string[], maxInFlight: 0 };
  const root = (i: number) => {
    const out = outputs.get(i);
    return out && out.length % leaf === 0 ? toHex(buildMerkleTreeOfChunks(out, leaf, hash).root) : '00'.repeat(32);
  };
  const src: ResultsSource = {
    hostId: 'h',
    publicKey: 'ab'.repeat(65),
    job,
    accepted: indices.map((i) => ({ unitId: `${job.id}/${i}`, volunteer: `v${i}`, root: root(i) })),
    receipt: (unitId) => ({ receiptId: `r-${unitId}`, unitId, root: 'x' }) as unknown as Receipt,
    output: async (unitId) => {
      seen.reads.push(unitId);
      seen.maxInFlight = Math.max(seen.maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 0));
      inFlight--;
      return outputs.get(Number(unitId.split('/')[1]));
    },
    now: 0,
  };
  return { src, seen };
}

const hashing: JobSpec = { id: 'h1', kernel: 'sha256-batch', units: 4, messagesPerUnit: 3, messageLength: 8, seed: 1, samples: 2, collect: true };
const modp: JobSpec = { id: 'm1', kernel: 'matmul-modp', units: 4, m: 3, n: 5, k: 2, p: 65521, seed: 2, samples: 1, collect: true };

describe('results of a hashing job that collects', () => {
  it("lists each accepted unit's digests as hex in message order, reading one unit at a time", async () => {
    const outputs = new Map([0, 2].map((i) => [i, bytesOf(i, 3 * 32)]));
    const { src, seen } = source(hashing, outputs, [0, 2], 32);
    const { header, c } = await buildResults(src);
    expect(c).toBeUndefined();
    expect(header).toMatchObject({ format: RESULTS_FORMAT, output: OutputKept.Digests, units: { total: 4, accepted: 2 } });
    expect(header.format).toBe('tabgrid-results/2');
    expect(header.note).toMatch(/digests/);
    expect(header.layout).toBeUndefined();
    for (const [k, r] of header.results.entries()) {
      const bytes = outputs.get([0, 2][k]!)!;
      expect(r.digests).toEqual([0, 1, 2].map((m) => toHex(bytes.subarray(32 * m, 32 * m + 32))));
      expect(r.digests!.every((d) => /^[0-9a-f]{64}$/.test(d))).toBe(true);
      // The digests hash to the root the receipt commits to.
      expect(toHex(buildMerkleTreeOfChunks(Uint8Array.from(r.digests!.flatMap((d) => [...Buffer.from(d, 'hex')])), 32, hash).root)).toBe(r.root);
    }
    expect(seen).toEqual({ reads: ['h1/0', 'h1/2'], maxInFlight: 1 });
  });

  it('marks a unit whose output the store lost with digests: null', async () => {
    const { src } = source(hashing, new Map([[1, bytesOf(1, 96)]]), [0, 1], 32);
    const { header } = await buildResults(src);
    expect(header.results.map((r) => r.digests === null)).toEqual([true, false]);
  });
});

describe('results of a matrix job that collects', () => {
  it('concatenates C in unit order and lays out each slice with its offset, root and receipt', async () => {
    const unitBytes = 4 * 3 * 5;
    const outputs = new Map([0, 1, 3].map((i) => [i, bytesOf(i, unitBytes)]));
    const { src, seen } = source(modp, outputs, [0, 1, 3], 20);
    const { header, c } = await buildResults(src);
    expect(header.output).toBe(OutputKept.Matrix);
    expect(header.note).toMatch(/layout\.file/);
    const layout = header.layout as MatrixLayout;
    expect(layout).toMatchObject({
      file: 'tabgrid-m1-c.bin',
      dtype: MatrixDtype.Uint32,
      m: 3,
      n: 5,
      rowBytes: 20,
      unitBytes,
      totalBytes: 3 * unitBytes,
      missing: [],
    });
    expect(layout.units.map((u) => [u.unitId, u.index, u.offset])).toEqual([
      ['m1/0', 0, 0],
      ['m1/1', 1, unitBytes],
      ['m1/3', 3, 2 * unitBytes],
    ]);
    expect(c!.length).toBe(layout.totalBytes);
    // The check the header describes: each slice, cut into rows of rowBytes, hashes to its root.
    for (const u of layout.units) {
      const slice = c!.subarray(u.offset, u.offset + layout.unitBytes);
      expect(slice).toEqual(outputs.get(u.index));
      expect(toHex(buildMerkleTreeOfChunks(slice, layout.rowBytes, hash).root)).toBe(u.root);
      expect(u.receipt).toMatchObject({ unitId: u.unitId });
    }
    expect(layout.check).toMatch(/RFC 6962/);
    expect(layout.check).toMatch(/rowBytes = 20/);
    expect(seen.maxInFlight).toBe(1);
    // The header keeps the per-unit results as before, without digests.
    expect(header.results.map((r) => r.unitId)).toEqual(['m1/0', 'm1/1', 'm1/3']);
    expect(header.results.every((r) => !('digests' in r))).toBe(true);
  });

  it('leaves out (and lists) units whose output is missing, says f32, and refuses a damaged output', async () => {
    const f32: JobSpec = { ...modp, id: 'f1', kernel: 'matmul-f32', p: undefined };
    delete (f32 as { p?: number }).p;
    const { src } = source(f32, new Map([[1, bytesOf(1, 60)]]), [0, 1], 20);
    const { header, c } = await buildResults(src);
    expect(header.layout).toMatchObject({ dtype: MatrixDtype.Float32, totalBytes: 60, missing: ['f1/0'] });
    expect(header.layout!.units.map((u) => [u.unitId, u.offset])).toEqual([['f1/1', 0]]);
    expect(c).toEqual(bytesOf(1, 60));
    await expect(buildResults(source(modp, new Map([[0, bytesOf(0, 59)]]), [0], 20).src)).rejects.toThrow(/m1\/0 has 59 bytes, not m·n·4 = 60/);
  });

  it('yields to the event loop while reading a large job', async () => {
    // 24 units of 1 MiB from a store that answers in microtasks: a timer set before must fire before the end.
    const big: JobSpec = { ...modp, m: 512, n: 512, units: 24 };
    const one = new Uint8Array(4 * 512 * 512);
    const src: ResultsSource = {
      ...source(big, new Map(), [], 2048).src,
      accepted: Array.from({ length: 24 }, (_, i) => ({ unitId: `m1/${i}`, volunteer: 'v', root: '00' })),
      output: async () => one,
    };
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const built = buildResults(src).then((b) => [fired, b.c!.length] as const);
    expect(await built).toEqual([true, 24 * one.length]);
  });
});

describe('results of a job that does not collect', () => {
  it('reads no output and says the output was not kept', async () => {
    const { samples: _, collect: __, ...rest } = modp;
    const { src, seen } = source({ ...rest, verify: { policy: 'freivalds' } }, new Map([[0, bytesOf(0, 60)]]), [0], 20);
    const { header, c } = await buildResults(src);
    expect(c).toBeUndefined();
    expect(header).toMatchObject({ output: OutputKept.None, units: { accepted: 1 } });
    expect(header.layout).toBeUndefined();
    expect(header.note).toMatch(/did not keep this job's output data .* stayed with the volunteers/);
    expect(seen.reads).toEqual([]);
  });
});

describe('the results note and the chart span in words (issue 20, bug 5)', () => {
  it('says a proof-of-work job has its solutions, not that it "did not collect output (collect: true)"', () => {
    const pow: JobSpec = { id: 'pow', kernel: 'sha256d-pow', units: 2, seed: 1, noncesPerUnit: 1 << 16, shareBits: 8, targetBits: 12 };
    expect(resultsNote(pow)).toMatch(/^A proof-of-work job's results are the solutions/);
    expect(resultsNote(pow)).not.toMatch(/collect: true/);
  });

  it('gives spans in whole seconds, minutes and hours', () => {
    // 47 bars of 5 s read "3.9166666666666665 min" before.
    expect(formatDuration(47 * 5_000)).toBe('3 min 55 s');
    expect(formatDuration(5_000)).toBe('5 s');
    expect(formatDuration(15 * 60_000)).toBe('15 min');
    expect(formatDuration(3_600_000)).toBe('1 h');
    expect(formatDuration(80 * 60_000)).toBe('1 h 20 min');
  });
});
