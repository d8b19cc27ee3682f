/**
 * `npm run bench -- --dawn [--sizes 256,512] [--sha-count N] [--pow-nonces N] [--stream-units N] [--stream-size N]
 *   [--dawn-flag F]… [--require-gpu] [--no-tfjs] [--no-torch] [--out bench-results/bench-dawn.json]`:
 * the benchmark in Node through Dawn (src/gpu/dawn.ts), on whatever Vulkan the process has (a real
 * GPU, or lavapipe under `scripts/lavapipe.sh --`). Per kernel and size, two figures from one run:
 * wall (inputs from host memory, result back in host memory, through the kernel's public runner)
 * and kernel (the GPU time of the compute passes that run made, from timestamp queries:
 * dawn-pass-timer.ts), TF.js's webgpu backend beside matmul-f32 on the same adapter, the unit
 * stream of the volunteer's engine (units/s, GPU busy %), and cuBLAS (torch.mm FP32 with TF32 off,
 * torch._int_mm) when a Python with torch and CUDA is here. Each GPU result is checked against the
 * CPU reference first. Writes JSON (adapter, flags, date) and a Markdown table beside it.
 *
 * Exit status: 0 done (the JSON lists failed checks, and the status is then 1), 3 no adapter or a
 * software one with --require-gpu, 4 Dawn did not load.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { parseCommand } from '../args';
import { BENCH_DAWN_COMMAND } from '../commands';
import { dawnDevices, isSoftwareAdapter, openDawn } from '../../src/gpu/dawn';
import type { AdapterSummary, GpuDevices } from '../../src/gpu/device';
import { MemoryTuneCache } from '../../src/gpu/tune-cache';
import { jobUnit, parseJob } from '../../src/host/job';
import { tuneMatmul } from '../../src/kernels/matmul/autotune';
import { MatmulGpu, MatmulKind, configKey } from '../../src/kernels/matmul/gpu';
import { f32ErrorBound, matmulF32Ref, matmulModpRef, maxAbs } from '../../src/kernels/matmul/matmul';
import { tuneMatmulI8 } from '../../src/kernels/matmul-i8/autotune';
import { I8Path, MatmulI8Gpu, i8ConfigKey } from '../../src/kernels/matmul-i8/gpu';
import { matmulI8Ref } from '../../src/kernels/matmul-i8/matmul-i8';
import { Sha256Gpu } from '../../src/kernels/sha256-batch/gpu';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { Sha256dPowGpu } from '../../src/kernels/sha256d-pow/gpu';
import { powSearchCpu, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';
import { newSessionKeyPair } from '../../src/proof/result-key';
import { Backend } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';
import { ComputeEngine } from '../../src/worker/engine';
import { PassTimer, requestTimestampQueries } from './dawn-pass-timer';
import { runStream, type StreamFigures } from './dawn-stream';

export interface DawnRow {
  readonly kernel: string;
  readonly size: string;
  readonly impl: string;
  /** Median wall ms: host memory in, host memory out. */
  readonly wallMs: number;
  /** Median GPU ms of the compute passes per call (timestamp queries); absent where not measured. */
  readonly kernelMs?: number;
  /** Median over the timed calls of kernel ms / that call's wall ms (the GPU's busy share). */
  readonly busy?: number;
  readonly work: number;
  readonly workUnit: string;
  readonly note?: string;
}

interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

const now = () => performance.now();
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Median wall ms over `runs` calls after one warm-up, timer off; then `runs` timed calls: median
 * kernel ms, and the median of each call's kernel/wall (from the same call, so noise between
 * calls cannot push it past 100 %).
 */
async function measure(fn: () => Promise<unknown>, runs: number): Promise<{ wallMs: number; kernelMs?: number; busy?: number }> {
  await fn();
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = now();
    await fn();
    walls.push(now() - t);
  }
  const kernels: number[] = [];
  const shares: number[] = [];
  let timed = false;
  for (let i = 0; i < runs; i++) {
    const timer = new PassTimer().start();
    const t = now();
    let wall = 0;
    try {
      await fn();
      wall = now() - t;
    } finally {
      const ms = (await timer.stop()).ms;
      kernels.push(ms);
      shares.push(ms / wall);
    }
    timed ||= timer.timed;
  }
  return { wallMs: median(walls), ...(timed ? { kernelMs: median(kernels), busy: median(shares) } : {}) };
}

