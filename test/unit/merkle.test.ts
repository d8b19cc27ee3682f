import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/hex';
import { buildMerkleTree, merklePath, merklePathLength, verifyMerklePath } from '../../src/hash/merkle';
import { sha256Ref } from '../../src/hash/sha256-ref';

const hash = sha256Ref;
const hex = (h: string) => fromHex(h)!;

// The Certificate Transparency reference inputs and tree heads for sizes 1..8 (RFC 6962 trees).
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_PATHS = [
  {
    index: 0,
    path: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    path: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

/** RFC 6962's recursive definition, written out literally, to check the level-by-level build. */
function mth(data: Uint8Array[]): Uint8Array {
  if (data.length === 1) return hash(Uint8Array.of(0), data[0]!);
  let k = 1;
  while (k * 2 < data.length) k *= 2;
  return hash(Uint8Array.of(1), mth(data.slice(0, k)), mth(data.slice(k)));
}

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => Uint8Array.of(i & 0xff, i >> 8, 0x5a));

describe('Merkle tree (RFC 6962 shape)', () => {
  it('gives the Certificate Transparency tree heads for sizes 1..8', () => {
    for (let n = 1; n <= 8; n++) {
      expect(toHex(buildMerkleTree(n, (i) => CT_LEAVES[i]!, hash).root), `size ${n}`).toBe(CT_ROOTS[n - 1]);
    }
  });

  it('gives the published audit paths and verifies them', () => {
    const tree = buildMerkleTree(8, (i) => CT_LEAVES[i]!, hash);
    for (const { index, path } of CT_PATHS) {
      expect(merklePath(tree, index).map(toHex)).toEqual(path);
      expect(verifyMerklePath(tree.root, 8, index, CT_LEAVES[index]!, path.map(hex), hash)).toBe(true);
    }
  });

  it('equals the recursive definition for every size up to 70', () => {
    for (let n = 1; n <= 70; n++) {
      const data = leavesOf(n);
      expect(toHex(buildMerkleTree(n, (i) => data[i]!, hash).root), `size ${n}`).toBe(toHex(mth(data)));
    }
  });

  it("verifies every leaf's path in every size up to 40, and nothing tampered", () => {
    for (let n = 1; n <= 40; n++) {
      const data = leavesOf(n);
      const tree = buildMerkleTree(n, (i) => data[i]!, hash);
      for (let i = 0; i < n; i++) {
        const path = merklePath(tree, i);
        expect(path.length).toBe(merklePathLength(i, n));
        expect(verifyMerklePath(tree.root, n, i, data[i]!, path, hash)).toBe(true);
        // Wrong leaf data, a flipped path bit, a wrong index or size, a short path: all fail.
        expect(verifyMerklePath(tree.root, n, i, Uint8Array.of(0xff), path, hash)).toBe(false);
        if (path.length > 0) {
          const bent = path.map((p) => p.slice());
          bent[0]![0]! ^= 1;
          expect(verifyMerklePath(tree.root, n, i, data[i]!, bent, hash)).toBe(false);
          expect(verifyMerklePath(tree.root, n, i, data[i]!, path.slice(1), hash)).toBe(false);
        }
        if (n > 1) expect(verifyMerklePath(tree.root, n, (i + 1) % n, data[i]!, path, hash)).toBe(false);
        expect(verifyMerklePath(tree.root, n, n, data[i]!, path, hash)).toBe(false);
        expect(verifyMerklePath(tree.root, n, -1, data[i]!, path, hash)).toBe(false);
      }
    }
  });

  it('keeps a leaf from passing for an inner node (second-preimage guard)', () => {
    const data = leavesOf(4);
    const tree = buildMerkleTree(4, (i) => data[i]!, hash);
    // Present the two level-1 nodes as the "data" of a 2-leaf tree: must not give the same root.
    const forged = buildMerkleTree(2, (i) => tree.levels[1]![i]!, hash);
    expect(toHex(forged.root)).not.toBe(toHex(tree.root));
  });

  it('gives the empty tree the RFC 6962 root and refuses a negative count', () => {
    expect(() => buildMerkleTree(-1, () => new Uint8Array(), hash)).toThrow(RangeError);
    // RFC 6962 §2.1: MTH({}) = SHA-256() (the empty-tree vector of the CT test suite).
    expect(toHex(buildMerkleTree(0, () => new Uint8Array(), hash).root)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
