import type { KernelForm } from '../host-kernel';
import { matmulFields, matmulOutput } from '../matmul/form';

export const matmulI8Form = {
  label: 'Matrix product, int8 → int32 (matmul-i8)',
  fields: matmulFields,
  specFields: (num) => ({ m: num('m'), n: num('n'), k: num('k') }),
  output: matmulOutput,
} as const satisfies KernelForm<'m' | 'n' | 'k'>;
