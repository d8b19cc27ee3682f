/**
 * docs/seeded-inputs.md against the code: test/helpers/seeded-spec.ts implements the document
 * again from its text alone, and every value here is computed both ways. The document's worked
 * examples must appear in it verbatim, so neither the code, the helper nor the page can change
 * without this file failing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildMerkleTree, buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { sha256Ref } from '../../src/hash/sha256-ref';
import { toHex } from '../../src/hex';
import { parseJob } from '../../src/host/job';
import { jobUnit } from '../../src/kernels/host-registry';
import { f32Operands, modpOperands } from '../../src/kernels/matmul/inputs';
import { matmulF32Host } from '../../src/kernels/matmul-f32/host';
import { i8Operands } from '../../src/kernels/matmul-i8/inputs';
import { matmulI8Host } from '../../src/kernels/matmul-i8/host';
import { matmulModpHost } from '../../src/kernels/matmul-modp/host';
import { sha256BatchHost } from '../../src/kernels/sha256-batch/host';
import { sha256BatchInputs } from '../../src/kernels/sha256-batch/inputs';
import { powHost } from '../../src/kernels/sha256d-pow/host';
import { powHeader, powInputs } from '../../src/kernels/sha256d-pow/inputs';
import { NONCE_OFFSET, PowHasher, meetsTarget, sha256d as codeSha256d, targetFromLeadingZeroBits } from '../../src/kernels/sha256d-pow/pow';
import { checkPowResult, sharesRoot } from '../../src/kernels/sha256d-pow/recheck';
import type { WorkUnit } from '../../src/kernels/units';
import { commitmentBytes, unitInputDigest } from '../../src/proof/commitment';
import { mix32 as codeMix32, seededRandom, unitSeed as codeUnitSeed } from '../../src/work/seeded';
import * as doc from '../helpers/seeded-spec';

const hash = (...parts: Uint8Array[]) => sha256Ref(...parts);
const random = seededRandom(0x5eed);
const randomWord = () => Math.floor(random() * 2 ** 32);
const SEEDS = [0, 1, 7, 42, 0x7fffffff, 0x80000000, 0xffffffff, randomWord(), randomWord()];

/** The job as tabgrid parses it, and unit `index` of it as tabgrid derives it. */
function codeUnit(spec: Record<string, unknown>, index: number): WorkUnit {
  return jobUnit(parseJob(spec), index);
}

/** A unit, as the document derives it, equal to tabgrid's: the same fields in the same order. */
function sameUnit(spec: doc.SeededJob & { readonly units: number }, index: number): WorkUnit {
  const unit = codeUnit(spec, index);
  const mine = doc.unitOf(spec, index);
  expect(unit).toEqual(mine);
  expect(Object.keys(unit)).toEqual(Object.keys(mine));
  return unit;
}

/** A matrix unit's operands and its reference output, by tabgrid's code. */
function codeMatrix(unit: WorkUnit) {
  switch (unit.kernel) {
    case 'matmul-f32':
      return { operands: f32Operands(unit), reference: matmulF32Host.checks.reference(unit) };
    case 'matmul-modp':
      return { operands: modpOperands(unit), reference: matmulModpHost.checks.reference(unit) };
    case 'matmul-i8':
      return { operands: i8Operands(unit), reference: matmulI8Host.checks.reference(unit) };
    case 'sha256-batch':
    case 'sha256d-pow':
      throw new Error(`${unit.kernel} is not a matrix kernel`);
  }
}