function rate(work: number, ms: number | undefined, unit: string): string {
  if (ms === undefined || !(ms > 0)) return '–';
  const perS = work / (ms / 1000);
  const [scale, prefix] = perS >= 1e12 ? [1e12, 'T'] : perS >= 1e9 ? [1e9, 'G'] : perS >= 1e6 ? [1e6, 'M'] : [1e3, 'k'];
  return `${(perS / scale).toFixed(2)} ${prefix}${unit}/s`;
}

export function dawnTable(rows: readonly DawnRow[], stream: readonly (StreamFigures & { kernel: string; size: string })[]): string {
  const lines = [
    '| kernel | size | implementation | wall ms | wall rate | kernel ms | kernel rate | GPU busy (kernel / wall) |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const k = r.kernelMs;
    lines.push(
      `| ${r.kernel} | ${r.size} | ${r.impl} | ${r.wallMs.toFixed(2)} | ${rate(r.work, r.wallMs, r.workUnit)} | ${k === undefined ? '–' : k.toFixed(3)} | ${rate(r.work, k, r.workUnit)} | ${r.busy === undefined ? '–' : `${(100 * r.busy).toFixed(1)} %`} |`,
    );
  }
  if (stream.length > 0) {
    lines.push('', '| unit stream (engine.runUnit + commitment, one after another) | unit | units | units/s | GPU busy |', '|---|---|---:|---:|---:|');
    for (const s of stream)
      lines.push(`| ${s.kernel} | ${s.size} | ${s.units} | ${s.unitsPerS.toFixed(2)} | ${s.busy === undefined ? '–' : `${(100 * s.busy).toFixed(1)} %`} |`);
  }
  return lines.join('\n');
}

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Dawn rounds timestamps (to about 65 µs here) unless its timestamp_quantization toggle is off,
 * as it is for the bench: added to a --dawn-flag disable-dawn-features list, or as one.
 */
export function withExactTimestamps(flags: readonly string[]): string[] {
  const off = 'timestamp_quantization';
  const at = flags.findIndex((f) => f.startsWith('disable-dawn-features='));
  if (at < 0) return [...flags, `disable-dawn-features=${off}`];
  return flags.map((f, i) => (i === at && !f.split(/[=,]/).includes(off) ? `${f},${off}` : f));
}

