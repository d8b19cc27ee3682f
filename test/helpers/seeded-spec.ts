/**
 * docs/seeded-inputs.md, implemented again from the document alone: it imports nothing from
 * src/, computes with BigInt and node:crypto where the code uses Math.imul, DataView and its own
 * SHA-256, and builds the Merkle tree by RFC 6962's recursive definition where the code builds it
 * level by level. test/unit/seeded-spec.test.ts checks it against tabgrid's own derivation and
 * checks that the document's worked examples are the lines workedExamples() prints.
 */
import { createHash } from 'node:crypto';

const MASK = 0xffffffffn;

/** §2: mix32 ("lowbias32") with every step taken modulo 2^32 in exact integer arithmetic. */
export function mix32(value: number): number {
  let x = BigInt(value) & MASK;
  x ^= x >> 16n;
  x = (x * 0x7feb352dn) & MASK;
  x ^= x >> 15n;
  x = (x * 0x846ca68bn) & MASK;
  x ^= x >> 16n;
  return Number(x);
}

const xor = (a: number, b: number) => Number((BigInt(a) ^ BigInt(b)) & MASK);
const add = (a: number, b: number) => Number((BigInt(a) + BigInt(b)) & MASK);

/** §3: the seed of unit `index` of a job seeded `jobSeed`. */
export function unitSeed(jobSeed: number, index: number): number {
  return mix32(xor(jobSeed, mix32(index + 1)));
}

/** §4: word e of the stream (seed, tag). */
export function streamWord(seed: number, tag: number, e: number): number {
  const base = mix32(xor(seed, mix32(tag)));
  return mix32(add(base, e));
}

/** §4: the first `length` bytes of the stream (seed, tag), each word little-endian. */
export function streamBytes(seed: number, tag: number, length: number): Uint8Array {
  const out = Buffer.alloc(Math.ceil(length / 4) * 4);
  for (let t = 0; t < out.length / 4; t++) out.writeUInt32LE(streamWord(seed, tag, t), 4 * t);
  return new Uint8Array(out.subarray(0, length));
}

/** §6: the three element formulas, from one word w. */
export const f32Element = (w: number) => (Math.floor(w / 256) - 2 ** 23) / 2 ** 23;
export const modpElement = (w: number, p: number) => w % p;
export const i8Element = (w: number) => {
  const top = Math.floor(w / 2 ** 24);
  return top >= 128 ? top - 256 : top;
};

export type MatrixKernel = 'matmul-f32' | 'matmul-modp' | 'matmul-i8';

/** §6: operand A (tag 1, m×k) or B (tag 2, k×n) of a unit, row-major. */
export function operand(kernel: MatrixKernel, seed: number, tag: 1 | 2, length: number, p: number): number[] {
  const element = (w: number) => {
    switch (kernel) {
      case 'matmul-f32':
        return f32Element(w);
      case 'matmul-modp':
        return modpElement(w, p);
      case 'matmul-i8':
        return i8Element(w);
    }
  };
  return Array.from({ length }, (_, e) => element(streamWord(seed, tag, e)));
}

export interface MatrixUnit {
  readonly kernel: MatrixKernel;
  readonly seed: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly p: number;
}

/** §6: C = A·B as the reference computes it, element (i, j) at i·n + j. */
export function productC(unit: MatrixUnit): number[] {
  const { kernel, seed, m, n, k, p } = unit;
  const a = operand(kernel, seed, 1, m * k, p);
  const b = operand(kernel, seed, 2, k * n, p);
  const c: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      if (kernel === 'matmul-modp') {
        let sum = 0n;
        for (let t = 0; t < k; t++) sum += BigInt(a[i * k + t]!) * BigInt(b[t * n + j]!);
        c.push(Number(sum % BigInt(p)));
      } else {
        let sum = 0;
        for (let t = 0; t < k; t++) sum += a[i * k + t]! * b[t * n + j]!;
        c.push(kernel === 'matmul-f32' ? Math.fround(sum) : sum);
      }
    }
  }
  return c;
}

