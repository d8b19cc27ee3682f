/**
 * Times a kernel's dispatches on the GPU alone, without uploads or readbacks, so the tuner
 * compares tiles and not transfers. With the `timestamp-query` feature each dispatch gets its own
 * compute pass with begin/end timestamps; without it (or when the timestamps are not believable:
 * zeros, out of order, longer than the wall clock allowed) the dispatches run back to back on
 * resident data and one wait for the queue times them all.
 */
import { ErrorCode, TabgridError, throwIfAborted } from '../errors';
import { withErrorScopes } from './device';

export const TimingMethod = { Timestamp: 'timestamp', Resident: 'resident' } as const;
export type TimingMethod = (typeof TimingMethod)[keyof typeof TimingMethod];

/** Encodes one dispatch of the kernel under test (pipeline, bind groups, workgroups) into `pass`. */
export type EncodeDispatch = (pass: GPUComputePassEncoder) => void;

export interface KernelTiming {
  /** Median milliseconds per dispatch. */
  readonly ms: number;
  /** Fastest dispatch (timestamps), or the mean of the batch (resident). */
  readonly minMs: number;
  readonly method: TimingMethod;
  /** Milliseconds of each timed dispatch (timestamps), or the batch's mean per dispatch (resident). */
  readonly samples: readonly number[];
}

export interface TimeOptions {
  /** Dispatches timed (default 3), after none: compile and warm up before (see warmUp). */
  readonly repeats?: number;
  /**
   * Dispatches in each timed pass (default 1), the time per dispatch being the pass's share:
   * raises the resolution where timestamps are coarse (browsers round to 100 µs) and kernels short.
   */
  readonly dispatchesPerPass?: number;
  /** Force a method (tests); by default timestamps where the device has them and they prove sound. */
  readonly method?: TimingMethod;
  readonly signal?: AbortSignal;
}

/** The most dispatches one timing may take (the query set holds two timestamps per dispatch). */
export const MAX_TIMED_DISPATCHES = 64;

/** The most dispatches one timed pass may take. */
export const MAX_DISPATCHES_PER_PASS = 64;

/** A pass's timing as its dispatches' share. */
function perDispatch<T extends KernelTiming | TimestampRefusal>(timing: T, perPass: number): T {
  if ('refused' in timing || perPass === 1) return timing;
  return { ...timing, ms: timing.ms / perPass, minMs: timing.minMs / perPass, samples: timing.samples.map((x) => x / perPass) };
}

const timers = new WeakMap<GPUDevice, KernelTimer>();

/** The one timer of a device (it remembers whether the device's timestamps can be believed). */
export function kernelTimerFor(device: GPUDevice): KernelTimer {
  let timer = timers.get(device);
  if (!timer) timers.set(device, (timer = new KernelTimer(device)));
  return timer;
}

/**
 * A kernel timer for one device. It remembers a timestamp failure, so a device whose
 * timestamps are garbage is timed on resident data from then on.
 */
export class KernelTimer {
  private timestampsBroken = false;
  /** Why the timestamps were refused, if they were. */
  refusal?: string;

  constructor(readonly device: GPUDevice) {}

  /** True when this device will be timed with timestamp queries. */
  get timestamps(): boolean {
    return this.device.features.has('timestamp-query') && !this.timestampsBroken;
  }

  /** Runs one dispatch and waits for it: compiles lazily built state and warms caches before timing. */
  async warmUp(encode: EncodeDispatch): Promise<void> {
    await withErrorScopes(this.device, () => this.submit(encode, 1));
    await this.device.queue.onSubmittedWorkDone();
  }

  async time(encode: EncodeDispatch, options: TimeOptions = {}): Promise<KernelTiming> {
    const repeats = options.repeats ?? 3;
    if (!Number.isInteger(repeats) || repeats < 1 || repeats > MAX_TIMED_DISPATCHES)
      throw new TabgridError(ErrorCode.BadInput, `repeats must be an integer in 1..${MAX_TIMED_DISPATCHES}, not ${repeats}`);
    const perPass = options.dispatchesPerPass ?? 1;
    if (!Number.isInteger(perPass) || perPass < 1 || perPass > MAX_DISPATCHES_PER_PASS)
      throw new TabgridError(ErrorCode.BadInput, `dispatchesPerPass must be an integer in 1..${MAX_DISPATCHES_PER_PASS}, not ${perPass}`);
    const pass: EncodeDispatch =
      perPass === 1
        ? encode
        : (p) => {
            for (let i = 0; i < perPass; i++) encode(p);
          };
    throwIfAborted(options.signal);
    const method = options.method ?? (this.timestamps ? TimingMethod.Timestamp : TimingMethod.Resident);
    switch (method) {
      case TimingMethod.Timestamp: {
        if (!this.device.features.has('timestamp-query')) throw new TabgridError(ErrorCode.BadInput, 'this device has no timestamp-query feature');
        const timed = perDispatch(await this.timeWithTimestamps(pass, repeats), perPass);
        if (!('refused' in timed)) return timed;
        // Garbage timestamps: resident timing from now on. Work too short for the clock: this time only.
        if (timed.garbage) this.timestampsBroken = true;
        this.refusal = timed.refused;
        if (options.method === TimingMethod.Timestamp) throw new TabgridError(ErrorCode.GpuError, `timestamps refused: ${timed.refused}`);
        return perDispatch(await this.timeResident(pass, repeats), perPass);
      }
      case TimingMethod.Resident:
        return perDispatch(await this.timeResident(pass, repeats), perPass);
    }
  }

