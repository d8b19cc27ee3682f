/**
 * WebAssembly SIMD matmul on a band of rows of C: about 10× the scalar kernels of matmul-cpu.ts.
 * There is no WAT toolchain at build time, so the module (≈1.2 KB) is assembled from bytes here.
 *
 * Micro-kernel: a 4-row × 2-vector tile of C lives in 8 v128 locals while it walks a k-block;
 * per k step it loads two vectors of B and splats four values of A (8 multiply-adds of 4 f32 or
 * 2 f64 lanes). A and B are packed so that both walks are sequential: A as [row quad][t][4],
 * B as [k-block][panel of W columns][t][W], C as tiles [row quad][panel][4][W] (W = 8 for f32,
 * 4 for f64: a panel row is always two vectors, 32 bytes, and a tile always 128 bytes).
 */
import { MATMUL_MAX_DIM, MODP_MAX, checkModulus, checkShape, type MatmulShape } from './matmul';
import { checkBand } from './matmul-cpu';
import { get, i32, set, simd, tee, uleb } from './wasm-encoding';

/** k-block depth, and panels per kernel call: 256 × 16 × 32 B = 128 KiB of B stays in L2. */
const KC = 256;
const PANELS_PER_CALL = 16;

// Mod p runs in f64 lanes: products of residues (< 2^32) and all K of their sums stay exact.
if (MATMUL_MAX_DIM * (MODP_MAX - 1) ** 2 >= 2 ** 53) throw new Error('mod-p sums would exceed 2^53');

const vload = (offset: number) => simd(0x00, 4, ...uleb(offset));
const vstore = (offset: number) => simd(0x0b, 4, ...uleb(offset));
const [ADD, SUB, MUL, NE, END] = [0x6a, 0x6b, 0x6c, 0x47, 0x0b];
const LOOP = [0x03, 0x40];
const REPEAT_IF = [0x0d, 0]; // br_if to the innermost loop's start

interface Lanes {
  bytes: 4 | 8;
  loadSplat: number;
  add: number;
  mul: number;
}
const F32: Lanes = { bytes: 4, loadSplat: 0x09, add: 0xe4, mul: 0xe6 };
const F64: Lanes = { bytes: 8, loadSplat: 0x0a, add: 0xf0, mul: 0xf2 };

/**
 * kernel(a, b, c, quads, panels, kc, cQuadStride): for each row quad and each panel, C tile +=
 * A quad (kc steps) · B panel (kc steps). All three counts must be ≥ 1 (loops test at the bottom).
 */
function kernelBody(l: Lanes): number[] {
  const [a, b, c, quads, panels, kc, cQuadStride] = [0, 1, 2, 3, 4, 5, 6];
  const [quad, panel, pa, pb, pc, paEnd, aQuad, cQuad, aStep] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const acc = (i: number) => 16 + i;
  const [b0, b1, s] = [24, 25, 26];
  const step = 4 * l.bytes;
  const code = [...get(a), ...set(aQuad), ...get(c), ...set(cQuad), ...get(quads), ...set(quad)];
  code.push(...get(kc), ...i32(step), MUL, ...set(aStep));
  code.push(...LOOP, ...get(panels), ...set(panel), ...get(b), ...set(pb), ...get(cQuad), ...set(pc));
  code.push(...LOOP);
  for (let i = 0; i < 8; i++) code.push(...simd(0x0c, ...new Array<number>(16).fill(0)), ...set(acc(i)));
  code.push(...get(aQuad), ...set(pa), ...get(aQuad), ...get(aStep), ADD, ...set(paEnd));
  code.push(...LOOP, ...get(pb), ...vload(0), ...set(b0), ...get(pb), ...vload(16), ...set(b1));
  for (let r = 0; r < 4; r++) {
    code.push(...get(pa), ...simd(l.loadSplat, l.bytes === 4 ? 2 : 3, ...uleb(r * l.bytes)), ...set(s));
    for (let v = 0; v < 2; v++) {
      code.push(...get(acc(2 * r + v)), ...get(s), ...get(v ? b1 : b0), ...simd(l.mul), ...simd(l.add), ...set(acc(2 * r + v)));
    }
  }
  code.push(...get(pb), ...i32(32), ADD, ...set(pb));
  code.push(...get(pa), ...i32(step), ADD, ...tee(pa), ...get(paEnd), NE, ...REPEAT_IF, END);
  // pb now points at the next panel of this k-block, which follows directly.
  for (let i = 0; i < 8; i++) code.push(...get(pc), ...get(pc), ...vload(16 * i), ...get(acc(i)), ...simd(l.add), ...vstore(16 * i));
  code.push(...get(pc), ...i32(128), ADD, ...set(pc));
  code.push(...get(panel), ...i32(1), SUB, ...tee(panel), ...REPEAT_IF, END);
  code.push(...get(aQuad), ...get(aStep), ADD, ...set(aQuad), ...get(cQuad), ...get(cQuadStride), ADD, ...set(cQuad));
  code.push(...get(quad), ...i32(1), SUB, ...tee(quad), ...REPEAT_IF, END, END);
  const body = [2, ...uleb(9), 0x7f, ...uleb(11), 0x7b, ...code]; // locals: 9 i32, 11 v128
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, [1, 0x60, 7, ...new Array<number>(7).fill(0x7f), 0]), // type: (i32 ×7) → ()
    ...section(2, [1, ...name('env'), ...name('mem'), 2, 0, 1]), // import memory, min 1 page
    ...section(3, [2, 0, 0]),
    ...section(7, [2, ...name('f32'), 0, 0, ...name('f64'), 0, 1]),
    ...section(10, [2, ...kernelBody(F32), ...kernelBody(F64)]),
  ]);
}

