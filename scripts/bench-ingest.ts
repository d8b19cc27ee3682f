/**
 * `npm run bench -- --ingest [--size 8192] [--units 3] [--out bench-results/ingest.json]`: the
 * tiling benchmark. Writes a size×size float32 A and B as .npy files (256 MiB each at 8192) to
 * a temporary folder, ingests them stage by stage (read and check the .npy, cut B into column
 * panels, build the chunk trees), then the whole job request once more through ingestRequest as
 * `npm run host -- --job` does, and reports each stage's MB/s, the unit grid, and the time a few
 * units take on the CPU (WebAssembly SIMD, as a volunteer's CPU worker computes them; and the
 * plain JS kernel), with the process's peak resident memory.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildDataset } from '../src/data/dataset';
import { readMatrixFile } from '../src/data/load-node';
import { columnPanel } from '../src/data/matrix-dataset';
import { shelf } from '../src/data/shelf';
import { createCpuSha256, type Hasher } from '../src/hash/sha256-cpu';
import { DEFAULT_UNIT_FLOPS } from '../src/host/ingest/build';
import { ingestRequest } from '../src/host/ingest/ingest-node';
import { parseCommand } from './args';
import { BENCH_INGEST_COMMAND } from './commands';
import { jobUnit } from '../src/host/job';
import { f32Operands } from '../src/kernels/matmul/inputs';
import { f32ErrorBound, maxAbs } from '../src/kernels/matmul/matmul';
import { matmulF32Rows } from '../src/kernels/matmul/matmul-cpu';
import { createSimdMatmul } from '../src/kernels/matmul/matmul-simd';
import { tileSides } from '../src/kernels/matmul/tiles';
import { Kernel } from '../src/protocol';

const MiB = 2 ** 20;

export interface IngestBench {
  size: number;
  operand_bytes: number;
  stages: { stage: string; bytes: number; seconds: number; mb_per_s: number }[];
  c_shape: [number, number];
  unit: { m: number; n: number; k: number; a_slice_bytes: number; panel_bytes: number };
  units: number;
  panels: number;
  unit_seconds: { simd: number[]; js: number[] };
  peak_rss_mib: number;
  rss_after_mib: number;
}

/**
 * A size×size float32 .npy of random values in [-1, 1), written in row blocks so the payload
 * never sits in memory: the header is a version 1.0 one, as encodeNpy writes it (parseNpy reads it back).
 */
