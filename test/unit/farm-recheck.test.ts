import { describe, expect, it } from 'vitest';
import { Recheck, recheck, referenceOutput, rootOf } from '../../scripts/farm/reference';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { jobUnit, type JobSpec } from '../../src/host/job';
import { matmulOperands } from '../../src/kernels/matmul/inputs';
import type { MatmulUnit } from '../../src/protocol';

const f32: JobSpec = { id: 'f', kernel: 'matmul-f32', units: 1, m: 12, n: 9, k: 200, seed: 4, verify: { policy: 'freivalds' }, collect: true };
const modp: JobSpec = { id: 'm', kernel: 'matmul-modp', units: 1, m: 6, n: 5, k: 7, p: 65521, seed: 4, verify: { policy: 'freivalds' }, collect: true };

/** C summed in f32, in reverse order: another device's honest rounding. */
function otherDevice(unit: MatmulUnit): Float32Array {
  const { a, b } = matmulOperands(unit) as { a: Float32Array; b: Float32Array };
  const c = new Float32Array(unit.m * unit.n);
  for (let i = 0; i < unit.m; i++)
    for (let j = 0; j < unit.n; j++) {
      let s = Math.fround(0);
      for (let t = unit.k - 1; t >= 0; t--) s = Math.fround(s + Math.fround(a[i * unit.k + t]! * b[t * unit.n + j]!));
      c[i * unit.n + j] = s;
    }
  return c;
}

describe("the farm's own recheck of accepted results", () => {
  it('checks a collected f32 C element by element within the error bound, and its root', async () => {
    const hash = await createCpuSha256();
    const unit = jobUnit(f32, 0) as MatmulUnit;
    const honest = new Uint8Array(otherDevice(unit).buffer);
    const root = toHex(buildMerkleTreeOfChunks(honest, 4 * unit.n, hash).root);
    const reader = (bytes: Uint8Array) => async () => bytes;
    expect(await recheck(f32, 0, { root }, hash, reader(honest))).toBe(Recheck.Right);
    const off = new Float32Array(honest.slice().buffer);
    off[50] = off[50]! + 0.5;
    const offBytes = new Uint8Array(off.buffer);
    const offRoot = toHex(buildMerkleTreeOfChunks(offBytes, 4 * unit.n, hash).root);
    expect(await recheck(f32, 0, { root: offRoot }, hash, reader(offBytes))).toBe(Recheck.Wrong);
    // A C that does not hash to the accepted root is wrong whatever its values.
    expect(await recheck(f32, 0, { root: offRoot }, hash, reader(honest))).toBe(Recheck.Wrong);
    expect(await recheck(f32, 0, { root }, hash)).toBe(Recheck.Unchecked);
    expect(await recheck(f32, 0, { root }, hash, async () => undefined)).toBe(Recheck.Unchecked);
  });

  it('compares exact kernels by root and, when collected, by bytes', async () => {
    const hash = await createCpuSha256();
    const out = await referenceOutput(jobUnit(modp, 0), hash);
    const root = rootOf(out, hash);
    expect(await recheck(modp, 0, { root }, hash, async () => out.leaves)).toBe(Recheck.Right);
    expect(await recheck(modp, 0, { root: 'ab'.repeat(32) }, hash)).toBe(Recheck.Wrong);
    const swapped = out.leaves.slice();
    swapped[0] = swapped[0]! ^ 1;
    expect(await recheck(modp, 0, { root }, hash, async () => swapped)).toBe(Recheck.Wrong);
  });
});
