/**
 * GPU time of every compute pass a device runs, from timestamp queries, without touching the code
 * that encodes the passes: while on, each compute pass that writes no timestamps of its own gets
 * begin/end timestamp writes, and each submit that carried such passes is followed by a resolve
 * and a readback. So the same measure applies to our kernels (whatever their buffers and
 * dispatches look like today: tuning and the unit stream change them) and to TF.js, and a unit's
 * kernel time can be set beside its wall time ("GPU busy").
 *
 * Bench-only: it patches Dawn's prototypes (GPUDevice, GPUCommandEncoder, GPUQueue) once and adds
 * a little work per pass and per submit, so wall times are measured with it off. Devices without
 * `timestamp-query` are not timed (`available` says whether one was).
 */

interface Pending {
  readonly querySet: GPUQuerySet;
}

/** The timestamps of one compute pass: where they are written. */
const passesOf = new WeakMap<GPUCommandEncoder | GPUCommandBuffer, Pending[]>();
const deviceOf = new WeakMap<GPUCommandEncoder | GPUQueue, GPUDevice>();

let active: PassTimer | undefined;
let patched = false;

export class PassTimer {
  /** Sum of compute-pass GPU time read back so far, nanoseconds. */
  private ns = 0;
  private passes = 0;
  private readonly reads = new Set<Promise<void>>();
  private readonly errors: string[] = [];
  /** Whether a pass on a device with timestamp-query was timed. */
  timed = false;

  /** Starts timing (only one timer at a time); returns this. */
  start(): this {
    patch();
    if (active && active !== this) throw new Error('another PassTimer is running');
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the one running timer is module state, read by the patched prototypes
    active = this;
    return this;
  }

  /** Stops timing and waits for every readback; the total GPU time of the timed passes. */
  async stop(): Promise<{ readonly ms: number; readonly passes: number }> {
    if (active === this) active = undefined;
    await Promise.all([...this.reads]);
    if (this.errors.length > 0) throw new Error(`timestamp readback failed: ${this.errors[0]}`);
    return { ms: this.ns / 1e6, passes: this.passes };
  }

  /** Timestamps for one more pass on `device`, or undefined where the device cannot write them. */
  passWrites(device: GPUDevice): { pending: Pending; writes: GPUComputePassTimestampWrites } | undefined {
    if (!device.features.has('timestamp-query')) return undefined;
    this.timed = true;
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
    return { pending: { querySet }, writes: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } };
  }

  /** After a submit that carried timed passes: resolve their timestamps and read them back. */
  afterSubmit(queue: GPUQueue, device: GPUDevice, pending: readonly Pending[]): void {
    const resolve = device.createBuffer({ size: 16 * pending.length, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const read = device.createBuffer({ size: 16 * pending.length, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    pending.forEach((p, i) => encoder.resolveQuerySet(p.querySet, 0, 2, resolve, 16 * i));
    encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * pending.length);
    submitUntimed(queue, [encoder.finish()]);
    const done = read
      .mapAsync(GPUMapMode.READ)
      .then(() => {
        const t = new BigUint64Array(read.getMappedRange());
        for (let i = 0; i < pending.length; i++) {
          const begin = t[2 * i]!;
          const end = t[2 * i + 1]!;
          // A pass the driver ran in no measurable time, or timestamps out of order, counts 0.
          if (end > begin) this.ns += Number(end - begin);
          this.passes++;
        }
        read.unmap();
      })
      .catch((err: unknown) => void this.errors.push(err instanceof Error ? err.message : String(err)))
      .finally(() => {
        this.reads.delete(done);
        read.destroy();
        resolve.destroy();
        for (const p of pending) p.querySet.destroy();
      });
    this.reads.add(done);
  }
}

let submitUntimed: (queue: GPUQueue, buffers: GPUCommandBuffer[]) => void = (queue, buffers) => queue.submit(buffers);

/** Wraps createCommandEncoder, beginComputePass, finish and submit on Dawn's prototypes (once). */
function patch(): void {
  if (patched) return;
  patched = true;
  const G = globalThis as unknown as {
    GPUDevice: { prototype: GPUDevice };
    GPUCommandEncoder: { prototype: GPUCommandEncoder };
    GPUQueue: { prototype: GPUQueue };
  };
  if (!G.GPUDevice || !G.GPUCommandEncoder || !G.GPUQueue) throw new Error('PassTimer needs WebGPU globals (openDawn sets them)');
  const createCommandEncoder = G.GPUDevice.prototype.createCommandEncoder;
  G.GPUDevice.prototype.createCommandEncoder = function (this: GPUDevice, descriptor?: GPUCommandEncoderDescriptor) {
    const encoder = createCommandEncoder.call(this, descriptor);
    deviceOf.set(encoder, this);
    deviceOf.set(this.queue, this);
    return encoder;
  };
  const beginComputePass = G.GPUCommandEncoder.prototype.beginComputePass;
  G.GPUCommandEncoder.prototype.beginComputePass = function (this: GPUCommandEncoder, descriptor?: GPUComputePassDescriptor) {
    const device = deviceOf.get(this);
    const timer = active;
    if (!timer || !device || descriptor?.timestampWrites) return beginComputePass.call(this, descriptor);
    const writes = timer.passWrites(device);
    if (!writes) return beginComputePass.call(this, descriptor);
    const list = passesOf.get(this) ?? [];
    list.push(writes.pending);
    passesOf.set(this, list);
    return beginComputePass.call(this, { ...descriptor, timestampWrites: writes.writes });
  };
  const finish = G.GPUCommandEncoder.prototype.finish;
  G.GPUCommandEncoder.prototype.finish = function (this: GPUCommandEncoder, descriptor?: GPUCommandBufferDescriptor) {
    const buffer = finish.call(this, descriptor);
    const list = passesOf.get(this);
    if (list) passesOf.set(buffer, list);
    return buffer;
  };
  const submit = G.GPUQueue.prototype.submit;
  submitUntimed = (queue, buffers) => submit.call(queue, buffers);
  G.GPUQueue.prototype.submit = function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>) {
    const list = [...buffers];
    submit.call(this, list);
    const pending = list.flatMap((b) => passesOf.get(b) ?? []);
    const device = deviceOf.get(this);
    if (pending.length > 0 && device && active) active.afterSubmit(this, device, pending);
  };
}

/**
 * Every device requested from now on asks for `timestamp-query` when its adapter offers it (so
 * GpuDevices' device and TF.js's can be timed); patches Dawn's adapter class once.
 */
export function requestTimestampQueries(): void {
  const G = globalThis as unknown as { GPUAdapter?: { prototype: GPUAdapter } };
  if (!G.GPUAdapter) throw new Error('requestTimestampQueries needs WebGPU globals (openDawn sets them)');
  const proto = G.GPUAdapter.prototype as GPUAdapter & { [askedFor]?: true };
  if (proto[askedFor]) return;
  proto[askedFor] = true;
  const requestDevice = proto.requestDevice;
  proto.requestDevice = function (this: GPUAdapter, descriptor?: GPUDeviceDescriptor) {
    const wanted = [...(descriptor?.requiredFeatures ?? [])];
    if (this.features.has('timestamp-query') && !wanted.includes('timestamp-query')) wanted.push('timestamp-query');
    return requestDevice.call(this, { ...descriptor, requiredFeatures: wanted });
  };
}
const askedFor = Symbol('tabgrid.requestTimestampQueries');
