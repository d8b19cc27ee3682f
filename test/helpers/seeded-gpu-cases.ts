import { expect, it } from 'vitest';
import type { GpuDevices } from '../../src/gpu/device';
import { MatmulGpu } from '../../src/kernels/matmul/gpu';
import { seededF32, seededResidues } from '../../src/kernels/matmul/inputs';
import { seededRandom } from '../../src/work/seeded';
import { MatmulI8Gpu } from '../../src/kernels/matmul-i8/gpu';
import { seededInt8 } from '../../src/kernels/matmul-i8/inputs';
import { matmulI8Rows } from '../../src/kernels/matmul-i8/matmul-i8';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';

/**
 * The GPU twin of the seeded operands (seeded.wgsl) against inputs.ts, bit for bit, and seeded
 * products against the same kernel fed the CPU's operands; shared by the SwiftShader (browser)
 * and Dawn (unit) files.
 */
export function seededGpuCases(devices: () => GpuDevices, gpu: () => MatmulGpu, scoped: <T>(run: () => Promise<T>) => Promise<T>) {
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  // Seeds at the edges of u32 and random ones; odd lengths and offsets, one past a workgroup.
  const random = seededRandom(99);
  const seeds = [0, 1, 0xffffffff, 0x80000000, ...Array.from({ length: 4 }, () => Math.floor(random() * 2 ** 32))];
  const cases = [
    { offset: 0, count: 1 },
    { offset: 0, count: 257 },
    { offset: 13, count: 1001 },
    { offset: 65536 * 3 + 7, count: 4099 },
  ];

  it('makes the f32 operands bit for bit, every seed, tag, offset and odd length', async () => {
    for (const seed of seeds) {
      for (const tag of [1, 2]) {
        for (const { offset, count } of cases) {
          const got = await scoped(() => gpu().seededWords({ seed, tag, offset, count, p: 0 }));
          const want = bits(seededF32(seed, tag, offset + count).subarray(offset));
          expect(got.length).toBe(count);
          const bad = want.findIndex((w, i) => w !== got[i]);
          expect(bad, `seed ${seed} tag ${tag} element ${offset + bad}: GPU ${got[bad]?.toString(16)} CPU ${want[bad]?.toString(16)}`).toBe(-1);
        }
      }
    }
  });

  it('makes the modp operands exactly, for small and the largest primes', async () => {
    for (const p of [2, 7, 65521]) {
      for (const seed of seeds.slice(0, 5)) {
        const { offset, count } = cases[2]!;
        const got = await scoped(() => gpu().seededWords({ seed, tag: 1, offset, count, p }));
        expect(got).toEqual(seededResidues(seed, 1, offset + count, p).subarray(offset));
      }
    }
  });

  it('a seeded band of rows equals the same kernel fed the CPU operands, bit for bit', async () => {
    const shape = { n: 37, k: 29 };
    const seed = 0xc0ffee;
    const rows = 23;
    const a = seededF32(seed, 1, rows * shape.k);
    const b = seededF32(seed, 2, shape.k * shape.n);
    for (const [start, end] of [
      [0, rows],
      [5, 17],
    ] as const) {
      const band = { m: end - start, ...shape };
      const fromCpu = await scoped(() => gpu().f32(a.subarray(start * shape.k, end * shape.k), b, band));
      const onGpu = await scoped(() => gpu().f32Seeded(seed, band, start, undefined, { poisonOutput: 0x7fc0dead }));
      expect(bits(onGpu)).toEqual(bits(fromCpu));
    }
    const p = 65521;
    const ra = seededResidues(seed, 1, rows * shape.k, p);
    const rb = seededResidues(seed, 2, shape.k * shape.n, p);
    const band = { m: 9, ...shape };
    const want = await scoped(() => gpu().modp(ra.subarray(3 * shape.k, 12 * shape.k), rb, band, p));
    expect(await scoped(() => gpu().modpSeeded(seed, band, 3, p, undefined, { poisonOutput: 0xffffffff }))).toEqual(want);
    expect(devices().losses).toBe(0);
  });

  it('matmul-i8: a seeded band made packed on the GPU equals the CPU product, its leaf hashes the CPU tree’s', async () => {
    const hash = await createCpuSha256();
    const i8 = new MatmulI8Gpu(devices());
    // K not a multiple of 4 (zero padding in the packed words), odd N and M.
    for (const [n, k, seed] of [
      [37, 29, 5],
      [4, 64, 0xffffffff],
      [1, 1, 7],
    ] as const) {
      const rows = 23;
      const a = seededInt8(seed, 1, rows * k);
      const b = seededInt8(seed, 2, k * n);
      for (const [start, end] of [
        [0, rows],
        [6, 19],
      ] as const) {
        const band = { m: end - start, n, k };
        const want = new Int32Array(band.m * n);
        matmulI8Rows(a.subarray(start * k, end * k), b, band, 0, band.m, want);
        const got = await scoped(() => i8.seeded(seed, band, start, { leafHashes: true, poisonOutput: 0x7fc0dead }));
        expect(new Int32Array(got.c), `${n}×${k} rows ${start}..${end}`).toEqual(want);
        const cpuLeaves = buildMerkleTreeOfChunks(new Uint8Array(got.c), 4 * n, hash).levels[0]!;
        expect(toHex(got.leafHashes!)).toBe(cpuLeaves.map(toHex).join(''));
      }
    }
  });
}
