import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { encodeNpy, NpyDtype, parseNpy } from '../../src/data/npy';
import { encodeRecords } from '../../src/data/records';
import { f32ErrorBound } from '../../src/kernels/matmul/matmul';
import { openGrid, type Grid } from '../../src/sdk/grid';
import { openVolunteer, useSignalingAndWeb } from './stack-fixture';

/**
 * A researcher's own data through the whole grid: .npy matrices and a file of variable-length
 * records written here (random bytes from node:crypto, nothing tabgrid derives), submitted
 * through the SDK to a Node host, computed by Chromium volunteers that fetch the datasets'
 * chunks over WebRTC, exported, and checked against products and digests computed here.
 */
const hostId = `e2e-datasets-${process.pid}`;
const stack = useSignalingAndWeb(hostId);

let dir: string;
let grid: Grid | undefined;
test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabgrid-datasets-'));
});
test.afterAll(async () => {
  await grid?.close();
  await rm(dir, { recursive: true, force: true });
});

function product(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, inner: number, cols: number, p?: number): Float64Array {
  const c = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let t = 0; t < inner; t++) {
      const x = a[i * inner + t]!;
      for (let j = 0; j < cols; j++)
        c[i * cols + j] = p === undefined ? c[i * cols + j]! + x * b[t * cols + j]! : (c[i * cols + j]! + x * b[t * cols + j]!) % p;
    }
  return c;
}

const bytesOf = (words: Float32Array | Uint32Array) => new Uint8Array(words.buffer, words.byteOffset, words.byteLength);

test('a researcher submits .npy matrices and records through the SDK; volunteers compute them; export writes C.npy and digests that check', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const [rows, inner, cols] = [150, 70, 130];
  const a = Float32Array.from({ length: rows * inner }, () => randomInt(-(2 ** 20), 2 ** 20) / 2 ** 20);
  const b = Float32Array.from({ length: inner * cols }, () => randomInt(-(2 ** 20), 2 ** 20) / 2 ** 20);
  await writeFile(join(dir, 'A.npy'), encodeNpy(NpyDtype.Float32, [rows, inner], bytesOf(a)));
  await writeFile(join(dir, 'B.npy'), encodeNpy(NpyDtype.Float32, [inner, cols], bytesOf(b)));
  const p = 65521;
  const am = Uint32Array.from({ length: 61 * 33 }, () => randomInt(p));
  const bm = Uint32Array.from({ length: 33 * 47 }, () => randomInt(p));
  await writeFile(join(dir, 'Am.npy'), encodeNpy(NpyDtype.Uint32, [61, 33], bytesOf(am)));
  await writeFile(join(dir, 'Bm.npy'), encodeNpy(NpyDtype.Uint32, [33, 47], bytesOf(bm)));
  const records = Array.from({ length: 300 }, () => randomBytes(randomInt(0, 700)));
  await writeFile(join(dir, 'messages.bin'), encodeRecords(records));

  grid = await openGrid({ signalUrl: stack.signaling.url, hostId, store: join(dir, 'grid.db'), leaseMs: 20_000 });
  const f32 = await grid.submit(
    { id: 'mine-f32', kernel: 'matmul-f32', a: 'A.npy', b: 'B.npy', m: 64, n: 64, verify: { policy: 'freivalds' }, collect: true },
    { base: dir },
  );
  const modp = await grid.submit(
    { id: 'mine-modp', kernel: 'matmul-modp', p, a: 'Am.npy', b: 'Bm.npy', m: 32, n: 32, samples: 4, collect: true },
    { base: dir },
  );
  const hashing = await grid.submit(
    { id: 'mine-sha', kernel: 'sha256-batch', records: 'messages.bin', messagesPerUnit: 64, samples: 4, collect: true },
    { base: dir },
  );
  expect([f32.spec.units, modp.spec.units, hashing.spec.units]).toEqual([3 * 3, 2 * 2, 5]);

  const pages = await Promise.all([browser.newPage(), browser.newPage()]);
  for (const page of pages) {
    await openVolunteer(page, `${stack.base}/`, stack.signaling.url, hostId);
    await page.getByRole('button', { name: 'Start' }).click();
  }
  const seen: string[] = [];
  for await (const unit of f32.results()) seen.push(unit.unitId);
  expect(seen.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `mine-f32/${i}`).sort());
  await Promise.all([modp.finished(), hashing.finished()]);

  // C.npy from the export, within f32's error bound of the product computed here in f64.
  const out = join(dir, 'out-f32');
  const report = await f32.export(out);
  expect(report.missing).toEqual([]);
  const c = parseNpy(await readFile(join(out, 'C.npy')), 'C.npy');
  expect(c.dtype).toBe('<f4');
  expect(c.shape).toEqual([rows, cols]);
  // A copy: readFile's Buffer slices are views of a shared pool.
  const got = new Float32Array(new Uint8Array(c.data).buffer);
  const want = product(a, b, rows, inner, cols);
  const bound = f32ErrorBound(inner, 1, 1);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(bound);
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { state: string; units: { list: Record<string, unknown>[] } };
  expect(manifest.state).toBe('complete');
  expect(manifest.units.list).toHaveLength(9);
  for (const u of manifest.units.list) {
    expect(u.backend).toMatch(/^(webgpu|cpu)$/);
    expect(u.adapter).toEqual(expect.any(String));
    expect(u.receipt).toMatchObject({ signature: expect.any(String) as unknown });
  }

  // modp exactly.
  const outM = join(dir, 'out-modp');
  await modp.export(outM);
  const cm = parseNpy(await readFile(join(outM, 'C.npy')), 'C.npy');
  expect(cm.shape).toEqual([61, 47]);
  expect([...new Uint32Array(new Uint8Array(cm.data).buffer)]).toEqual([...product(am, bm, 61, 33, 47, p)]);

  // Digests, in record order, as node:crypto computes them.
  const outH = join(dir, 'out-sha');
  await hashing.export(outH);
  const digests = await readFile(join(outH, 'digests.bin'));
  expect(digests.length).toBe(32 * records.length);
  for (const [i, r] of records.entries()) expect(digests.subarray(32 * i, 32 * i + 32).toString('hex')).toBe(createHash('sha256').update(r).digest('hex'));
  const npy = parseNpy(await readFile(join(outH, 'digests.npy')), 'digests.npy');
  expect(npy.shape).toEqual([records.length, 32]);
});