/** §6: row i of C as its leaf: n elements, 4 bytes each, little-endian. */
export function rowLeaf(kernel: MatrixKernel, c: readonly number[], n: number, i: number): Uint8Array {
  const out = Buffer.alloc(4 * n);
  for (let j = 0; j < n; j++) {
    const x = c[i * n + j]!;
    switch (kernel) {
      case 'matmul-f32':
        out.writeFloatLE(x, 4 * j);
        break;
      case 'matmul-modp':
        out.writeUInt32LE(x, 4 * j);
        break;
      case 'matmul-i8':
        out.writeInt32LE(x, 4 * j);
        break;
    }
  }
  return new Uint8Array(out);
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** §8: RFC 6962's Merkle Tree Hash, by its recursive definition. */
export function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Uint8Array.of(0), leaves[0]!);
  let split = 1;
  while (split * 2 < leaves.length) split *= 2;
  return sha256(Uint8Array.of(1), mth(leaves.slice(0, split)), mth(leaves.slice(split)));
}

/** §7: the header of a job that names none: the first 80 bytes of the stream (job seed, tag 0). */
export const seededHeader = (jobSeed: number) => streamBytes(jobSeed, 0, 80);

/** §7: the header with `nonce` written into bytes 76..79, little-endian. */
export function withNonce(header: Uint8Array, nonce: number): Uint8Array {
  const out = Buffer.from(header);
  out.writeUInt32LE(nonce, 76);
  return new Uint8Array(out);
}

export const sha256d = (bytes: Uint8Array) => sha256(sha256(bytes));

/** §7: 32 bytes as a little-endian 256-bit integer (byte 31 most significant). */
export const leInteger = (bytes: Uint8Array) => BigInt('0x' + (hex(Uint8Array.from(bytes).reverse()) || '0'));

