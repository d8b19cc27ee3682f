/**
 * The farm's default work on dataset inputs (`npm run farm -- --dataset`): the default jobs'
 * kernels, but reading files a researcher would bring, made of random bytes from the farm's
 * seed. Two tiled products whose units share B (the locality the farm measures), a
 * hashing job over variable-length records (and a replicated one, for the colluding pair), proof
 * of work over a list of headers (and longer units, for the reloads' checkpoints). The files and
 * the job requests naming them go to `dir`; the host child reads them with --job as `npm run
 * host` does (scripts/args.ts readJobs), and the farm ingests the same requests itself to know the
 * specs and hold the datasets for its recheck. The i8 product has no dataset form: it stays seeded.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATASET_CHUNK_BYTES } from '../../src/data/dataset';
import { encodeNpy, NpyDtype } from '../../src/data/npy';
import { encodeRecords } from '../../src/data/records';
import type { Hasher } from '../../src/hash/sha256-cpu';
import { ingestRequest } from '../../src/host/ingest/ingest-node';
import { datasetsOf, parseJob, type JobSpec } from '../../src/host/job';
import { seededRandom } from '../../src/work/seeded';

export interface DatasetJobs {
  /** The job files for the host child (--job), in job order. */
  readonly files: readonly string[];
  /** The specs the host builds from them. */
  readonly specs: readonly JobSpec[];
  /** Every dataset the specs read, by root. */
  readonly datasets: ReadonlyMap<string, Uint8Array>;
  /** The products whose units all read one B (the swarm's too, when asked for): the bounded locality figure is theirs. */
  readonly sharedB: readonly string[];
  /** The products whose B is cut into several panels (2-D tiles): their figure is reported, not bounded. */
  readonly tiled: readonly string[];
  /** The swarm's product, when asked for: its id and the root and length of its shared B. */
  readonly swarm?: { readonly job: string; readonly root: string; readonly bytes: number };
}

const trust = { banAfter: 2 };
const P = 65521;
/**
 * Bands of A a chunk each, so one unit's A slice is exactly the chunk it fetches. The modp
 * product has 64 units, so the bands a killed tab fetched for nothing (counted against the
 * figure) stay a small share of it (with 32 the e2e farm measured 1.069 and 1.103). The modp
 * product's B is one panel that every unit reads (the "all units share B": after its
 * first unit a volunteer should fetch its band and nothing else); the f32 product's B is four
 * panels, each four chunks, so the scheduler has to keep volunteers on their panels and spread
 * them over the panels (its figure is reported beside, unbounded: a volunteer whose panel runs
 * out pays a whole panel for its next units, which a farm this small cannot amortize).
 */
const F32 = { rows: 2048, inner: 256, cols: 4096, m: DATASET_CHUNK_BYTES / (4 * 256), n: 1024 };
const MODP = { rows: 16384, inner: 256, cols: 256, m: DATASET_CHUNK_BYTES / (4 * 256), n: 256 };
/**
 * The swarm's product (issue 18; only when asked for by id): 16 units, each an A band of one
 * chunk, all reading one B of two chunks (512 KiB), which the volunteers pass on to each other
 * (scripts/farm/swarm.ts measures what the host sent of it).
 */
export const SWARM = { id: 'farm-ds-swarm', rows: 4096, inner: 256, cols: 512, m: DATASET_CHUNK_BYTES / (4 * 256), n: 512 };

function words(count: number, random: () => number, word: (r: number) => number, as: 'f32' | 'u32'): Uint8Array {
  const out = new Uint8Array(4 * count);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    if (as === 'f32') view.setFloat32(4 * i, word(random()), true);
    else view.setUint32(4 * i, word(random()), true);
  }
  return out;
}