type Kernel = (a: number, b: number, c: number, quads: number, panels: number, kc: number, cQuadStride: number) => void;
type Lane = Float32Array | Float64Array;

/**
 * One instance per thread (it owns a wasm memory). The packed B is kept between calls made with
 * the same B array and shape, so a worker running several bands of one product packs B once;
 * call release() before reusing a B array whose contents changed.
 */
export class SimdMatmul {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly kernels: { f32: Kernel; f64: Kernel };
  private packed?: { b: Float32Array | Uint32Array; k: number; n: number };

  constructor(bytes: Uint8Array<ArrayBuffer> = moduleBytes()) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: this.memory } });
    this.kernels = instance.exports as unknown as { f32: Kernel; f64: Kernel };
  }

  /** Same contract as matmulF32Rows; accumulates in f32 lanes (sequential sums per element). */
  matmulF32Rows(a: Float32Array, b: Float32Array, shape: MatmulShape, rowStart: number, rowEnd: number, out: Float32Array): void {
    checkShape(shape, a.length, b.length);
    checkBand(shape, rowStart, rowEnd, out.length);
    if (rowStart === rowEnd) return; // the kernel's loops need at least one row quad
    const c = this.run(F32, a, b, shape, rowStart, rowEnd);
    unpack(c, shape.n, 8, rowStart, rowEnd, out, 0);
  }

  /** Same contract as matmulModpRows: exact f64 sums (< 2^46), reduced once at the end. */
  matmulModpRows(a: Uint32Array, b: Uint32Array, shape: MatmulShape, p: number, rowStart: number, rowEnd: number, out: Uint32Array): void {
    checkShape(shape, a.length, b.length);
    checkModulus(p);
    checkBand(shape, rowStart, rowEnd, out.length);
    if (rowStart === rowEnd) return;
    const c = this.run(F64, a, b, shape, rowStart, rowEnd);
    unpack(c, shape.n, 4, rowStart, rowEnd, out, p);
  }

  /** Forgets the packed B (the memory keeps its size: wasm memories do not shrink). */
  release(): void {
    this.packed = undefined;
  }

  /** Packs what is needed, runs the kernel over the band, and returns C's tiles. */
  private run(l: Lanes, a: Float32Array | Uint32Array, b: Float32Array | Uint32Array, shape: MatmulShape, rowStart: number, rowEnd: number): Lane {
    const { n, k } = shape;
    const w = 32 / l.bytes;
    const quads = Math.ceil((rowEnd - rowStart) / 4);
    const panels = Math.ceil(n / w);
    const bBytes = k * panels * 32;
    const aOff = bBytes;
    const cOff = aOff + quads * KC * 4 * l.bytes;
    this.reserve(cOff + quads * panels * 128);
    const mem = l === F32 ? new Float32Array(this.memory.buffer) : new Float64Array(this.memory.buffer);
    const kernel = l === F32 ? this.kernels.f32 : this.kernels.f64;
    // f32 and mod-p calls pass different array types, so identity also tells the layouts apart.
    const cached = this.packed;
    if (cached?.b !== b || cached.k !== k || cached.n !== n) {
      packB(b, mem, n, k, w);
      this.packed = { b, k, n };
    }
    const c = mem.subarray(cOff / l.bytes, cOff / l.bytes + quads * panels * 4 * w);
    c.fill(0);
    for (let t0 = 0; t0 < k; t0 += KC) {
      const kc = Math.min(KC, k - t0);
      packA(a, mem, aOff / l.bytes, k, rowStart, rowEnd, t0, kc);
      for (let p0 = 0; p0 < panels; p0 += PANELS_PER_CALL) {
        const bAt = (t0 * panels * w + p0 * kc * w) * l.bytes;
        kernel(aOff, bAt, cOff + p0 * 128, quads, Math.min(PANELS_PER_CALL, panels - p0), kc, panels * 128);
      }
    }
    return c;
  }

  private reserve(bytes: number): void {
    const missing = Math.ceil((bytes - this.memory.buffer.byteLength) / 65536);
    if (missing > 0) this.memory.grow(missing);
  }
}

