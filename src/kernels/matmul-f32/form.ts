import type { KernelForm } from '../host-kernel';
import { matmulFields, matmulOutput } from '../matmul/form';

export const matmulF32Form = {
  label: 'Matrix product, f32 (matmul-f32)',
  fields: matmulFields,
  specFields: (num) => ({ m: num('m'), n: num('n'), k: num('k') }),
  output: matmulOutput,
} as const satisfies KernelForm<'m' | 'n' | 'k'>;
