/**
 * The CPU path in WebAssembly SIMD: int8 products on `i32x4.dot_i16x8_s` (eight int16
 * products summed pairwise into four int32 lanes per instruction), exact as int32 sums are.
 * There is no WAT toolchain at build time, so the module (≈ 300 bytes) is assembled from bytes
 * here, as matmul/matmul-simd.ts does for the other products.
 *
 * Micro-kernel: a 4-row × 2-column tile of C in 8 v128 accumulators; per step of 8 values of K
 * it loads the 4 rows' vectors of A and the 2 columns' vectors of B and does 8 dot products.
 * Operands are widened to int16 and packed so both walks are sequential: A as
 * [row quad][k step][4 rows][8], B transposed as [column pair][k step][2 columns][8], zero-padded
 * to whole quads, pairs and steps (zeros add nothing). C comes out as a padded m4 × n2 block.
 */
import { checkShape, type MatmulShape } from '../matmul/matmul';
import { get, i32, set, simd, uleb } from '../matmul/wasm-encoding';

const vload = (offset: number) => simd(0x00, 4, ...uleb(offset));
const [ADD, SUB, SHL, NE, END] = [0x6a, 0x6b, 0x74, 0x47, 0x0b];
const LOOP = [0x03, 0x40];
const REPEAT_IF = [0x0d, 0]; // br_if to the innermost loop's start
const [DOT_I16X8_S, I32X4_ADD, I32X4_EXTRACT] = [186, 174, 27];
const I32_STORE = (offset: number) => [0x36, 2, ...uleb(offset)];

/** kernel(a, b, c, quads, pairs, k8): C tiles (padded, row stride pairs·2) = A quads · B pairs, every count ≥ 1. */
function kernelBody(): number[] {
  const [a, b, c, quads, pairs, k8] = [0, 1, 2, 3, 4, 5];
  const [qi, pi, pa, pb, t, x, y, cq, cp, cr, rowStride] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
  const acc = (i: number) => 17 + i;
  const av = (r: number) => 25 + r;
  const [b0, b1] = [29, 30];
  const code: number[] = [];
  // rowStride = pairs · 8 bytes: one padded row of C.
  code.push(...get(pairs), ...i32(3), SHL, ...set(rowStride));
  code.push(...get(a), ...set(pa), ...get(c), ...set(cq), ...get(quads), ...set(qi));
  code.push(...LOOP); // row quads
  code.push(...get(b), ...set(pb), ...get(cq), ...set(cp), ...get(pairs), ...set(pi));
  code.push(...LOOP); // column pairs
  for (let i = 0; i < 8; i++) code.push(...simd(0x0c, ...new Array<number>(16).fill(0)), ...set(acc(i)));
  code.push(...get(pa), ...set(x), ...get(pb), ...set(y), ...get(k8), ...set(t));
  code.push(...LOOP); // steps of 8 along K
  code.push(...get(y), ...vload(0), ...set(b0), ...get(y), ...vload(16), ...set(b1));
  for (let r = 0; r < 4; r++) {
    code.push(...get(x), ...vload(16 * r), ...set(av(r)));
    for (let v = 0; v < 2; v++) {
      code.push(...get(acc(2 * r + v)), ...get(av(r)), ...get(v ? b1 : b0), ...simd(DOT_I16X8_S), ...simd(I32X4_ADD), ...set(acc(2 * r + v)));
    }
  }
  code.push(...get(x), ...i32(64), ADD, ...set(x), ...get(y), ...i32(32), ADD, ...set(y));
  code.push(...get(t), ...i32(1), SUB, ...set(t), ...get(t), ...i32(0), NE, ...REPEAT_IF, END);
  // Each accumulator's four lanes summed into its element of C.
  code.push(...get(cp), ...set(cr));
  for (let r = 0; r < 4; r++) {
    for (let v = 0; v < 2; v++) {
      code.push(...get(cr));
      for (let lane = 0; lane < 4; lane++) {
        code.push(...get(acc(2 * r + v)), ...simd(I32X4_EXTRACT, lane));
        if (lane > 0) code.push(ADD);
      }
      code.push(...I32_STORE(4 * v));
    }
    code.push(...get(cr), ...get(rowStride), ADD, ...set(cr));
  }
  // y now starts the next column pair; x, after the last pair, the next row quad.
  code.push(...get(y), ...set(pb), ...get(cp), ...i32(8), ADD, ...set(cp));
  code.push(...get(pi), ...i32(1), SUB, ...set(pi), ...get(pi), ...i32(0), NE, ...REPEAT_IF, END);
  code.push(...get(x), ...set(pa), ...get(cq), ...get(rowStride), ...i32(2), SHL, ADD, ...set(cq));
  code.push(...get(qi), ...i32(1), SUB, ...set(qi), ...get(qi), ...i32(0), NE, ...REPEAT_IF, END);
  code.push(END);
  // Locals: 11 i32 after the 6 parameters, then 14 v128 (8 accumulators, 4 rows of A, 2 columns of B).
  const locals = [2, 11, 0x7f, 14, 0x7b];
  return [...locals, ...code];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}
