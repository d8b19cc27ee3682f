import type { KernelForm } from '../host-kernel';

export const powForm = {
  label: 'Proof-of-work search, double SHA-256 (sha256d-pow)',
  fields: {
    noncesPerUnit: { label: 'Nonces per unit', initial: '1048576' },
    shareBits: { label: 'Share difficulty (leading zero bits)', help: 'Expected shares per unit (nonces · 2^-bits) must lie in 16..2048.', initial: '14' },
    targetBits: { label: 'Solution difficulty (leading zero bits)', initial: '24' },
  },
  specFields: (num) => ({ noncesPerUnit: num('noncesPerUnit'), shareBits: num('shareBits'), targetBits: num('targetBits') }),
  note: 'Proof of work: the host rechecks every share, so there is nothing to sample.',
  messageFields: [['the nonce ranges', 'units']],
} as const satisfies KernelForm<'noncesPerUnit' | 'shareBits' | 'targetBits'>;
