import { checkShape, type MatmulShape } from '../kernels/matmul/matmul';
import { ErrorCode, TabgridError } from '../errors';
import { checkRounds, DEFAULT_FREIVALDS_ROUNDS, type FreivaldsOptions, type FreivaldsResult } from './freivalds-modp';
import { cryptoRandom } from './random';

/**
 * Freivalds' check of a claimed f32 product C ≈ A·B (A m×k, B k×n, C m×n, row-major): per
 * round draw r, compute s = Cr − A(Br) in f64, O(mk + kn + mn), and require |s_i| ≤ T_i (below) for
 * every row i. Devices round differently, so the check is a tolerance, never bitwise.
 *
 * The vector: r_j = ±(1 + U), U uniform in [0, 1), independent signs. |r_j| ≥ 1 makes the
 * single-element guarantee below deterministic; r having a density (≤ 1/2) means no pattern of
 * errors cancels except with small probability (with r = ±1, errors δ and −δ in one row cancel
 * half the time).
 *
 * The tolerance. Any summation order, with or without FMA, gives |C_ij − (AB)_ij| ≤
 * γ_K(|A||B|)_ij, γ_K = K·u/(1 − K·u), u = 2^-24 (Higham, Accuracy and Stability, §3.1), plus
 * an absolute term for devices that flush subnormals to zero: ≤ 2^-126(1 + γ_K) per operation
 * and per flushed input, i.e. ε_ij = 2^-126(1 + γ_K)(2K + 1 + Σ_t|A_it| + Σ_t|B_tj|). So honest
 * rows satisfy |(Cr − ABr)_i| ≤ G_i = Σ_j |r_j|(γ_K(|A||B|)_ij + ε_ij), computed in O(mk + kn)
 * as γ_K(|A|(|B||r|))_i + …. The f64 arithmetic of the check itself errs by at most
 * F_i = γ'_n(|C||r|)_i + γ'_{k+n}(|A|(|B||r|))_i, γ'_j = j·2^-53/(1 − j·2^-53). Both grow with
 * |r|, so they are evaluated once per check at |r_j| = 2 (the bound), giving for every round
 *     T_i = (margin·G_i + F_i)·(1 + 2^-30)   at |r| = 2,
 * the last factor covering rounding in computing T and s (≤ (k + n + 8)·2^-53 < 2^-37). One
 * pass computes T (and checks that every element is finite); each round is then one
 * multiply-add per element of A, B and C.
 * `margin` (default 2, as in kernels/matmul/matmul.ts's f32ErrorBound) is slack for devices that are
 * not quite IEEE; honest IEEE results pass with margin 1.
 *
 * Detection guarantee (per round, for every r drawn):
 *  - One element of an honest C changed by δ at (i, j) fails whenever |δ|·|r_j| > 2·T_i; since
 *    |r_j| ≥ 1, whenever |δ| > f32DetectableDelta(…, i) = 2·T_i/(1 − 4γ'_n(1 + 2^-30)), T_i of
 *    the honest C (the divisor allows for the change δ makes to F_i itself).
 *  - Any C whose row i has an element with |C_ij − (AB)_ij| = D: a round misses with
 *    probability ≤ 2·T_i/D + 2^-31, since it needs r_j to fall in an interval of length 4·T_i/D.
 *  - NaN or ±Infinity anywhere in C fails.
 * The threshold is loose: T_i sums worst-case rounding over the whole row, ~n·K·u·(|A||B|)_ij.
 * At 1024³ with operands in [−1, 1) it is ≈ 130 while |C_ij| ≈ 10: gross errors (skipped work,
 * wrong rows or blocks, garbage) are caught; a few slightly wrong elements need the per-row
 * recompute of challenged openings (kernels/matmul/leaf-check.ts) to be found.
 * Errors below the tolerance pass: they cannot be told from rounding. Results whose honest
 * value overflows f32 cannot be checked (the host's operands lie in [−1, 1)).
 */

export interface FreivaldsF32Options extends FreivaldsOptions {
  /** Multiplies the honest error bound G (default 2); ≥ 1. */
  readonly margin?: number;
}

export const DEFAULT_F32_MARGIN = 2;

const U32 = 2 ** -24;
const U64 = 2 ** -53;
const FLUSH = 2 ** -126;
const ROUNDING = 1 + 2 ** -30;
const gamma = (j: number, u: number) => (j * u) / (1 - j * u);

