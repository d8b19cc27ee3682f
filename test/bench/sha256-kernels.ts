/**
 * Kernel-only timing of the SHA-256 kernels, data resident: the rewritten kernels (shader.ts in
 * kernels/sha256-batch and kernels/sha256d-pow) beside the loop-based WGSL they replaced, given as
 * source, on the same device in one run. `reps` dispatches go back to back in one submission;
 * the figure is the median over `runs` submissions, per dispatch. On a software adapter these are
 * CPU figures: compare them as ratios within one run only.
 */
import { DIGEST_BYTES, type MessageBatch } from '../../src/kernels/sha256-batch/batch';
import { fixedLengthOf } from '../../src/kernels/sha256-batch/gpu';
import { fixedLengthShader, fixedReadsData, variableLengthShader } from '../../src/kernels/sha256-batch/shader';
import { jobWords } from '../../src/kernels/sha256d-pow/gpu';
import { powShader } from '../../src/kernels/sha256d-pow/shader';

export interface KernelTime {
  readonly kernel: string;
  readonly variant: string;
  /** Median ms per dispatch. */
  readonly ms: number;
  /** Median CPU ms per dispatch, when a CPU clock was given (a software adapter in this process). */
  readonly cpuMs?: number;
  /** Messages or nonces per dispatch. */
  readonly items: number;
}

export interface OldSources {
  /** The replaced sha256.wgsl (bindings data, offsets, lengths, digests, params). */
  readonly batch: string;
  /** The replaced sha256d-pow.wgsl (bindings job, params, counters, nonces). */
  readonly pow: string;
}

async function pipelineOf(device: GPUDevice, code: string, constants: Record<string, number>): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const pipeline = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code }), entryPoint: 'main', constants },
  });
  const error = await device.popErrorScope();
  if (error) throw new Error(error.message);
  return pipeline;
}

function storage(device: GPUDevice, bytes: ArrayBufferView | number, extra = 0): GPUBuffer {
  const size = typeof bytes === 'number' ? bytes : bytes.byteLength;
  const buffer = device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extra });
  if (typeof bytes !== 'number' && size > 0) device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, size);
  return buffer;
}

function uniform(device: GPUDevice, words: Uint32Array): GPUBuffer {
  const buffer = device.createBuffer({ size: Math.max(16, Math.ceil(words.byteLength / 16) * 16), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, words);
  return buffer;
}

/**
 * Reads the CPU time this process has used (ms): on a software adapter the kernel runs on this
 * process's threads, and CPU time is steadier than wall time on a busy machine.
 */
export type CpuClock = () => number;

interface Timed {
  readonly ms: number;
  readonly cpuMs?: number;
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeDispatches(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  entries: [number, GPUBuffer][],
  groups: number,
  reps: number,
  runs: number,
  cpu?: CpuClock,
): Promise<Timed> {
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: entries.map(([binding, buffer]) => ({ binding, resource: { buffer } })),
  });
  const once = async (n: number) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(groups);
    pass.end();
    const started = performance.now();
    const cpuStarted = cpu?.();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return { ms: (performance.now() - started) / n, cpuMs: cpu ? (cpu() - cpuStarted!) / n : undefined };
  };
  await once(1);
  const times: Timed[] = [];
  for (let i = 0; i < runs; i++) times.push(await once(reps));
  return { ms: median(times.map((t) => t.ms)), cpuMs: cpu ? median(times.map((t) => t.cpuMs!)) : undefined };
}