function writeNpy(path: string, size: number, seed: number): void {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${size}, ${size}), }`;
  const padded = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = new Uint8Array(padded);
  header.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(header.buffer).setUint16(8, padded - 10, true);
  header.set(new TextEncoder().encode(dict + ' '.repeat(padded - 10 - dict.length - 1) + '\n'), 10);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    let state = seed >>> 0 || 1;
    const rows = 256;
    const block = new Float32Array(rows * size);
    for (let r = 0; r < size; r += rows) {
      for (let i = 0; i < block.length; i++) {
        // xorshift32: fast, and random enough for benchmark data.
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        block[i] = (state >>> 0) / 2 ** 31 - 1;
      }
      writeSync(fd, new Uint8Array(block.buffer, 0, 4 * Math.min(rows, size - r) * size));
    }
  } finally {
    closeSync(fd);
  }
}

function timed<T>(run: () => T): [T, number] {
  const t = performance.now();
  const out = run();
  return [out, (performance.now() - t) / 1000];
}

async function timedAsync<T>(run: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const out = await run();
  return [out, (performance.now() - t) / 1000];
}

/** Ingestion stage by stage (read and check, panels, chunk trees), timed; nothing is kept once it returns. */
async function stagedIngest(dir: string, hash: Hasher, stage: (name: string, bytes: number, seconds: number) => void): Promise<void> {
  const [a, readAS] = await timedAsync(() => readMatrixFile(join(dir, 'A.npy'), { kind: 'f32' }));
  const [b, readBS] = await timedAsync(() => readMatrixFile(join(dir, 'B.npy'), { kind: 'f32' }));
  stage('read + parse + check .npy (A and B)', a.data.length + b.data.length, readAS + readBS);
  const { n } = tileSides(a.rows, b.cols, a.cols, DEFAULT_UNIT_FLOPS);
  const [panels, panelS] = timed(() => {
    const out: Uint8Array[] = [];
    for (let col = 0; col < b.cols; col += n) out.push(columnPanel(b.data, b.rows, b.cols, col, Math.min(n, b.cols - col)));
    return out;
  });
  stage(`cut B into ${panels.length} column panels`, b.data.length, panelS);
  const [, treeAS] = timed(() => buildDataset(a.data, hash));
  stage('chunk tree of A (256 KiB chunks, SHA-256)', a.data.length, treeAS);
  const [, treeBS] = timed(() => panels.forEach((p) => buildDataset(p, hash)));
  stage("chunk trees of B's panels", b.data.length, treeBS);
}

export async function runIngestBench(size: number, unitsToRun: number, log: (line: string) => void): Promise<IngestBench> {
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-bench-ingest-'));
  const hash = await createCpuSha256();
  const stages: IngestBench['stages'] = [];
  const stage = (name: string, bytes: number, seconds: number) => {
    stages.push({ stage: name, bytes, seconds, mb_per_s: bytes / MiB / seconds });
    log(
      `${name.padEnd(44)} ${(bytes / MiB).toFixed(0).padStart(6)} MiB ${seconds.toFixed(2).padStart(7)} s ${(bytes / MiB / seconds).toFixed(1).padStart(8)} MiB/s`,
    );
  };
  try {
    const operand = 4 * size * size;
    const [, genS] = timed(() => {
      writeNpy(join(dir, 'A.npy'), size, 1);
      writeNpy(join(dir, 'B.npy'), size, 2);
    });
    stage('write A.npy and B.npy (random)', 2 * operand, genS);

    await stagedIngest(dir, hash, stage);

    // The whole request, as `npm run host -- --job` ingests it (reads both files again).
    const [ingested, wholeS] = await timedAsync(() =>
      ingestRequest({ id: 'bench', kernel: 'matmul-f32', a: 'A.npy', b: 'B.npy', verify: { policy: 'freivalds' } }, { base: dir, hash }),
    );
    stage('ingestRequest end to end (A and B)', 2 * operand, wholeS);
    const spec = ingested.spec;
    if (spec.kernel !== Kernel.MatmulF32 || !spec.data) throw new Error('the benchmark job is not a tiled matmul-f32 job');
    log(
      `C is ${spec.data.rows}×${spec.data.cols}; ${spec.units} units of ${spec.m}×${spec.n} (k = ${spec.k}): ${spec.data.panels.length} panels × ${spec.units / spec.data.panels.length} bands`,
    );

    // A few units, with the datasets on the shelf as a volunteer's worker holds its slices.
    const releases = [...ingested.datasets].map(([root, data]) => shelf.holdDataset(root, data));
    const simd = createSimdMatmul();
    const unitSeconds: IngestBench['unit_seconds'] = { simd: [], js: [] };
    try {
      for (let i = 0; i < unitsToRun; i++) {
        const unit = jobUnit(spec, i);
        if (unit.kernel !== Kernel.MatmulF32) throw new Error('not an f32 unit');
        const { a: ua, b: ub } = f32Operands(unit);
        const shape = { m: unit.m, n: unit.n, k: unit.k };
        const out = new Float32Array(unit.m * unit.n);
        if (simd) {
          const [, s] = timed(() => simd.matmulF32Rows(ua, ub, shape, 0, unit.m, out));
          unitSeconds.simd.push(s);
        }
        if (i === 0) {
          const js = new Float32Array(unit.m * unit.n);
          const [, s] = timed(() => matmulF32Rows(ua, ub, shape, 0, unit.m, js));
          unitSeconds.js.push(s);
          // A fast time from a wrong kernel is no time: the two must agree within f32's error bound.
          const bound = 2 * f32ErrorBound(unit.k, maxAbs(ua), maxAbs(ub));
          if (simd && js.some((x, j) => !(Math.abs(x - out[j]!) <= bound))) throw new Error(`unit ${i}: the SIMD and JS kernels disagree beyond ${bound}`);
        }
        log(
          `unit ${i}: ${(2 * unit.m * unit.n * unit.k) / 1e9} GFLOP, WASM SIMD ${unitSeconds.simd.at(-1)?.toFixed(2) ?? '–'} s${i === 0 ? `, JS ${unitSeconds.js[0]!.toFixed(2)} s` : ''}`,
        );
      }
    } finally {
      for (const release of releases) release();
      simd?.release();
    }
    const peak = process.resourceUsage().maxRSS / 1024;
    const rss = process.memoryUsage().rss / MiB;
    log(`peak RSS ${peak.toFixed(0)} MiB (now ${rss.toFixed(0)} MiB) for two ${operand / MiB} MiB operands`);
    const data = spec.data;
    return {
      size,
      operand_bytes: operand,
      stages,
      c_shape: [data.rows, data.cols],
      unit: { m: spec.m, n: spec.n, k: spec.k, a_slice_bytes: 4 * spec.m * spec.k, panel_bytes: 4 * spec.k * spec.n },
      units: spec.units,
      panels: data.panels.length,
      unit_seconds: unitSeconds,
      peak_rss_mib: peak,
      rss_after_mib: rss,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The command line (bench.ts hands over its arguments when they include --ingest). */
export async function ingestBenchMain(args: readonly string[]): Promise<void> {
  const cli = parseCommand(BENCH_INGEST_COMMAND, args);
  const { values } = cli;
  const size = Number(values.size);
  const units = Number(values.units);
  if (!Number.isInteger(size) || size < 1 || size > 16384) cli.fail(`--size ${values.size} must be a whole number in 1..16384`);
  if (!Number.isInteger(units) || units < 0) cli.fail(`--units ${values.units} must be a whole number ≥ 0`);
  const result = await runIngestBench(size, units, (line) => console.log(line));
  const out = values.out;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2) + '\n');
  console.log(`wrote ${out}`);
}
