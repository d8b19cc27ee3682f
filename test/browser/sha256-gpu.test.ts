import { describe, expect, it } from 'vitest';
import { gpuSuite } from '../helpers/gpu-suite';
import { ErrorCode, TabgridError } from '../../src/errors';
import { toHex } from '../../src/hex';
import { GpuDevices } from '../../src/gpu/device';
import { Sha256Gpu, fixedLengthOf } from '../../src/kernels/sha256-batch/gpu';
import { sha256Ref } from '../../src/hash/sha256-ref';
import { packMessages, sha256BatchCpu, type MessageBatch } from '../../src/kernels/sha256-batch/batch';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { seededRandom } from '../../src/work/seeded';

const POISON = 0xdeadbeef;
const { devices, scoped } = gpuSuite();

function randomMessages(lengths: number[], seed: number): Uint8Array[] {
  const random = seededRandom(seed);
  return lengths.map((n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256)));
}

/** Runs the kernel inside the test's own validation scope: any GPU error fails the test. */
async function gpuDigests(gpu: Sha256Gpu, batch: MessageBatch, options = {}): Promise<Uint8Array> {
  return scoped(() => gpu.hash(batch, options));
}

function referenceDigests(messages: Uint8Array[]): string[] {
  return messages.map((m) => toHex(sha256Ref(m)));
}

function split(digests: Uint8Array): string[] {
  return Array.from({ length: digests.length / 32 }, (_, i) => toHex(digests.subarray(32 * i, 32 * i + 32)));
}

describe('sha256-batch kernels (shader.ts)', () => {
  it('runs on the adapter these tests expect', async () => {
    const info = await devices.adapter();
    // On CI this is SwiftShader; on a machine with a GPU it is that GPU. Either way it exists.
    expect(typeof info.isFallbackAdapter).toBe('boolean');
  });

  it('equals the reference on random messages of every awkward length, poisoned output', async () => {
    const lengths = [0, 1, 2, 3, 4, 5, 31, 32, 54, 55, 56, 57, 63, 64, 65, 111, 119, 120, 127, 128, 129, 200, 447, 1000, 4097];
    const messages = randomMessages([...lengths, ...lengths.reverse()], 1);
    const gpu = new Sha256Gpu(devices, { poisonOutput: POISON });
    const out = await gpuDigests(gpu, packMessages(messages));
    expect(split(out)).toEqual(referenceDigests(messages));
  });

  it('fixed-length batches (the fast kernel) equal the reference at every padding boundary, odd counts, poisoned output', async () => {
    const gpu = new Sha256Gpu(devices, { poisonOutput: POISON, workgroupSize: 32 });
    for (const [i, length] of [0, 1, 55, 56, 63, 64, 65, 119, 120].entries()) {
      const messages = randomMessages(new Array<number>(33 + 2 * i).fill(length), 100 + i);
      const batch = packMessages(messages);
      expect(fixedLengthOf(batch), `${length} bytes`).toBe(length);
      expect(split(await gpuDigests(gpu, batch)), `${length} bytes`).toEqual(referenceDigests(messages));
    }
  });

  it('takes the variable-length kernel when equal lengths are not back to back, with the same digests', async () => {
    // Equal lengths, but the messages lie in reverse order: the fixed kernel's layout does not hold.
    const messages = randomMessages(new Array<number>(45).fill(64), 7);
    const packed = packMessages(messages);
    const reversed = { ...packed, offsets: packed.offsets.slice().reverse(), data: packed.data };
    const swapped = messages.slice().reverse();
    expect(fixedLengthOf(reversed)).toBeUndefined();
    const gpu = new Sha256Gpu(devices, { poisonOutput: POISON });
    expect(split(await gpuDigests(gpu, reversed))).toEqual(referenceDigests(swapped));
    // And a fixed-length batch forced through the variable kernel agrees with the fixed one.
    const forced = new Sha256Gpu(devices, { poisonOutput: POISON, variableOnly: true });
    expect(split(await gpuDigests(forced, packed))).toEqual(split(await gpuDigests(gpu, packed)));
  });

  it("equals the NIST vectors, including a million a's", async () => {
    const text = (s: string) => new TextEncoder().encode(s);
    const messages = [text(''), text('abc'), text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), new Uint8Array(1_000_000).fill(0x61)];
    const out = await gpuDigests(new Sha256Gpu(devices, { poisonOutput: POISON }), packMessages(messages));
    expect(split(out)).toEqual([
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    ]);
  });

  it('splits a batch into many dispatches, odd sizes, and every message is hashed once', async () => {
    // 1001 messages, 37 per dispatch, workgroups of 8: the last workgroup of each dispatch is
    // partly idle and the last dispatch is short.
    const batch = seededBatch(99, 1001, 70);
    const progress: number[] = [];
    const gpu = new Sha256Gpu(devices, { workgroupSize: 8, maxMessagesPerDispatch: 37, initialMessagesPerDispatch: 37, poisonOutput: POISON });
    const out = await gpuDigests(gpu, batch, { onProgress: (done: number) => progress.push(done) });
    const cpu = sha256BatchCpu(batch, sha256Ref);
    expect(split(out)).toEqual(split(cpu));
    expect(progress.length).toBeGreaterThanOrEqual(Math.ceil(1001 / 37));
    expect(progress.every((p, i) => p - (progress[i - 1] ?? 0) <= 37)).toBe(true);
    expect(progress.at(-1)).toBe(1001);
    expect(progress.every((p, i) => i === 0 || p > progress[i - 1]!)).toBe(true);
  });

  it('stops between dispatches when aborted, with the aborted code', async () => {
    const gpu = new Sha256Gpu(devices, { maxMessagesPerDispatch: 64, initialMessagesPerDispatch: 64 });
    const controller = new AbortController();
    let dispatches = 0;
    const run = gpu.hash(seededBatch(1, 4096, 64), {
      signal: controller.signal,
      onProgress: () => {
        if (++dispatches === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(dispatches).toBe(2);
    const before = new AbortController();
    before.abort();
    await expect(gpu.hash(seededBatch(1, 4, 4), { signal: before.signal })).rejects.toBeInstanceOf(TabgridError);
  });

  it('refuses malformed batches before touching the GPU', async () => {
    const gpu = new Sha256Gpu(devices);
    const batch = packMessages([new Uint8Array(8)]);
    await expect(gpu.hash({ ...batch, lengths: Uint32Array.of(64) })).rejects.toMatchObject({ code: ErrorCode.BadInput });
    expect(() => new Sha256Gpu(devices, { workgroupSize: 1, maxMessagesPerDispatch: 70_000 })).toThrow(/workgroups/);
  });

  it('recovers from a lost device: the next call runs on a new one', async () => {
    const local = new GpuDevices();
    const gpu = new Sha256Gpu(local);
    const batch = seededBatch(5, 100, 64);
    const first = await gpu.hash(batch);
    const lost = await local.acquire();
    lost.destroy();
    await lost.lost;
    expect(local.losses).toBe(1);
    expect(await local.acquire()).not.toBe(lost);
    expect(split(await gpu.hash(batch))).toEqual(split(first));
    local.destroy();
  });
});
