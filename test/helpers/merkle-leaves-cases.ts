import { expect, it } from 'vitest';
import type { GpuDevices } from '../../src/gpu/device';
import { MerkleLeavesGpu } from '../../src/gpu/merkle-leaves';
import { buildMerkleTreeOfChunks, buildMerkleTreeOfLeafHashes, merklePath } from '../../src/hash/merkle';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { checkOpenings } from '../../src/host/verify-openings';
import { jobUnit } from '../../src/host/job';
import { DEFAULT_MATMUL_CONFIG, MatmulGpu, MatmulKind } from '../../src/kernels/matmul/gpu';
import { f32LeafCheck } from '../../src/kernels/matmul/leaf-check';
import type { MatmulF32Unit } from '../../src/kernels/matmul-f32/unit';
import { seededRandom } from '../../src/work/seeded';

/**
 * GPU Merkle leaves (merkle-leaves.wgsl) against the CPU tree, bit for bit, and a result
 * committed through them checked by the host's own opening check; shared by the SwiftShader
 * (browser) and Dawn (unit) files.
 */
export function merkleLeavesCases(devices: () => GpuDevices, scoped: <T>(run: () => Promise<T>) => Promise<T>) {
  const leaves = new MerkleLeavesGpu();

  it('hashes rows of every length across SHA-256 block edges as the CPU tree does', async () => {
    const hash = await createCpuSha256();
    const random = seededRandom(7);
    // 4n + 1 message bytes: n = 13 fits one block with its padding, 14 needs two, 15/16 straddle,
    // 1024 is a matmul unit's widest row.
    for (const words of [1, 2, 3, 13, 14, 15, 16, 17, 31, 255, 1024]) {
      for (const rows of words > 100 ? [3] : [1, 65]) {
        const data = Uint32Array.from({ length: rows * words }, () => Math.floor(random() * 2 ** 32));
        const got = await scoped(() => leaves.hashRows(devices(), data, words));
        const tree = buildMerkleTreeOfChunks(new Uint8Array(data.buffer), words * 4, hash);
        expect(toHex(got), `${rows} rows of ${words} words`).toBe(tree.levels[0]!.map(toHex).join(''));
        expect(toHex(buildMerkleTreeOfLeafHashes(got, hash).root)).toBe(toHex(tree.root));
      }
    }
  });

  it('a product committed through GPU leaves has the CPU root, and its openings pass the host’s check', async () => {
    const hash = await createCpuSha256();
    const gpu = new MatmulGpu(devices());
    const unit = jobUnit({ id: 'g', kernel: 'matmul-f32', units: 1, m: 37, n: 29, k: 41, seed: 31337, samples: 1 }, 0) as MatmulF32Unit;
    const { c, leafHashes } = await scoped(() =>
      gpu.product(MatmulKind.F32, { seed: unit.seed, rowStart: 0 }, unit, 0, DEFAULT_MATMUL_CONFIG, { leafHashes: true, poisonOutput: 0x7fc0dead }),
    );
    const bytes = new Uint8Array(c);
    const cpuTree = buildMerkleTreeOfChunks(bytes, unit.n * 4, hash);
    const gpuTree = buildMerkleTreeOfLeafHashes(leafHashes!, hash);
    expect(gpuTree.levels.map((level) => level.map(toHex))).toEqual(cpuTree.levels.map((level) => level.map(toHex)));
    const indices = [0, 17, 36];
    const openings = indices.map((index) => ({
      index,
      leaf: toHex(bytes.subarray(index * unit.n * 4, (index + 1) * unit.n * 4)),
      path: merklePath(gpuTree, index).map(toHex),
    }));
    expect(checkOpenings(unit, toHex(gpuTree.root), indices, openings, hash, f32LeafCheck(unit))).toBeUndefined();
    // And a root one bit off fails there.
    const wrong = gpuTree.root.slice();
    wrong[0] ^= 1;
    expect(checkOpenings(unit, toHex(wrong), indices, openings, hash, f32LeafCheck(unit))).toMatch(/audit path/);
  });
}
