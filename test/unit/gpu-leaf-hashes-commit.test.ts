import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { jobUnit } from '../../src/host/job';
import { sentResult } from '../../src/volunteer/results';
import { seededRandom } from '../../src/work/seeded';

/** A result committed from leaf hashes computed elsewhere (the GPU) commits the root the CPU tree has. */
describe('sentResult with leaf hashes', () => {
  let hash: Hasher;
  beforeAll(async () => {
    hash = await createCpuSha256();
  });
  const unit = jobUnit({ id: 'g', kernel: 'matmul-f32', units: 1, m: 13, n: 7, k: 5, seed: 9, samples: 1 }, 0);
  const random = seededRandom(5);
  const leaves = Uint8Array.from({ length: 13 * 28 }, () => Math.floor(random() * 256));

  it('commits the same root and tree as hashing the leaves', async () => {
    const cpu = buildMerkleTreeOfChunks(leaves, 28, hash);
    const leafHashes = new Uint8Array(cpu.levels[0]!.flatMap((h) => [...h]));
    const plain = sentResult(unit, { leaves, leafBytes: 28, backend: 'webgpu' }, 13, hash);
    const fromHashes = sentResult(unit, { leaves, leafBytes: 28, backend: 'webgpu', leafHashes }, 13, hash);
    expect(fromHashes.root).toBe(plain.root);
    expect(fromHashes.root).toBe(toHex(cpu.root));
    expect(fromHashes.tree.levels.map((l) => l.map(toHex))).toEqual(plain.tree.levels.map((l) => l.map(toHex)));
  });

  it('falls back to hashing the leaves when the given hashes do not match them, or do not cover them', async () => {
    const cpu = buildMerkleTreeOfChunks(leaves, 28, hash);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    for (const at of [0, 12]) {
      const leafHashes = new Uint8Array(cpu.levels[0]!.flatMap((h) => [...h]));
      leafHashes[at * 32 + 5]! ^= 0x10;
      const sent = sentResult(unit, { leaves, leafBytes: 28, backend: 'webgpu', leafHashes }, 13, hash);
      expect(sent.root).toBe(toHex(cpu.root));
    }
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
    const short = new Uint8Array(cpu.levels[0]!.slice(1).flatMap((h) => [...h]));
    expect(sentResult(unit, { leaves, leafBytes: 28, backend: 'webgpu', leafHashes: short }, 13, hash).root).toBe(toHex(cpu.root));
  });
});
