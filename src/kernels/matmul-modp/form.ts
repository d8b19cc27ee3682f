import type { KernelForm } from '../host-kernel';
import { matmulFields, matmulOutput } from '../matmul/form';
import { MODP_MAX } from '../matmul/matmul';

export const matmulModpForm = {
  label: 'Matrix product modulo a prime (matmul-modp)',
  fields: { ...matmulFields, p: { label: 'Prime modulus p', help: `At most ${MODP_MAX}.`, initial: String(MODP_MAX) } },
  specFields: (num) => ({ m: num('m'), n: num('n'), k: num('k'), p: num('p') }),
  output: matmulOutput,
} as const satisfies KernelForm<'m' | 'n' | 'k' | 'p'>;
