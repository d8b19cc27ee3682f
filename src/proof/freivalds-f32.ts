import { checkShape, type MatmulShape } from '../kernels/matmul';
import { ErrorCode, TabgridError } from '../errors';
import { checkRounds, DEFAULT_FREIVALDS_ROUNDS, type FreivaldsOptions, type FreivaldsResult } from './freivalds-modp';
import { cryptoRandom } from './random';

/**
 * Freivalds' check of a claimed f32 product C ≈ A·B (A m×k, B k×n, C m×n, row-major): per
 * round draw r, compute s = Cr − A(Br) in f64, O(mk + kn + mn), and require |s_i| ≤ tol_i for
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
 * F_i = γ'_n(|C||r|)_i + γ'_{k+n}(|A|(|B||r|))_i, γ'_j = j·2^-53/(1 − j·2^-53). Then
 *     tol_i = (margin·G_i + F_i)·(1 + 2^-30),
 * the last factor covering rounding in computing tol and s (≤ (k + n + 8)·2^-53 < 2^-37).
 * `margin` (default 2, as in kernels/matmul.ts's f32ErrorBound) is slack for devices that are
 * not quite IEEE; honest IEEE results pass with margin 1.
 *
 * Detection guarantee (per round, for every r drawn):
 *  - One element of an honest C changed by δ at (i, j) fails whenever |δ|·|r_j| > 2·tol_i;
 *    since |r_j| ≥ 1, whenever |δ| > f32DetectableDelta(…, i) (2·tol_i at |r| = 2 everywhere,
 *    over 1 − 2γ'_n(1 + 2^-30) for the change δ makes to F_i itself).
 *  - Any C whose row i has an element with |C_ij − (AB)_ij| = D: a round misses with
 *    probability ≤ 2·T_i/D + 2^-31, T_i = tol_i at |r| = 2, since it needs r_j to fall in an
 *    interval of length 4·T_i/D.
 *  - NaN or ±Infinity anywhere in C fails.
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
  const { m, n } = shape;
  for (let e = 0; e < m * n; e++) if (!Number.isFinite(c[e]!)) return { ok: false, badRow: Math.floor(e / n) };

  const r = new Float64Array(n);
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < n; j++) {
      const sign = random() < 0.5 ? -1 : 1;
      r[j] = sign * (1 + random());
    }
    const sums = new RoundSums(b, shape, r);
    for (let i = 0; i < m; i++) {
      const { s, tol } = sums.row(a, c, i, margin);
      if (!(Math.abs(s) <= tol)) return { ok: false, badRow: i };
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
  // The tolerance grows with |r|, so |r| = 2 bounds it for every r; the sign of r does not enter.
  const { tol } = new RoundSums(b, shape, new Float64Array(shape.n).fill(2)).row(a, c, row, margin);
  return (2 * tol) / (1 - 2 * gamma(shape.n, U64) * ROUNDING);
}

function checkOperands(a: Float32Array, b: Float32Array, c: Float32Array, shape: MatmulShape, margin: number): void {
  checkShape(shape, a.length, b.length);
  const { m, n } = shape;
  if (c.length !== m * n) throw new TabgridError(ErrorCode.BadInput, `C has ${c.length} elements, M×N = ${m * n}`);
  if (!(margin >= 1 && margin < Infinity)) throw new TabgridError(ErrorCode.BadInput, `margin = ${margin} must be a finite number ≥ 1`);
  // A and B are the host's own operands: a non-finite one is a caller's bug, not a cheat.
  for (const [name, x] of [['A', a], ['B', b]] as const) {
    for (let e = 0; e < x.length; e++) if (!Number.isFinite(x[e]!)) throw new TabgridError(ErrorCode.BadInput, `${name}[${e}] = ${x[e]} is not finite`);
  }
}

/** The per-round vectors Br and |B||r| (one pass over B), and what every row's tolerance shares. */
class RoundSums {
  private readonly br: Float64Array;
  private readonly brAbs: Float64Array;
  private readonly rAbsSum: number;
  /** Σ_j |r_j| Σ_t |B_tj| = Σ_t (|B||r|)_t: the flushed-B part of ε. */
  private readonly bFlush: number;
  private readonly gammaK: number;
  private readonly flush: number;
  private readonly gammaN: number;
  private readonly gammaKN: number;

  constructor(b: Float32Array, private readonly shape: MatmulShape, private readonly r: Float64Array) {
    const { n, k } = shape;
    this.br = new Float64Array(k);
    this.brAbs = new Float64Array(k);
    let bFlush = 0;
    for (let t = 0; t < k; t++) {
      let y = 0;
      let yAbs = 0;
      for (let j = 0, at = t * n; j < n; j++, at++) {
        const x = b[at]!;
        const rj = r[j]!;
        y += x * rj;
        yAbs += Math.abs(x) * Math.abs(rj);
      }
      this.br[t] = y;
      this.brAbs[t] = yAbs;
      bFlush += yAbs;
    }
    let rAbsSum = 0;
    for (let j = 0; j < n; j++) rAbsSum += Math.abs(r[j]!);
    this.rAbsSum = rAbsSum;
    this.bFlush = bFlush;
    this.gammaK = gamma(k, U32);
    this.flush = FLUSH * (1 + this.gammaK);
    this.gammaN = gamma(n, U64);
    this.gammaKN = gamma(k + n, U64);
  }

  /** s_i = (Cr)_i − (A(Br))_i and tol_i, O(k + n). */
  row(a: Float32Array, c: Float32Array, i: number, margin: number): { s: number; tol: number } {
    const { n, k } = this.shape;
    const { br, brAbs, r } = this;
    let z = 0;
    let w = 0;
    let aAbs = 0;
    for (let t = 0, at = i * k; t < k; t++, at++) {
      const x = a[at]!;
      z += x * br[t]!;
      w += Math.abs(x) * brAbs[t]!;
      aAbs += Math.abs(x);
    }
    let cr = 0;
    let crAbs = 0;
    for (let j = 0, at = i * n; j < n; j++, at++) {
      const x = c[at]!;
      const rj = r[j]!;
      cr += x * rj;
      crAbs += Math.abs(x) * Math.abs(rj);
    }
    const honest = this.gammaK * w + this.flush * ((2 * k + 1 + aAbs) * this.rAbsSum + this.bFlush);
    const check = this.gammaN * crAbs + this.gammaKN * w;
    return { s: cr - z, tol: (margin * honest + check) * ROUNDING };
  }
}