/** Digest words (state words, as the old kernel writes them) or bytes (as the new ones do), compared. */
async function readBack(device: GPUDevice, source: GPUBuffer, size: number): Promise<Uint8Array> {
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, 0, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Uint8Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

/**
 * sha256-batch: the old kernel and the new ones (fixed length at workgroup sizes 64, 128, 256,
 * and variable length) on `batch` in one dispatch. Checks each kernel's digests against `want`.
 */
export async function timeSha256Batch(
  device: GPUDevice,
  old: OldSources,
  batch: MessageBatch,
  want: Uint8Array,
  reps = 4,
  runs = 3,
  cpu?: CpuClock,
): Promise<KernelTime[]> {
  const count = batch.lengths.length;
  const data = storage(device, batch.data);
  const offsets = storage(device, batch.offsets);
  const lengths = storage(device, batch.lengths);
  const digests = storage(device, count * DIGEST_BYTES, GPUBufferUsage.COPY_SRC);
  const params = uniform(device, Uint32Array.of(0, count));
  const rows: KernelTime[] = [];
  const fixed = fixedLengthOf(batch);
  const variants: [string, string, number, [number, GPUBuffer][], boolean][] = [
    [
      'old sha256.wgsl',
      old.batch,
      64,
      [
        [0, data],
        [1, offsets],
        [2, lengths],
        [3, digests],
        [4, params],
      ],
      true,
    ],
    [
      'new variable length',
      variableLengthShader(),
      64,
      [
        [0, data],
        [1, offsets],
        [2, lengths],
        [3, digests],
        [4, params],
      ],
      false,
    ],
  ];
  if (fixed !== undefined) {
    for (const wg of [64, 128, 256]) {
      variants.push([
        `new fixed length ${fixed}`,
        fixedLengthShader(fixed),
        wg,
        [...(fixedReadsData(fixed) ? [[0, data] as [number, GPUBuffer]] : []), [1, digests], [2, params]],
        false,
      ]);
    }
  }
  try {
    for (const [name, code, wg, entries, stateWords] of variants) {
      const pipeline = await pipelineOf(device, code, { WORKGROUP_SIZE: wg });
      device.queue.writeBuffer(digests, 0, new Uint8Array(count * DIGEST_BYTES).fill(0xee));
      const timed = await timeDispatches(device, pipeline, entries, Math.ceil(count / wg), reps, runs, cpu);
      let got = await readBack(device, digests, count * DIGEST_BYTES);
      if (stateWords) {
        const words = new Uint32Array(got.buffer);
        const view = new DataView((got = new Uint8Array(got.length)).buffer);
        words.forEach((w, i) => view.setUint32(4 * i, w));
      }
      if (got.some((b, i) => b !== want[i])) throw new Error(`${name} (workgroup ${wg}) gave wrong digests`);
      rows.push({ kernel: 'sha256-batch', variant: `${name}, workgroup ${wg}`, ...timed, items: count });
    }
  } finally {
    for (const b of [data, offsets, lengths, digests, params]) b.destroy();
  }
  return rows;
}

/** sha256d-pow: the old kernel and the new one (1 and 4 nonces per invocation) on `count` nonces from 0, share target `shareTarget`. */
export async function timePow(
  device: GPUDevice,
  old: OldSources,
  header: Uint8Array,
  shareTarget: Uint8Array,
  count: number,
  reps = 4,
  runs = 3,
  cpu?: CpuClock,
): Promise<KernelTime[]> {
  const job = uniform(device, jobWords(header, shareTarget));
  const params = uniform(device, Uint32Array.of(0, count, 1 << 16));
  const counters = storage(device, 8);
  const nonces = storage(device, 4 << 16);
  const entries: [number, GPUBuffer][] = [
    [0, job],
    [1, params],
    [2, counters],
    [3, nonces],
  ];
  const rows: KernelTime[] = [];
  try {
    const variants: [string, string, number, number][] = [
      ['old sha256d-pow.wgsl', old.pow, 64, 0],
      ['new, 1 nonce per invocation', powShader(), 64, 1],
      ['new, 4 nonces per invocation', powShader(), 64, 4],
      ['new, 16 nonces per invocation', powShader(), 64, 16],
      ['new, 1 nonce per invocation', powShader(), 256, 1],
      ['new without the early exit, 1 nonce per invocation', powShader(false), 64, 1],
    ];
    for (const [name, code, wg, per] of variants) {
      const pipeline = await pipelineOf(device, code, per === 0 ? { WORKGROUP_SIZE: wg } : { WORKGROUP_SIZE: wg, NONCES_PER_INVOCATION: per });
      const timed = await timeDispatches(device, pipeline, entries, Math.ceil(count / (wg * Math.max(per, 1))), reps, runs, cpu);
      rows.push({ kernel: 'sha256d-pow', variant: `${name}, workgroup ${wg}`, ...timed, items: count });
    }
  } finally {
    for (const b of [job, params, counters, nonces]) b.destroy();
  }
  return rows;
}

/** Rows as a table, each kernel's time as a ratio to the first row of its kernel (the old one). */
export function ratioTable(rows: readonly KernelTime[], adapter: string): string {
  const cpu = rows.every((r) => r.cpuMs !== undefined);
  const lines = [
    `| kernel | variant | wall ms / dispatch (${adapter}) | old / this (wall) |${cpu ? ' CPU ms / dispatch | old / this (CPU) |' : ''}`,
    `|---|---|---:|---:|${cpu ? '---:|---:|' : ''}`,
  ];
  for (const r of rows) {
    const old = rows.find((o) => o.kernel === r.kernel)!;
    const cpuCells = cpu ? ` ${r.cpuMs!.toFixed(2)} | ${(old.cpuMs! / r.cpuMs!).toFixed(2)}× |` : '';
    lines.push(`| ${r.kernel} (${r.items} items) | ${r.variant} | ${r.ms.toFixed(2)} | ${(old.ms / r.ms).toFixed(2)}× |${cpuCells}`);
  }
  return lines.join('\n');
}
