/**
 * `npx tsx scripts/bench-cpu-matmul.ts [sizes…]`: single-thread GFLOP/s of the CPU matmul
 * kernels against the reference triple loop, in Node (default sizes 256 and 512, square).
 * Each timing is the best of several runs after a warm-up, so JIT tier-up is not counted.
 * Results are checked against the reference so a broken kernel cannot post a fast time.
 */
import { f32ErrorBound, matmulF32Ref, matmulModpRef, maxAbs, type MatmulShape } from '../src/kernels/matmul/matmul';
import { matmulF32Rows, matmulModpRows } from '../src/kernels/matmul/matmul-cpu';
import { createSimdMatmul } from '../src/kernels/matmul/matmul-simd';
import { seededRandom } from '../src/work/seeded';

const P = 65521;
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((s) => s > 0);
const simd = createSimdMatmul();

/** Best wall time in ms over runs lasting at least ~1 s in total (and at least 2 runs). */
function best(run: () => void): number {
  run(); // warm-up: lets V8 optimise (JS) or tier up (wasm) before timing
  let min = Infinity;
  const until = performance.now() + 1000;
  for (let i = 0; i < 2 || (performance.now() < until && i < 20); i++) {
    const t = performance.now();
    run();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

function row(label: string, shape: MatmulShape, ms: number, refMs: number): void {
  const gflops = (2 * shape.m * shape.n * shape.k) / (ms * 1e6);
  console.log(`${label.padEnd(28)} ${ms.toFixed(1).padStart(9)} ms ${gflops.toFixed(2).padStart(7)} GFLOP/s ${(refMs / ms).toFixed(1).padStart(6)}×`);
}

function checkF32(got: Float32Array, want: Float32Array, bound: number, label: string): void {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= bound)) throw new Error(`${label}: element ${i} is ${got[i]}, reference ${want[i]}`);
  }
}

function checkExact(got: Uint32Array, want: Uint32Array, label: string): void {
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) throw new Error(`${label}: element ${i} is ${got[i]}, reference ${want[i]}`);
}

console.log(`WebAssembly SIMD: ${simd ? 'yes' : 'no'}; one thread, Node ${process.version}`);
for (const size of sizes.length ? sizes : [256, 512]) {
  const shape = { m: size, n: size, k: size };
  const rand = seededRandom(size);
  const a = Float32Array.from({ length: size * size }, () => rand() * 2 - 1);
  const b = Float32Array.from({ length: size * size }, () => rand() * 2 - 1);
  const am = Uint32Array.from({ length: size * size }, () => Math.floor(rand() * P));
  const bm = Uint32Array.from({ length: size * size }, () => Math.floor(rand() * P));
  const c = new Float32Array(size * size);
  const cm = new Uint32Array(size * size);
  const bound = f32ErrorBound(size, maxAbs(a), maxAbs(b));

  console.log(`\n${size}×${size}×${size}`);
  const want = matmulF32Ref(a, b, shape);
  const refMs = best(() => matmulF32Ref(a, b, shape));
  row('f32 reference', shape, refMs, refMs);
  row(
    'f32 JS band kernel',
    shape,
    best(() => matmulF32Rows(a, b, shape, 0, size, c)),
    refMs,
  );
  checkF32(c, want, bound, 'f32 JS');
  if (simd) {
    // release() so every run packs B, as a fresh product would.
    row(
      'f32 wasm SIMD',
      shape,
      best(() => (simd.release(), simd.matmulF32Rows(a, b, shape, 0, size, c))),
      refMs,
    );
    checkF32(c, want, bound, 'f32 SIMD');
  }

  const wantM = matmulModpRef(am, bm, shape, P);
  const refMsM = best(() => matmulModpRef(am, bm, shape, P));
  row('mod p reference', shape, refMsM, refMsM);
  row(
    'mod p JS band kernel',
    shape,
    best(() => matmulModpRows(am, bm, shape, P, 0, size, cm)),
    refMsM,
  );
  checkExact(cm, wantM, 'mod p JS');
  if (simd) {
    row(
      'mod p wasm SIMD',
      shape,
      best(() => (simd.release(), simd.matmulModpRows(am, bm, shape, P, 0, size, cm))),
      refMsM,
    );
    checkExact(cm, wantM, 'mod p SIMD');
  }
}
