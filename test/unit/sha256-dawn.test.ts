/**
 * sha256-batch and sha256d-pow on Dawn in Node (lavapipe on CI, any Vulkan GPU elsewhere),
 * against the plain TS references; the browser tests (test/browser/sha256-*.test.ts) cover the
 * same kernels on SwiftShader. Skipped, with the reason, where Node has no Vulkan.
 */
import { describe, expect, it } from 'vitest';
import { gpuSuite } from '../helpers/gpu-suite';
import { dawnGpu } from '../helpers/dawn-device';
import { sha256Ref } from '../../src/hash/sha256-ref';
import { toHex } from '../../src/hex';
import { packMessages, type MessageBatch } from '../../src/kernels/sha256-batch/batch';
import { Sha256Gpu, type Sha256GpuOptions } from '../../src/kernels/sha256-batch/gpu';
import { seededBatch } from '../../src/kernels/sha256-batch/inputs';
import { Sha256dPowGpu } from '../../src/kernels/sha256d-pow/gpu';
import { powSearchCpu, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';
import { seededRandom } from '../../src/work/seeded';

const dawn = await dawnGpu();
const skip = 'skip' in dawn ? dawn.skip : undefined;
const POISON = 0xdeadbeef;

// Each new kernel shape compiles for about a second on lavapipe.
describe.skipIf(skip !== undefined)(`sha256 kernels on Dawn${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 60_000 }, () => {
  const { devices, scoped } = gpuSuite(() => ('gpu' in dawn ? dawn.gpu : undefined));
  const split = (d: Uint8Array) => Array.from({ length: d.length / 32 }, (_, i) => toHex(d.subarray(32 * i, 32 * i + 32)));
  const reference = (batch: MessageBatch) =>
    Array.from(batch.lengths, (n, i) => toHex(sha256Ref(batch.data.subarray(batch.offsets[i], batch.offsets[i]! + n))));
  const hash = (batch: MessageBatch, options: Sha256GpuOptions = {}) => scoped(() => new Sha256Gpu(devices, { poisonOutput: POISON, ...options }).hash(batch));

  it('fixed-length batches (empty, unaligned, vec4 reads, several whole blocks) equal the reference, odd counts, poisoned output', async () => {
    for (const [i, length] of [0, 3, 64, 130, 192].entries()) {
      const batch = seededBatch(40 + i, 37 + 2 * i, length);
      expect(split(await hash(batch)), `${length} bytes`).toEqual(reference(batch));
    }
  });

  it('mixed lengths take the variable-length kernel and equal the reference', async () => {
    const random = seededRandom(3);
    const lengths = Array.from({ length: 301 }, (_, i) => (i < 12 ? [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129][i]! : Math.floor(random() * 300)));
    const batch = packMessages(lengths.map((n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))));
    expect(split(await hash(batch, { workgroupSize: 32 }))).toEqual(reference(batch));
    // A fixed-length batch forced through the variable kernel gives the same digests.
    const fixed = seededBatch(9, 65, 64);
    expect(split(await hash(fixed, { variableOnly: true }))).toEqual(reference(fixed));
  });

  it('sha256d-pow finds exactly the CPU reference nonces, several nonces per invocation', async () => {
    const random = seededRandom(11);
    const header = Uint8Array.from({ length: 80 }, () => Math.floor(random() * 256));
    const [target, share] = [targetFromLeadingZeroBits(10), targetFromLeadingZeroBits(6)];
    const want = powSearchCpu(header, 2 ** 32 - 20_003, 20_003, target, share);
    for (const noncesPerInvocation of [1, 4]) {
      const gpu = new Sha256dPowGpu(devices, { poisonOutput: POISON, noncesPerInvocation, workgroupSize: 32 });
      expect(await scoped(() => gpu.search(header, 2 ** 32 - 20_003, 20_003, target, share))).toEqual({ ...want, overflowed: 0 });
    }
    expect(want.shares.length).toBeGreaterThan(100);
    expect(want.solutions.length).toBeGreaterThan(2);
  });
});
