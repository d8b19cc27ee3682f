import type { LeafCheck } from '../host-kernel';
import type { MatmulF32Unit } from '../matmul-f32/unit';
import type { MatmulModpUnit } from '../matmul-modp/unit';
import { f32Operands, modpOperands } from './inputs';
import { f32ErrorBound } from './matmul';

/*
 * A matmul leaf is row i of C (n little-endian words). The host recomputes that row from the
 * unit's operands, O(k·n) per row against O(m·k·n) for the unit: modp rows must be equal, f32
 * rows within the f32 error bound for K (operands lie in [−1, 1)), never bitwise, since devices
 * round differently. The operands are built once per unit and shared by its checks.
 */

export function modpLeafCheck(unit: MatmulModpUnit): LeafCheck {
  const { a, b } = modpOperands(unit);
  const { n, k, p } = unit;
  return (i, leaf) => {
    const view = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength);
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let t = 0; t < k; t++) sum = (sum + ((a[i * k + t]! * b[t * n + j]!) % p)) % p;
      const got = view.getUint32(4 * j, true);
      if (got !== sum) return `C[${i}][${j}] = ${got}, expected ${sum}`;
    }
    return undefined;
  };
}

export function f32LeafCheck(unit: MatmulF32Unit): LeafCheck {
  const { a, b } = f32Operands(unit);
  const { n, k } = unit;
  const bound = f32ErrorBound(k, 1, 1);
  return (i, leaf) => {
    const view = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength);
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let t = 0; t < k; t++) sum += a[i * k + t]! * b[t * n + j]!;
      const got = view.getFloat32(4 * j, true);
      // NaN fails this comparison too.
      if (!(Math.abs(got - sum) <= bound)) return `C[${i}][${j}] = ${got}, expected ${sum} ± ${bound.toExponential(2)}`;
    }
    return undefined;
  };
}