const name = (s: string) => [s.length, ...[...s].map((ch) => ch.charCodeAt(0))];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const body = kernelBody();
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 6, ...new Array<number>(6).fill(0x7f), 0]), // (i32 × 6) → ()
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 1]), // one memory, at least one page, grown as needed
    ...section(7, [2, ...name('memory'), 2, 0, ...name('kernel'), 0, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

interface Instance {
  readonly memory: WebAssembly.Memory;
  readonly kernel: (a: number, b: number, c: number, quads: number, pairs: number, k8: number) => void;
}

let instance: Instance | null | undefined;

/** The module's instance, or null where WebAssembly SIMD is missing (the plain-JS path runs then). */
export function i8Simd(): Instance | null {
  if (instance !== undefined) return instance;
  const bytes = moduleBytes();
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return (instance = null);
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as Instance;
  return (instance = exports);
}

const ceilTo = (x: number, k: number) => Math.ceil(x / k) * k;

/** B (k×n) widened and packed for the kernel: [column pair][k step][2 columns][8]. Once per unit. */
export function packBForSimd(b: Int8Array, k: number, n: number): Int16Array {
  const k8 = ceilTo(k, 8) / 8;
  const pairs = ceilTo(n, 2) / 2;
  const out = new Int16Array(pairs * k8 * 16);
  for (let t = 0; t < k; t++) {
    const step = t >> 3;
    const lane = t & 7;
    for (let j = 0; j < n; j++) out[((j >> 1) * k8 + step) * 16 + (j & 1) * 8 + lane] = b[t * n + j]!;
  }
  return out;
}

/**
 * Rows [rowStart, rowEnd) of C = A·B into the same rows of `out` (m×n), `bPacked` from
 * packBForSimd. Returns false (nothing written) where WebAssembly SIMD is missing.
 */
export function matmulI8RowsSimd(a: Int8Array, bPacked: Int16Array, shape: MatmulShape, rowStart: number, rowEnd: number, out: Int32Array): boolean {
  const wasm = i8Simd();
  if (!wasm) return false;
  checkShape(shape, a.length, shape.k * shape.n);
  const { n, k } = shape;
  const rows = rowEnd - rowStart;
  if (rows <= 0) return true;
  const k8 = ceilTo(k, 8) / 8;
  const quads = ceilTo(rows, 4) / 4;
  const pairs = ceilTo(n, 2) / 2;
  if (bPacked.length !== pairs * k8 * 16) throw new RangeError(`packed B has ${bPacked.length} values, not ${pairs * k8 * 16}`);
  const aBytes = quads * k8 * 64;
  const bBytes = bPacked.byteLength;
  const cBytes = quads * 4 * pairs * 8;
  const need = aBytes + bBytes + cBytes;
  const have = wasm.memory.buffer.byteLength;
  if (need > have) wasm.memory.grow(Math.ceil((need - have) / 65536));
  const memory = wasm.memory.buffer;
  // A's band widened into [quad][k step][4 rows][8]; padding zeroed.
  const aPacked = new Int16Array(memory, 0, aBytes / 2).fill(0);
  for (let r = 0; r < rows; r++) {
    const base = (r >> 2) * k8 * 32 + (r & 3) * 8;
    const ar = (rowStart + r) * k;
    for (let t = 0; t < k; t++) aPacked[base + (t >> 3) * 32 + (t & 7)] = a[ar + t]!;
  }
  new Int16Array(memory, aBytes, bBytes / 2).set(bPacked);
  wasm.kernel(0, aBytes, aBytes + bBytes, quads, pairs, k8);
  const c = new Int32Array(memory, aBytes + bBytes, quads * 4 * pairs * 2);
  for (let r = 0; r < rows; r++) out.set(c.subarray(r * pairs * 2, r * pairs * 2 + n), (rowStart + r) * n);
  return true;
}