  private submit(encode: EncodeDispatch, count: number, querySet?: GPUQuerySet, after?: (encoder: GPUCommandEncoder) => void): void {
    const encoder = this.device.createCommandEncoder({ label: 'kernel timer' });
    for (let i = 0; i < count; i++) {
      const pass = encoder.beginComputePass(
        querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } } : {},
      );
      encode(pass);
      pass.end();
    }
    after?.(encoder);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Timestamps around each dispatch's pass, or why they cannot be believed. */
  private async timeWithTimestamps(encode: EncodeDispatch, count: number): Promise<KernelTiming | TimestampRefusal> {
    const device = this.device;
    const bytes = 16 * count;
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * count, label: 'kernel timer' });
    const resolved = device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'kernel timer resolve' });
    const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'kernel timer readback' });
    try {
      const started = performance.now();
      await withErrorScopes(device, () =>
        this.submit(encode, count, querySet, (encoder) => {
          encoder.resolveQuerySet(querySet, 0, 2 * count, resolved, 0);
          encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
        }),
      );
      await staging.mapAsync(GPUMapMode.READ);
      const wallMs = performance.now() - started;
      const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return judgeTimestamps(stamps, wallMs);
    } finally {
      querySet.destroy();
      resolved.destroy();
      staging.destroy();
    }
  }

  /**
   * `count` dispatches back to back in one submission, one wait: the mean time each, less the
   * fixed cost of a submission and its wait (an empty one, timed just before: in a browser it is
   * an IPC round trip of milliseconds). If noise leaves nothing after the subtraction, the plain mean.
   */
  private async timeResident(encode: EncodeDispatch, count: number): Promise<KernelTiming> {
    const queue = this.device.queue;
    // Nothing else of ours is queued: the waits measure these submissions alone.
    await queue.onSubmittedWorkDone();
    let emptyMs = Infinity;
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      queue.submit([this.device.createCommandEncoder({ label: 'kernel timer (empty)' }).finish()]);
      await queue.onSubmittedWorkDone();
      emptyMs = Math.min(emptyMs, performance.now() - started);
    }
    const started = performance.now();
    await withErrorScopes(this.device, () => this.submit(encode, count));
    await queue.onSubmittedWorkDone();
    const totalMs = performance.now() - started;
    const ms = totalMs > emptyMs ? (totalMs - emptyMs) / count : totalMs / count;
    return { ms, minMs: ms, method: TimingMethod.Resident, samples: [ms] };
  }
}

/** Why timestamps were not used: `garbage` when the device's clock cannot be believed at all. */
export interface TimestampRefusal {
  readonly refused: string;
  readonly garbage: boolean;
}

/**
 * The dispatch times in `stamps` (begin, end per dispatch, nanoseconds), or why they are not
 * believable: a zero, an end before its begin, a dispatch starting before the previous one
 * ended, or a total longer than the wall time the whole submission took (garbage); or every
 * dispatch shorter than the clock's resolution (browsers quantize timestamps, e.g. to 100 µs).
 */
export function judgeTimestamps(stamps: BigUint64Array, wallMs: number): KernelTiming | TimestampRefusal {
  const garbage = (refused: string) => ({ refused, garbage: true });
  const samples: number[] = [];
  for (let i = 0; i + 1 < stamps.length; i += 2) {
    const begin = stamps[i]!;
    const end = stamps[i + 1]!;
    if (begin === 0n || end === 0n) return garbage(`timestamp ${begin === 0n ? i : i + 1} is zero`);
    if (end < begin) return garbage(`dispatch ${i / 2} ends (${end}) before it begins (${begin})`);
    if (i > 0 && begin < stamps[i - 1]!) return garbage(`dispatch ${i / 2} begins before dispatch ${i / 2 - 1} ends`);
    samples.push(Number(end - begin) / 1e6);
  }
  if (samples.length === 0) return garbage('no timestamps');
  const total = samples.reduce((x, y) => x + y, 0);
  if (total === 0) return { refused: 'every dispatch was shorter than the timestamp resolution', garbage: false };
  // Slack for the clock's granularity.
  if (total > wallMs * 1.5 + 1) return garbage(`the dispatches claim ${total.toFixed(3)} ms of a ${wallMs.toFixed(3)} ms submission`);
  const sorted = [...samples].sort((x, y) => x - y);
  return { ms: sorted[Math.floor(sorted.length / 2)]!, minMs: sorted[0]!, method: TimingMethod.Timestamp, samples };
}