export function freivaldsF32(a: Float32Array, b: Float32Array, c: Float32Array, shape: MatmulShape, options: FreivaldsF32Options = {}): FreivaldsResult {
  const { rounds = DEFAULT_FREIVALDS_ROUNDS, random = cryptoRandom, margin = DEFAULT_F32_MARGIN } = options;
  checkOperands(a, b, c, shape, margin);
  checkRounds(rounds);
  const { m, n, k } = shape;
  const bAbs = bAbsTimesTwo(b, shape);
  const tol = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    tol[i] = rowTolerance(a, bAbs, c, shape, i, margin);
    // Only a non-finite element of C makes its row's tolerance non-finite (see rowTolerance).
    if (!Number.isFinite(tol[i]!)) return { ok: false, badRow: i };
  }
  const r = new Float64Array(n);
  const br = new Float64Array(k);
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < n; j++) {
      const sign = random() < 0.5 ? -1 : 1;
      r[j] = sign * (1 + random());
    }
    for (let t = 0; t < k; t++) br[t] = dot(b, t * n, r, n);
    for (let i = 0; i < m; i++) {
      const s = dot(c, i * n, r, n) - dot(a, i * k, br, k);
      if (!(Math.abs(s) <= tol[i]!)) return { ok: false, badRow: i };
    }
  }
  return { ok: true };
}

/**
 * A change |δ| to one element of row `row` of an honest C that every round detects, for every r
 * (see the file comment). `c` is the honest C.
 */
export function f32DetectableDelta(a: Float32Array, b: Float32Array, c: Float32Array, shape: MatmulShape, row: number, margin = DEFAULT_F32_MARGIN): number {
  checkOperands(a, b, c, shape, margin);
  if (!Number.isInteger(row) || row < 0 || row >= shape.m) throw new TabgridError(ErrorCode.BadInput, `row ${row} is outside 0..${shape.m - 1}`);
  return (2 * rowTolerance(a, bAbsTimesTwo(b, shape), c, shape, row, margin)) / (1 - 4 * gamma(shape.n, U64) * ROUNDING);
}

function checkOperands(a: Float32Array, b: Float32Array, c: Float32Array, shape: MatmulShape, margin: number): void {
  checkShape(shape, a.length, b.length);
  const { m, n } = shape;
  if (c.length !== m * n) throw new TabgridError(ErrorCode.BadInput, `C has ${c.length} elements, M×N = ${m * n}`);
  if (!(margin >= 1 && margin < Infinity)) throw new TabgridError(ErrorCode.BadInput, `margin = ${margin} must be a finite number ≥ 1`);
}

/** Σ_t x[at + t]·y[t] in f64. */
function dot(x: Float32Array, at: number, y: Float64Array, len: number): number {
  let sum = 0;
  for (let t = 0; t < len; t++) sum += x[at + t]! * y[t]!;
  return sum;
}

/** |B|·2 (a column vector, i.e. |B||r| at |r| = 2) and its sum, which every row's tolerance shares. */
interface BAbs {
  readonly brAbs: Float64Array;
  readonly bFlush: number;
}

function bAbsTimesTwo(b: Float32Array, { n, k }: MatmulShape): BAbs {
  const brAbs = new Float64Array(k);
  let bFlush = 0;
  for (let t = 0; t < k; t++) {
    let sum = 0;
    for (let j = 0, at = t * n; j < n; j++, at++) sum += Math.abs(b[at]!);
    // B is the host's own operand: a non-finite element is a caller's bug, not a cheat.
    if (!Number.isFinite(sum)) throw new TabgridError(ErrorCode.BadInput, `row ${t} of B has an element that is not finite`);
    brAbs[t] = 2 * sum;
    bFlush += 2 * sum;
  }
  return { brAbs, bFlush };
}

/** T_i of the file comment, O(k + n) per row after an O(kn) pass over B; not finite iff row i of C is not. */
function rowTolerance(a: Float32Array, { brAbs, bFlush }: BAbs, c: Float32Array, shape: MatmulShape, i: number, margin: number): number {
  const { n, k } = shape;
  let w = 0;
  let aAbs = 0;
  for (let t = 0, at = i * k; t < k; t++, at++) {
    const x = Math.abs(a[at]!);
    w += x * brAbs[t]!;
    aAbs += x;
  }
  if (!Number.isFinite(aAbs)) throw new TabgridError(ErrorCode.BadInput, `row ${i} of A has an element that is not finite`);
  let crAbs = 0;
  for (let j = 0, at = i * n; j < n; j++, at++) crAbs += Math.abs(c[at]!);
  crAbs *= 2;
  const gammaK = gamma(k, U32);
  const rAbsSum = 2 * n;
  const honest = gammaK * w + FLUSH * (1 + gammaK) * ((2 * k + 1 + aAbs) * rAbsSum + bFlush);
  const check = gamma(n, U64) * crAbs + gamma(k + n, U64) * w;
  return (margin * honest + check) * ROUNDING;
}