/** Copies the band's rows out of C's tiles into `out`, reduced mod p when p is not 0. */
function unpack(c: Lane, n: number, w: number, rowStart: number, rowEnd: number, out: Float32Array | Uint32Array, p: number): void {
  const panels = Math.ceil(n / w);
  for (let row = rowStart; row < rowEnd; row++) {
    const i = row - rowStart;
    const tileRow = ((i >> 2) * panels * 4 + (i & 3)) * w;
    for (let j0 = 0, src = tileRow, dst = row * n; j0 < n; j0 += w, src += 4 * w, dst += w) {
      const width = Math.min(w, n - j0);
      for (let q = 0; q < width; q++) out[dst + q] = p ? c[src + q]! % p : c[src + q]!;
    }
  }
}

/** B (k×n, row-major) into [k-block][panel][t][w], zero-padding the last panel. */
function packB(b: Float32Array | Uint32Array, mem: Lane, n: number, k: number, w: number): void {
  const panels = Math.ceil(n / w);
  for (let t0 = 0; t0 < k; t0 += KC) {
    const kc = Math.min(KC, k - t0);
    for (let t = 0; t < kc; t++) {
      const src = (t0 + t) * n;
      let dst = t0 * panels * w + t * w;
      for (let j0 = 0; j0 < n; j0 += w, dst += kc * w) {
        const width = Math.min(w, n - j0);
        for (let q = 0; q < width; q++) mem[dst + q] = b[src + j0 + q]!;
        for (let q = width; q < w; q++) mem[dst + q] = 0;
      }
    }
  }
}

/** Rows [rowStart, rowEnd) × columns [t0, t0+kc) of A into [quad][t][4], zero-padding rows. */
function packA(a: Float32Array | Uint32Array, mem: Lane, at: number, k: number, rowStart: number, rowEnd: number, t0: number, kc: number): void {
  const quads = Math.ceil((rowEnd - rowStart) / 4);
  for (let quad = 0; quad < quads; quad++) {
    const base = at + quad * kc * 4;
    for (let r = 0; r < 4; r++) {
      const row = rowStart + quad * 4 + r;
      if (row < rowEnd) {
        const src = row * k + t0;
        for (let t = 0; t < kc; t++) mem[base + t * 4 + r] = a[src + t]!;
      } else {
        for (let t = 0; t < kc; t++) mem[base + t * 4 + r] = 0;
      }
    }
  }
}

/** The SIMD kernels, or undefined where WebAssembly SIMD is unavailable. */
export function createSimdMatmul(): SimdMatmul | undefined {
  if (typeof WebAssembly !== 'object') return undefined;
  const bytes = moduleBytes();
  return WebAssembly.validate(bytes) ? new SimdMatmul(bytes) : undefined;
}
