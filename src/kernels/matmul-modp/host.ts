import type { HostKernel } from '../host-kernel';
import { modpFreivalds } from '../matmul/freivalds';
import { matmulUnitFields, matmulWork } from '../matmul/job';
import { matmulGrid } from '../matmul/tiles';
import { modpOperands, type Operands } from '../matmul/inputs';
import { modpLeafCheck } from '../matmul/leaf-check';
import { bytesOfC, matmulModpRef } from '../matmul/matmul';
import { matmulModpForm } from './form';
import { matmulModpSpecSchema, type MatmulModpJobSpec } from './spec';
import type { MatmulModpUnit } from './unit';

/** Matrix products modulo a prime, as the host, the dashboard and the farm know them: exact, so replicas compare roots. */
export const matmulModpHost = {
  kernel: 'matmul-modp',
  spec: matmulModpSpecSchema,
  unit: (spec, index) => ({ kernel: 'matmul-modp', ...matmulUnitFields(spec, index), p: spec.p }),
  inputsOf: modpOperands,
  datasets: (spec) => (spec.data ? [spec.data.a, ...spec.data.panels] : []),
  work: matmulWork,
  checks: {
    kind: 'leaves',
    leafCheck: modpLeafCheck,
    reference: (unit) => {
      const { a, b } = modpOperands(unit);
      return bytesOfC(matmulModpRef(a, b, unit, unit.p));
    },
    bitExact: true,
    freivalds: modpFreivalds,
  },
  output: { as: 'matrix', dtype: 'uint32-le', shape: (spec) => ({ m: spec.m, n: spec.n }), grid: matmulGrid },
  form: matmulModpForm,
} as const satisfies HostKernel<MatmulModpJobSpec, MatmulModpUnit, Operands<Uint32Array>>;