describe('docs/seeded-inputs.md, implemented again from the page, against the code', () => {
  it('§2 mix32: the same word for edge values and random ones', () => {
    for (const x of [0, 1, 2, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) expect(doc.mix32(x)).toBe(codeMix32(x));
    for (let i = 0; i < 3000; i++) {
      const x = randomWord();
      expect(doc.mix32(x)).toBe(codeMix32(x));
    }
  });

  it('§3 unit seeds: unit i of a job seeded s', () => {
    for (const s of SEEDS) for (const i of [0, 1, 2, 999_999, randomWord() % 1_000_000]) expect(doc.unitSeed(s, i)).toBe(codeUnitSeed(s, i));
  });

  it('§3/§5 sha256-batch: units, messages of odd lengths, digests and roots', () => {
    for (const [s, length, count] of [
      [SEEDS[0]!, 0, 1],
      [SEEDS[2]!, 1, 3],
      [SEEDS[3]!, 3, 5],
      [SEEDS[4]!, 5, 2],
      [SEEDS[6]!, 63, 4],
      [SEEDS[7]!, 64, 3],
      [SEEDS[8]!, 65, 7],
      [SEEDS[5]!, 4096, 2],
    ] as const) {
      const spec = { kernel: 'sha256-batch', id: `sha-${length}`, units: 5, seed: s, messagesPerUnit: count, messageLength: length, samples: 1 } as const;
      for (const index of [0, 4]) {
        const unit = sameUnit(spec, index);
        if (unit.kernel !== 'sha256-batch') throw new Error('not a hashing unit');
        const mine = doc.sha256Unit(unit.seed, count, length);
        const messages = sha256BatchInputs(unit);
        mine.messages.forEach((message, j) => expect(toHex(messages.message(j))).toBe(doc.hex(message)));
        const output = sha256BatchHost.checks.reference(unit, hash);
        expect(toHex(output)).toBe(mine.digests.map(doc.hex).join(''));
        expect(toHex(buildMerkleTreeOfChunks(output, 32, hash).root)).toBe(mine.root);
      }
    }
  });

  it('§3/§6 matrix kernels: units, elements, the reference product and its rows, every kernel', () => {
    const shapes = [
      { m: 1, n: 1, k: 1 },
      { m: 3, n: 5, k: 7 },
      { m: 17, n: 2, k: 33 },
      { m: 4, n: 9, k: 1 },
    ];
    let checked = 0;
    for (const [at, shape] of shapes.entries()) {
      for (const s of [SEEDS[at]!, SEEDS[at + 4]!]) {
        for (const [kernel, p] of [
          ['matmul-f32', 0],
          ['matmul-modp', 65521],
          ['matmul-modp', 7],
          ['matmul-modp', 2],
          ['matmul-i8', 0],
        ] as const) {
          const spec =
            kernel === 'matmul-modp'
              ? ({ kernel, id: `mm-${at}`, units: 3, seed: s, ...shape, p, samples: 1 } as const)
              : ({ kernel, id: `mm-${at}`, units: 3, seed: s, ...shape, samples: 1 } as const);
          const unit = sameUnit(spec, 2);
          if (unit.kernel !== kernel) throw new Error(`not a ${kernel} unit`);
          const a = doc.operand(kernel, unit.seed, 1, shape.m * shape.k, p);
          const b = doc.operand(kernel, unit.seed, 2, shape.k * shape.n, p);
          const { operands: code, reference: output } = codeMatrix(unit);
          expect(Array.from(code.a)).toEqual(a);
          expect(Array.from(code.b)).toEqual(b);
          const mine = doc.matrixUnit({ kernel, seed: unit.seed, ...shape, p });
          expect(toHex(output)).toBe(mine.rows.map(doc.hex).join(''));
          expect(toHex(buildMerkleTreeOfChunks(output, 4 * shape.n, hash).root)).toBe(mine.root);
          checked++;
        }
      }
    }
    expect(checked).toBe(shapes.length * 2 * 5);
  });

  it('§6 element formulas: f32 values are exact multiples of 2^-23 in [-1, 1), i8 covers both extremes', () => {
    expect(doc.f32Element(0)).toBe(-1);
    expect(doc.f32Element(0xffffffff)).toBe(1 - 2 ** -23);
    expect(doc.f32Element(0x80000000)).toBe(0);
    expect(doc.f32Element(0x800000ff)).toBe(0);
    expect(doc.i8Element(0x80000000)).toBe(-128);
    expect(doc.i8Element(0x7fffffff)).toBe(127);
    expect(doc.i8Element(0xffffffff)).toBe(-1);
    expect(doc.modpElement(0xffffffff, 65521)).toBe(0xffffffff % 65521);
    for (let i = 0; i < 500; i++) {
      const v = doc.f32Element(randomWord());
      expect(Math.fround(v)).toBe(v);
      expect(Number.isInteger(v * 2 ** 23)).toBe(true);
    }
  });

  it('§7 targets: T(z) for every z, and the comparison as little-endian 256-bit integers', () => {
    for (let z = 0; z <= 256; z++) expect(doc.hex(doc.leadingZeroTarget(z))).toBe(toHex(targetFromLeadingZeroBits(z)));
    expect(doc.hex(doc.leadingZeroTarget(12))).toBe(`${'ff'.repeat(30)}0f00`);
    const bytes = () => Uint8Array.from({ length: 32 }, () => randomWord() & 0xff);
    for (let i = 0; i < 300; i++) {
      const x = bytes();
      const y = i % 3 === 0 ? x.slice() : bytes();
      // Mostly-equal pairs exercise the byte-by-byte comparison past its first byte.
      if (i % 3 === 1) y.set(x.subarray(8), 8);
      expect(doc.meets(x, y)).toBe(meetsTarget(x, y));
      expect(doc.meets(y, x)).toBe(meetsTarget(y, x));
    }
  });

  it('§7 sha256d-pow: units (seeded and given headers), the nonce in the header, hashes, shares and roots', async () => {
    const header = doc.hex(doc.streamBytes(0xabcdef, 3, 80));
    const specs = [
      { kernel: 'sha256d-pow', id: 'pow-a', units: 3, seed: 5, noncesPerUnit: 512, shareBits: 5, targetBits: 9 },
      { kernel: 'sha256d-pow', id: 'pow-b', units: 2, seed: 0xffffffff, nonceStart: 0xffffffff - 2 * 300 + 1, noncesPerUnit: 300, shareBits: 4, targetBits: 4 },
      { kernel: 'sha256d-pow', id: 'pow-c', units: 4, seed: 0, header, nonceStart: 123_456, noncesPerUnit: 640, shareBits: 5, targetBits: 7 },
    ] as const;
    for (const spec of specs) {
      expect(powHeader(spec)).toBe('header' in spec ? header : doc.hex(doc.seededHeader(spec.seed)));
      for (let index = 0; index < spec.units; index++) {
        const unit = sameUnit(spec, index);
        if (unit.kernel !== 'sha256d-pow') throw new Error('not a proof-of-work unit');
        const inputs = powInputs(unit);
        const hasher = new PowHasher(inputs.header);
        for (const nonce of [unit.nonceStart, unit.nonceStart + unit.nonceCount - 1]) {
          const withNonce = doc.withNonce(inputs.header, nonce);
          const codeBytes = inputs.header.slice();
          new DataView(codeBytes.buffer).setUint32(NONCE_OFFSET, nonce, true);
          expect(doc.hex(withNonce)).toBe(toHex(codeBytes));
          expect(doc.hex(doc.sha256d(withNonce))).toBe(toHex(hasher.hash(nonce)));
          expect(doc.hex(doc.sha256d(withNonce))).toBe(toHex(codeSha256d(codeBytes)));
        }
        const mine = doc.powSearch(inputs.header, unit.nonceStart, unit.nonceCount, inputs.target, inputs.shareTarget);
        const found = await powHost.checks.search(unit, new AbortController().signal);
        expect(found).toEqual(mine);
        const root = doc.hex(doc.mth(mine.shares.map(doc.shareLeaf)));
        expect(sharesRoot(mine.shares, hash)).toBe(root);
        expect(checkPowResult(unit, root, mine.shares, hash)).toEqual({ solutions: mine.solutions });
      }
    }
    expect(sharesRoot([], hash)).toBe(doc.hex(doc.mth([])));
    expect(doc.hex(doc.mth([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('§8 the Merkle tree by its recursive definition equals the tree built level by level, for 0..70 leaves', () => {
    for (let count = 0; count <= 70; count++) {
      const leaves = Array.from({ length: count }, (_, i) => doc.streamBytes(count, i, (i * 7) % 40));
      expect(doc.hex(doc.mth(leaves))).toBe(toHex(buildMerkleTree(count, (i) => leaves[i]!, hash).root));
    }
  });

  it('§9 input digests and the signed commitment bytes, every kernel', () => {
    const units: WorkUnit[] = [
      codeUnit(doc.EXAMPLE_JOBS.sha, 1),
      codeUnit(doc.EXAMPLE_JOBS.f32, 0),
      codeUnit(doc.EXAMPLE_JOBS.modp, 2),
      codeUnit(doc.EXAMPLE_JOBS.i8, 1),
      codeUnit(doc.EXAMPLE_JOBS.pow, 3),
      codeUnit({ kernel: 'sha256-batch', id: 'x.y_z-1', units: 9, seed: SEEDS[7], messagesPerUnit: 11, messageLength: 0, replicate: true }, 8),
    ];
    for (const unit of units) {
      // Seeded units carry plain fields only (dataset units add slices, docs/datasets).
      const record = { ...unit } as Record<string, string | number>;
      expect(doc.inputDigest(record)).toBe(unitInputDigest(unit));
      const root = doc.hex(doc.sha256(new TextEncoder().encode(unit.unitId)));
      const signed = commitmentBytes({ jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root });
      expect(new TextDecoder().decode(signed)).toBe(doc.commitmentText(record, root));
    }
  });

  it('§10 every worked example is on the page verbatim', () => {
    const page = readFileSync(new URL('../../docs/seeded-inputs.md', import.meta.url), 'utf8');
    const lines = doc.workedExamples();
    expect(lines.length).toBeGreaterThan(40);
    for (const line of lines) expect(page, `docs/seeded-inputs.md lacks the line: ${line}`).toContain(`\n${line}\n`);
    // The page's constants are the ones mix32 uses.
    for (const constant of ['0x7feb352d', '0x846ca68b']) expect(page).toContain(constant);
  });

  it('§10 the worked examples are the code’s values', async () => {
    const sha = codeUnit(doc.EXAMPLE_JOBS.sha, 1);
    if (sha.kernel !== 'sha256-batch') throw new Error('not a hashing unit');
    expect(toHex(sha256BatchInputs(sha).message(0))).toBe('0342708bf5b45f871619');
    expect(toHex(buildMerkleTreeOfChunks(sha256BatchHost.checks.reference(sha, hash), 32, hash).root)).toBe(
      'a91d59d55294de343ecc55eb9f8d08913621589b3ef6b25b07ad93ca774aa3c6',
    );
    expect(unitInputDigest(sha)).toBe('cd70df6e7d142ebed558a3d0ce93d7fcde5bc53ea6925fae50fd6446f8d3c717');
    const i8 = codeUnit(doc.EXAMPLE_JOBS.i8, 0);
    if (i8.kernel !== 'matmul-i8') throw new Error('not an int8 unit');
    expect(Array.from(i8Operands(i8).a)).toEqual([-5, -41, 13, 40]);
    expect(toHex(matmulI8Host.checks.reference(i8))).toBe('42070000f7eeffff6afbffffb7f5ffff1d0e000014030000');
    const pow = codeUnit(doc.EXAMPLE_JOBS.pow, 1);
    if (pow.kernel !== 'sha256d-pow') throw new Error('not a proof-of-work unit');
    const found = await powHost.checks.search(pow, new AbortController().signal);
    expect(found.solutions).toEqual([4364, 6905, 7070]);
    expect(sharesRoot(found.shares, hash)).toBe('5d8e7ea6002ec35ae54d538d35d2439dae0b34ad77f754e8b93f1a7fef13e770');
  });
});