function randomBytes(length: number, random: () => number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function records(count: number, random: () => number): Uint8Array {
  return encodeRecords(Array.from({ length: count }, () => randomBytes(1 + Math.floor(random() * 400), random)));
}

function headers(count: number, random: () => number): string {
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return Array.from({ length: count }, () => hex(randomBytes(80, random))).join('\n') + '\n';
}

/** Writes the farm's input files and job requests to `dir` (random bytes from `seed`), and ingests them; `only`: just the jobs with these ids. */
export async function datasetJobs(seed: number, dir: string, hash: Hasher, only?: readonly string[]): Promise<DatasetJobs> {
  const random = seededRandom(seed ^ 0x5eed);
  const file = (name: string, data: Uint8Array | string) => writeFileSync(join(dir, name), data);
  const f32 = (r: number) => 2 * r - 1;
  const residue = (r: number) => Math.floor(r * P);
  file('A.npy', encodeNpy(NpyDtype.Float32, [F32.rows, F32.inner], words(F32.rows * F32.inner, random, f32, 'f32')));
  file('B.npy', encodeNpy(NpyDtype.Float32, [F32.inner, F32.cols], words(F32.inner * F32.cols, random, f32, 'f32')));
  file('Am.npy', encodeNpy(NpyDtype.Uint32, [MODP.rows, MODP.inner], words(MODP.rows * MODP.inner, random, residue, 'u32')));
  file('Bm.npy', encodeNpy(NpyDtype.Uint32, [MODP.inner, MODP.cols], words(MODP.inner * MODP.cols, random, residue, 'u32')));
  file('messages.bin', records(24 * 64, random));
  file('messages-rep.bin', records(8 * 64, random));
  file('headers.txt', headers(3, random));
  file('headers-long.txt', headers(2, random));
  // Drawn after the default files, so those stay as they were for every seed.
  if (only?.includes(SWARM.id)) {
    file('As.npy', encodeNpy(NpyDtype.Uint32, [SWARM.rows, SWARM.inner], words(SWARM.rows * SWARM.inner, random, residue, 'u32')));
    file('Bs.npy', encodeNpy(NpyDtype.Uint32, [SWARM.inner, SWARM.cols], words(SWARM.inner * SWARM.cols, random, residue, 'u32')));
  }
  const requests: Record<string, unknown>[] = [
    { id: 'farm-ds-sha256', kernel: 'sha256-batch', records: 'messages.bin', messagesPerUnit: 64, samples: 64, trust, priority: 2 },
    // Replicated: two keys agree per unit, and every replica from a key without a record is challenged on every leaf.
    { id: 'farm-ds-sha256-rep', kernel: 'sha256-batch', records: 'messages-rep.bin', messagesPerUnit: 64, replicate: true, samples: 64, trust, priority: -1 },
    {
      id: 'farm-ds-modp',
      kernel: 'matmul-modp',
      p: P,
      a: 'Am.npy',
      b: 'Bm.npy',
      m: MODP.m,
      n: MODP.n,
      verify: { policy: 'freivalds' },
      collect: true,
      trust,
      priority: 3,
    },
    {
      id: 'farm-ds-pow',
      kernel: 'sha256d-pow',
      headers: 'headers.txt',
      unitsPerHeader: 4,
      noncesPerUnit: 1 << 16,
      shareBits: 8,
      targetBits: 12,
      trust,
      priority: 1,
    },
    // Units of a second or more, so a tab reloaded mid-unit has a checkpoint to resume from.
    {
      id: 'farm-ds-pow-long',
      kernel: 'sha256d-pow',
      headers: 'headers-long.txt',
      unitsPerHeader: 3,
      noncesPerUnit: 1 << 21,
      shareBits: 13,
      targetBits: 20,
      trust,
    },
    { id: 'farm-ds-f32', kernel: 'matmul-f32', a: 'A.npy', b: 'B.npy', m: F32.m, n: F32.n, verify: { policy: 'freivalds' }, collect: true, trust },
    { id: SWARM.id, kernel: 'matmul-modp', p: P, a: 'As.npy', b: 'Bs.npy', m: SWARM.m, n: SWARM.n, verify: { policy: 'freivalds' }, collect: true, trust },
  ];
  // The swarm's product runs only when asked for by id.
  const wanted = (id: unknown) => (only === undefined ? id !== SWARM.id : only.includes(String(id)));
  const files: string[] = [];
  const specs: JobSpec[] = [];
  const datasets = new Map<string, Uint8Array>();
  for (const request of requests.filter((r) => wanted(r.id))) {
    const path = join(dir, `${String(request.id)}.json`);
    writeFileSync(path, JSON.stringify(request));
    const ingested = await ingestRequest(request, { base: dir, hash });
    for (const [root, data] of ingested.datasets) datasets.set(root, data);
    files.push(path);
    specs.push(ingested.spec);
  }
  // The i8 product as in defaultJobs: no dataset form, so seeded.
  const i8 = parseJob({
    id: 'farm-i8',
    kernel: 'matmul-i8',
    units: 8,
    m: 48,
    n: 48,
    k: 64,
    seed: seed + 7,
    verify: { policy: 'freivalds' },
    collect: true,
    trust,
  });
  if (wanted(i8.id)) {
    const i8File = join(dir, 'farm-i8.json');
    writeFileSync(i8File, JSON.stringify(i8));
    files.push(i8File);
    specs.push(i8);
  }
  const swarmSpec = specs.find((j) => j.id === SWARM.id);
  // A product's datasets are A, then B (kernels/matmul-*/host.ts).
  const swarmB = swarmSpec && datasetsOf(swarmSpec)[1];
  return {
    files,
    specs,
    datasets,
    sharedB: ['farm-ds-modp', SWARM.id].filter(wanted),
    tiled: ['farm-ds-f32'].filter(wanted),
    ...(swarmB ? { swarm: { job: SWARM.id, root: swarmB, bytes: datasets.get(swarmB)!.length } } : {}),
  };
}
