import type { FormField } from '../host-kernel';

/** The sides both matrix kernels ask for on the job form. */
export const matmulFields = {
  m: { label: 'm (rows of A)', initial: '256' },
  n: { label: 'n (columns of B)', initial: '256' },
  k: { label: 'k (inner dimension)', initial: '256' },
} as const satisfies Record<string, FormField>;

/** With collect, a unit keeps its C: 4 bytes a cell. */
export const matmulOutput = { what: 'C', bytesPerUnit: (num: (field: 'm' | 'n') => number) => 4 * num('m') * num('n') };