/** §7: 2^(256 − z) − 1 as 32 little-endian bytes. */
export function leadingZeroTarget(z: number): Uint8Array {
  const value = (1n << BigInt(256 - z)) - 1n;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

export const meets = (hash: Uint8Array, target: Uint8Array) => leInteger(hash) <= leInteger(target);

/** §7: the shares (ascending) of nonces [start, start + count) and the solutions among them. */
export function powSearch(header: Uint8Array, start: number, count: number, target: Uint8Array, shareTarget: Uint8Array) {
  const shares: number[] = [];
  const solutions: number[] = [];
  for (let nonce = start; nonce < start + count; nonce++) {
    const hash = sha256d(withNonce(header, nonce));
    if (meets(hash, shareTarget)) shares.push(nonce);
    if (meets(hash, target)) solutions.push(nonce);
  }
  return { shares, solutions };
}

/** §7: a share's leaf: the nonce as 4 little-endian bytes. */
export function shareLeaf(nonce: number): Uint8Array {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(nonce);
  return new Uint8Array(out);
}

/** §3: the job fields a unit is derived from (only those the derivation reads). */
export type SeededJob =
  | { readonly kernel: 'sha256-batch'; readonly id: string; readonly seed: number; readonly messagesPerUnit: number; readonly messageLength: number }
  | { readonly kernel: 'matmul-f32' | 'matmul-i8'; readonly id: string; readonly seed: number; readonly m: number; readonly n: number; readonly k: number }
  | {
      readonly kernel: 'matmul-modp';
      readonly id: string;
      readonly seed: number;
      readonly m: number;
      readonly n: number;
      readonly k: number;
      readonly p: number;
    }
  | {
      readonly kernel: 'sha256d-pow';
      readonly id: string;
      readonly seed: number;
      readonly header?: string;
      readonly nonceStart?: number;
      readonly noncesPerUnit: number;
      readonly shareBits: number;
      readonly targetBits: number;
    };

/** §3: unit `index` of a job, every field. */
export function unitOf(job: SeededJob, index: number): Record<string, string | number> {
  const ids = { kernel: job.kernel, jobId: job.id, unitId: `${job.id}/${index}` };
  switch (job.kernel) {
    case 'sha256-batch':
      return { ...ids, seed: unitSeed(job.seed, index), count: job.messagesPerUnit, messageLength: job.messageLength };
    case 'matmul-f32':
    case 'matmul-i8':
      return { ...ids, seed: unitSeed(job.seed, index), m: job.m, n: job.n, k: job.k, p: 0 };
    case 'matmul-modp':
      return { ...ids, seed: unitSeed(job.seed, index), m: job.m, n: job.n, k: job.k, p: job.p };
    case 'sha256d-pow':
      return {
        ...ids,
        header: job.header ?? hex(seededHeader(job.seed)),
        nonceStart: (job.nonceStart ?? 0) + index * job.noncesPerUnit,
        nonceCount: job.noncesPerUnit,
        target: hex(leadingZeroTarget(job.targetBits)),
        shareTarget: hex(leadingZeroTarget(job.shareBits)),
      };
  }
}

/** §9: the text whose SHA-256 is a unit's input digest. */
export function inputText(unit: Record<string, string | number>): string {
  const pairs = Object.keys(unit)
    .filter((name) => name !== 'jobId' && name !== 'unitId')
    .sort((x, y) => (x === y ? 0 : x < y ? -1 : 1))
    .map((name) => [name, unit[name]]);
  return JSON.stringify(['tabgrid/unit-input/v1', ...pairs]);
}

/** §9: the input digest of a unit. */
export const inputDigest = (unit: Record<string, string | number>) => hex(sha256(new TextEncoder().encode(inputText(unit))));

/** §9: the text whose UTF-8 a volunteer authenticates. */
export function commitmentText(unit: Record<string, string | number>, root: string): string {
  return JSON.stringify(['tabgrid/commitment/v1', unit.jobId, unit.unitId, unit.kernel, inputDigest(unit), root]);
}

/** §8/§5: a hashing unit's messages and its result root. */
export function sha256Unit(seed: number, count: number, length: number) {
  const messages = Array.from({ length: count }, (_, j) => streamBytes(seed, j, length));
  const digests = messages.map((message) => sha256(message));
  return { messages, digests, root: hex(mth(digests)) };
}

/** §6/§8: a matrix unit's reference C, its rows as leaves, and the root over them. */
export function matrixUnit(unit: MatrixUnit) {
  const c = productC(unit);
  const rows = Array.from({ length: unit.m }, (_, i) => rowLeaf(unit.kernel, c, unit.n, i));
  return { c, rows, root: hex(mth(rows)) };
}

const h32 = (x: number) => `0x${x.toString(16).padStart(8, '0')}`;

/** The worked-example jobs of §10. */
export const EXAMPLE_JOBS = {
  sha: { kernel: 'sha256-batch', id: 'demo-sha', units: 2, seed: 7, messagesPerUnit: 3, messageLength: 10, samples: 2 },
  f32: { kernel: 'matmul-f32', id: 'demo-mm', units: 3, seed: 42, m: 2, n: 3, k: 2, samples: 1 },
  modp: { kernel: 'matmul-modp', id: 'demo-mm', units: 3, seed: 42, m: 2, n: 3, k: 2, p: 65521, samples: 1 },
  i8: { kernel: 'matmul-i8', id: 'demo-mm', units: 3, seed: 42, m: 2, n: 3, k: 2, samples: 1 },
  pow: { kernel: 'sha256d-pow', id: 'demo-pow', units: 4, seed: 5, noncesPerUnit: 4096, shareBits: 8, targetBits: 12 },
} as const;

/** §10's lines, each of which the document must contain verbatim. */
export function workedExamples(): string[] {
  const lines: string[] = [];
  for (const x of [0, 1, 2, 42, 0xdeadbeef, 0xffffffff]) lines.push(`mix32(${h32(x)}) = ${h32(mix32(x))}`);
  for (const [s, i] of [
    [42, 0],
    [42, 1],
    [7, 1],
  ] as const) {
    lines.push(`unitSeed(${s}, ${i}) = ${h32(unitSeed(s, i))} = ${unitSeed(s, i)}`);
  }

  // sha256-batch, unit 1.
  const shaUnit = unitOf(EXAMPLE_JOBS.sha, 1);
  const seed = shaUnit.seed as number;
  lines.push(`unit: ${JSON.stringify(shaUnit)}`);
  const base0 = mix32(xor(seed, mix32(0)));
  lines.push(`message 0: base = ${h32(base0)}; words ${[0, 1, 2].map((t) => h32(streamWord(seed, 0, t))).join(' ')}`);
  const sha = sha256Unit(seed, 3, 10);
  sha.messages.forEach((message, j) => lines.push(`message ${j} = ${hex(message)}  SHA-256 = ${hex(sha.digests[j]!)}`));
  lines.push(`result root = ${sha.root}`);
  lines.push(`input text = ${inputText(shaUnit)}`);
  lines.push(`input digest = ${inputDigest(shaUnit)}`);
  lines.push(`authenticated text = ${commitmentText(shaUnit, sha.root)}`);

  // The three matrix kernels, unit 0 of the same shape and seed.
  const f32Unit = unitOf(EXAMPLE_JOBS.f32, 0);
  const mSeed = f32Unit.seed as number;
  lines.push(`unit (matmul-f32): ${JSON.stringify(f32Unit)}`);
  lines.push(`A words: ${[0, 1, 2, 3].map((e) => h32(streamWord(mSeed, 1, e))).join(' ')}`);
  lines.push(`B words: ${[0, 1, 2, 3, 4, 5].map((e) => h32(streamWord(mSeed, 2, e))).join(' ')}`);
  const shape = { seed: mSeed, m: 2, n: 3, k: 2 };
  const numerators = (tag: 1 | 2, length: number) =>
    Array.from({ length }, (_, e) => `${(Math.floor(streamWord(mSeed, tag, e) / 256) - 2 ** 23).toString()}`).join(' ');
  lines.push(`f32 A · 2^23: ${numerators(1, 4)}`);
  lines.push(`f32 B · 2^23: ${numerators(2, 6)}`);
  const f32 = matrixUnit({ kernel: 'matmul-f32', ...shape, p: 0 });
  lines.push(`f32 C: ${f32.c.join(' ')}`);
  lines.push(`f32 rows: ${f32.rows.map(hex).join(' ')}  root = ${f32.root}`);
  lines.push(`f32 input digest = ${inputDigest(f32Unit)}`);
  lines.push(`modp A: ${operand('matmul-modp', mSeed, 1, 4, 65521).join(' ')}`);
  lines.push(`modp B: ${operand('matmul-modp', mSeed, 2, 6, 65521).join(' ')}`);
  const modp = matrixUnit({ kernel: 'matmul-modp', ...shape, p: 65521 });
  lines.push(`modp C: ${modp.c.join(' ')}`);
  lines.push(`modp rows: ${modp.rows.map(hex).join(' ')}  root = ${modp.root}`);
  lines.push(`modp input digest = ${inputDigest(unitOf(EXAMPLE_JOBS.modp, 0))}`);
  lines.push(`i8 A: ${operand('matmul-i8', mSeed, 1, 4, 0).join(' ')}`);
  lines.push(`i8 B: ${operand('matmul-i8', mSeed, 2, 6, 0).join(' ')}`);
  const i8 = matrixUnit({ kernel: 'matmul-i8', ...shape, p: 0 });
  lines.push(`i8 C: ${i8.c.join(' ')}`);
  lines.push(`i8 rows: ${i8.rows.map(hex).join(' ')}  root = ${i8.root}`);

  // Proof of work, unit 1.
  const powUnit = unitOf(EXAMPLE_JOBS.pow, 1);
  lines.push(`header = ${powUnit.header as string}`);
  lines.push(`unit: ${JSON.stringify(powUnit)}`);
  const header = seededHeader(EXAMPLE_JOBS.pow.seed);
  const start = powUnit.nonceStart as number;
  const first = withNonce(header, start);
  lines.push(`header bytes 64..79 at nonce ${start} = ${hex(first.subarray(64))}`);
  const firstHash = sha256d(first);
  lines.push(`SHA-256d = ${hex(firstHash)}  (display: ${hex(firstHash.slice().reverse())})`);
  const found = powSearch(header, start, powUnit.nonceCount as number, leadingZeroTarget(12), leadingZeroTarget(8));
  lines.push(`shares (${found.shares.length}): ${found.shares.join(' ')}`);
  lines.push(`solutions: ${found.solutions.join(' ')}`);
  const best = sha256d(withNonce(header, found.solutions[0]!));
  lines.push(`SHA-256d at ${found.solutions[0]!} = ${hex(best)}  (display: ${hex(best.slice().reverse())})`);
  lines.push(`result root = ${hex(mth(found.shares.map(shareLeaf)))}`);
  lines.push(`input digest = ${inputDigest(powUnit)}`);
  return lines;
}