function wholeNumber(flag: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${flag} takes a whole number in 1..${max}, not ${value}`);
  return n;
}

export async function dawnBenchMain(argv: readonly string[]): Promise<number> {
  const cli = parseCommand(BENCH_DAWN_COMMAND, argv);
  const { values } = cli;
  const sizes = cli.check(() => values.sizes.split(',').map((s) => wholeNumber('sizes', s, 0, 8192)));
  const shaCount = cli.check(() => wholeNumber('sha-count', values['sha-count'], 1 << 16, 1 << 20));
  const powNonces = cli.check(() => wholeNumber('pow-nonces', values['pow-nonces'], 1 << 20, 2 ** 31));
  const streamUnits = cli.check(() => wholeNumber('stream-units', values['stream-units'], 6, 1000));
  const streamSize = cli.check(() => wholeNumber('stream-size', values['stream-size'], sizes[0]!, 8192));
  const flags = withExactTimestamps(values['dawn-flag'] ?? []);
  const outFile = values.out;
  const log = (line: string) => console.error(`[dawn bench ${(now() / 1000).toFixed(1)} s] ${line}`);

  let devices: GpuDevices;
  try {
    await openDawn(flags);
    requestTimestampQueries();
    devices = await dawnDevices(flags, { onUncapturedError: (m) => log(`uncaptured WebGPU error: ${m}`) });
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 4;
  }
  let adapter: AdapterSummary;
  try {
    adapter = await devices.adapter();
  } catch (err) {
    console.error(
      `no WebGPU adapter from Dawn: ${err instanceof Error ? err.message : String(err)} (no Vulkan driver? scripts/lavapipe.sh -- … gives a software one)`,
    );
    return 3;
  }
  const device = await devices.acquire();
  const software = isSoftwareAdapter(adapter);
  log(`adapter ${adapter.vendor} / ${adapter.architecture} / ${adapter.description}${software ? ' (software: its figures are CPU figures)' : ''}`);
  if (software && values['require-gpu']) {
    console.error(`--require-gpu: the adapter runs on the CPU (${adapter.description})`);
    return 3;
  }
  const record = {
    tool: 'npm run bench -- --dawn',
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? '?'} ×${cpus().length}`,
    dawnFlags: flags,
    adapter: { ...adapter, software, features: [...device.features].sort(), timestamps: device.features.has('timestamp-query') },
    tuned: {} as Record<string, string>,
    checks: [] as Check[],
    rows: [] as DawnRow[],
    stream: [] as (StreamFigures & { kernel: string; size: string })[],
    tfjs: null as null | { version: string } | { absent: string },
    torch: null as unknown,
    table: '',
  };
  const check = (name: string, pass: boolean, detail: string) => {
    record.checks.push({ name, pass, detail });
    log(`${pass ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
  };
  const add = (row: DawnRow) => {
    record.rows.push(row);
    log(`${row.kernel} ${row.size} ${row.impl}: wall ${row.wallMs.toFixed(2)} ms, kernel ${row.kernelMs?.toFixed(3) ?? '–'} ms`);
  };
  const save = () => {
    record.table = dawnTable(record.rows, record.stream);
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify(record, null, 2));
    writeFileSync(outFile.replace(/\.json$/, '.md'), `${record.table}\n`);
  };
  if (!record.adapter.timestamps) log('this device offers no timestamp-query: kernel times are not measured (wall only)');

  const matmul = new MatmulGpu(devices);
  const i8 = new MatmulI8Gpu(devices);
  const sha = new Sha256Gpu(devices);
  const pow = new Sha256dPowGpu(devices);
  const adapterKey = `${adapter.vendor}/${adapter.architecture}/${adapter.description}`;
  const cache = new MemoryTuneCache();
  const tunedF32 = await tuneMatmul(matmul, MatmulKind.F32, { adapterKey, cache });
  const tunedModp = await tuneMatmul(matmul, MatmulKind.Modp, { adapterKey, cache });
  // matmul-i8: the path the volunteer takes (tensor cores where offered and the canary passed),
  // and the portable shader with its tuned tile beside it.
  const i8Path = await i8.path();
  const i8Portable = new MatmulI8Gpu(devices, (await i8.portablePath()).path);
  const tunedI8 = await tuneMatmulI8(i8Portable, { adapterKey, cache });
  const i8PortableName = `${(await i8.portablePath()).path} ${i8ConfigKey(tunedI8.config)}`;
  record.tuned = {
    f32: configKey(tunedF32.config),
    modp: configKey(tunedModp.config),
    i8: i8Path.path,
    i8Why: i8Path.reason,
    i8Portable: i8PortableName,
  };
  log(`tuned f32 ${record.tuned.f32}, modp ${record.tuned.modp}, i8 portable ${i8PortableName}; i8 path ${i8Path.path} (${i8Path.reason})`);

  // TF.js's webgpu backend on this process's Dawn: it reads navigator.gpu, so it is set for it.
  type Tf = typeof import('@tensorflow/tfjs-core');
  let tf: Tf | undefined;
  if (!values['no-tfjs']) {
    try {
      const { gpu } = await openDawn(flags);
      const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
      if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      const core = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await core.setBackend('webgpu'))) throw new Error(`tf.setBackend('webgpu') failed (backend now ${core.getBackend()})`);
      await core.ready();
      tf = core;
      record.tfjs = { version: core.version_core };
    } catch (err) {
      record.tfjs = { absent: err instanceof Error ? err.message : String(err) };
      log(`TF.js webgpu absent: ${record.tfjs.absent}`);
    }
  }
  const tfName = `TF.js ${tf?.version_core ?? ''} webgpu`;

  for (const n of sizes) {
    const shape = { m: n, n, k: n };
    const size = `${n}×${n}×${n}`;
    const work = 2 * n ** 3;
    const runs = n >= 2048 ? 3 : 5;
    const random = seededRandom(n);
    const a = Float32Array.from({ length: n * n }, () => random() - 0.5);
    const b = Float32Array.from({ length: n * n }, () => random() - 0.5);
    // Checked once against the CPU (only up to 512: the triple loop is slow), then timed.
    const c = await matmul.f32(a, b, shape, tunedF32.config, { poisonOutput: 0x7fc00001 });
    if (n <= 512) {
      const want = matmulF32Ref(a, b, shape);
      const bound = f32ErrorBound(n, maxAbs(a), maxAbs(b));
      const err = want.reduce((m, w, i) => Math.max(m, Math.abs(w - c[i]!)), 0);
      check(`matmul-f32 ${size}`, err <= bound, `max |error| ${err.toExponential(2)}, bound ${bound.toExponential(2)}`);
    }
    add({
      kernel: 'matmul-f32',
      size,
      impl: `tabgrid ${configKey(tunedF32.config)}`,
      work,
      workUnit: 'FLOP',
      ...(await measure(() => matmul.f32(a, b, shape, tunedF32.config), runs)),
    });
    if (tf) {
      const t = tf;
      const tc = t.tidy(() => t.matMul(t.tensor2d(a, [n, n]), t.tensor2d(b, [n, n])));
      const got = (await tc.data()) as Float32Array;
      tc.dispose();
      const bound = f32ErrorBound(n, maxAbs(a), maxAbs(b));
      const err = got.reduce((m, g, i) => Math.max(m, Math.abs(g - c[i]!)), 0);
      check(
        `matmul-f32 ${size} TF.js beside tabgrid`,
        err <= 2 * bound,
        `max |difference| ${err.toExponential(2)}, within twice the bound ${bound.toExponential(2)}`,
      );
      const run = async () => {
        const out = t.tidy(() => t.matMul(t.tensor2d(a, [n, n]), t.tensor2d(b, [n, n])));
        await out.data();
        out.dispose();
      };
      add({ kernel: 'matmul-f32', size, impl: tfName, work, workUnit: 'FLOP', ...(await measure(run, runs)) });
    }

    const p = 65521;
    const au = Uint32Array.from(a, (x) => Math.floor((x + 0.5) * (p - 1)));
    const bu = Uint32Array.from(b, (x) => Math.floor((x + 0.5) * (p - 1)));
    if (n <= 512) {
      const at = firstDiff(await matmul.modp(au, bu, shape, p, tunedModp.config, { poisonOutput: 0xffffffff }), matmulModpRef(au, bu, shape, p));
      check(`matmul-modp ${size}`, at < 0, at < 0 ? 'bit-exact' : `first difference at ${at}`);
    }
    add({
      kernel: `matmul-modp p=${p}`,
      size,
      impl: `tabgrid ${configKey(tunedModp.config)}`,
      work,
      workUnit: 'OP',
      ...(await measure(() => matmul.modp(au, bu, shape, p, tunedModp.config), runs)),
    });

    const ai = Int8Array.from(a, (x) => Math.round(x * 255));
    const bi = Int8Array.from(b, (x) => Math.round(x * 255));
    let i8Want: Int32Array | undefined;
    const i8Runs: [string, () => Promise<Int32Array>][] = [[`tabgrid ${i8PortableName}`, () => i8Portable.matmul(ai, bi, shape, { config: tunedI8.config })]];
    if (i8Path.path === I8Path.SubgroupMatrix) i8Runs.push([`tabgrid subgroup-matrix (${i8Path.reason})`, () => i8.matmul(ai, bi, shape)]);
    for (const [impl, run] of i8Runs) {
      // Against the CPU up to 512 (the triple loop is slow); above, the tensor path (new) against
      // the portable path's product, exact integers both.
      const got = await run();
      if (n <= 512 || i8Want) {
        const at = firstDiff(got, (i8Want ??= matmulI8Ref(ai, bi, shape)));
        check(`matmul-i8 ${size} ${impl}`, at < 0, at < 0 ? `bit-exact (against ${n <= 512 ? 'the CPU' : 'the portable path'})` : `first difference at ${at}`);
      } else i8Want = got;
      add({ kernel: 'matmul-i8', size, impl, work, workUnit: 'OP', ...(await measure(run, runs)) });
    }
    save();
  }

  const batch = seededBatch(9, shaCount, 64);
  const digests = await sha.hash(batch);
  const sample = [0, shaCount >> 1, shaCount - 1];
  const wrong = sample.filter((i) => {
    const want = createHash('sha256')
      .update(batch.data.subarray(batch.offsets[i]!, batch.offsets[i]! + batch.lengths[i]!))
      .digest();
    return firstDiff(digests.subarray(32 * i, 32 * i + 32), want) >= 0;
  });
  check(
    `sha256-batch ${shaCount} × 64 B`,
    wrong.length === 0,
    wrong.length === 0 ? `messages ${sample.join(', ')} equal node:crypto` : `messages ${wrong.join(', ')} differ`,
  );
  add({
    kernel: 'sha256-batch',
    size: `${shaCount} × 64 B`,
    impl: 'tabgrid sha256.wgsl',
    work: shaCount,
    workUnit: 'hash',
    ...(await measure(() => sha.hash(batch), 3)),
  });
  const t0 = now();
  for (let i = 0; i < Math.min(shaCount, 1 << 16); i++)
    createHash('sha256')
      .update(batch.data.subarray(batch.offsets[i]!, batch.offsets[i]! + 64))
      .digest();
  const cpuMs = ((now() - t0) * shaCount) / Math.min(shaCount, 1 << 16);
  add({ kernel: 'sha256-batch', size: `${shaCount} × 64 B`, impl: 'node:crypto (CPU, 1 thread)', wallMs: cpuMs, work: shaCount, workUnit: 'hash' });

  const random = seededRandom(42);
  const header = Uint8Array.from({ length: 80 }, () => Math.floor(random() * 256));
  const [target, share] = [targetFromLeadingZeroBits(24), targetFromLeadingZeroBits(Math.max(4, Math.round(Math.log2(powNonces)) - 8))];
  const checkCount = Math.min(powNonces, 1 << 14);
  const want = powSearchCpu(header, 0, checkCount, target, share);
  const got = await pow.search(header, 0, checkCount, target, share);
  check(
    `sha256d-pow ${checkCount} nonces`,
    JSON.stringify(got.shares) === JSON.stringify(want.shares),
    `${got.shares.length} shares on the GPU, ${want.shares.length} on the CPU`,
  );
  add({
    kernel: 'sha256d-pow',
    size: `${powNonces} nonces`,
    impl: 'tabgrid sha256d-pow.wgsl',
    work: powNonces,
    workUnit: 'nonce',
    ...(await measure(() => pow.search(header, 0, powNonces, target, share), 3)),
  });
  save();

  // The unit stream: matmul-f32 units of streamSize³ through the volunteer's engine on this Dawn.
  {
    const { gpu } = await openDawn(flags);
    const engine = new ComputeEngine({ gpu: () => gpu, backend: Backend.WebGpu });
    const spec = parseJob({
      id: 'dawn-stream',
      kernel: 'matmul-f32',
      units: streamUnits + 1,
      m: streamSize,
      n: streamSize,
      k: streamSize,
      seed: 5,
      verify: { policy: 'freivalds' },
    });
    const units = Array.from({ length: streamUnits + 1 }, (_, i) => jobUnit(spec, i));
    // A result key as a connection agrees one (here with itself: the MAC costs the same).
    const pair = await newSessionKeyPair();
    const resultKey = await pair.agree(pair.publicKey, 'ab'.repeat(32));
    const figures = await runStream(units, { computer: engine, hash: await createCpuSha256(), resultKey, warmup: 1 });
    record.stream.push({ kernel: 'matmul-f32', size: `${streamSize}³`, ...figures });
    log(
      `stream: ${figures.units} units of ${streamSize}³ in ${figures.wallMs.toFixed(0)} ms: ${figures.unitsPerS.toFixed(2)} units/s, GPU busy ${figures.busy === undefined ? '–' : `${(100 * figures.busy).toFixed(1)} %`}`,
    );
    engine.dispose();
    save();
  }

  // cuBLAS through torch, where it is.
  if (!values['no-torch']) {
    const probe = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (probe.status !== 0) {
      record.torch = { absent: `python3 -c 'import torch' failed: ${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}` };
    } else {
      const ran = spawnSync('python3', [join(import.meta.dirname, 'dawn-torch.py'), sizes.join(',')], { encoding: 'utf8', timeout: 300_000 });
      try {
        const torch = JSON.parse(ran.stdout) as {
          rows: { kernel: string; n: number; impl: string; kernelMs: number; wallMs: number; work: number }[];
          error?: string;
        };
        record.torch = torch;
        for (const r of torch.rows)
          add({
            kernel: r.kernel,
            size: `${r.n}×${r.n}×${r.n}`,
            impl: r.impl,
            wallMs: r.wallMs,
            kernelMs: r.kernelMs,
            work: r.work,
            busy: r.kernelMs / r.wallMs,
            workUnit: r.kernel === 'matmul-i8' ? 'OP' : 'FLOP',
            note: 'CUDA events',
          });
      } catch {
        record.torch = { absent: `dawn-torch.py printed no JSON (status ${ran.status}): ${ran.stderr.trim().split('\n').at(-1)}` };
      }
    }
    log(`torch: ${JSON.stringify(record.torch).slice(0, 200)}`);
  }
  save();
  devices.destroy();
  const label = software ? `\n\n(adapter ${adapter.description} runs on the CPU: these are CPU figures; only ratios within this run mean anything)` : '';
  console.log(`\n${record.table}${label}\n\nwrote ${outFile}`);
  return record.checks.every((c) => c.pass) ? 0 : 1;
}
