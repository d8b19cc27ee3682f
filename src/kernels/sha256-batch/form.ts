import type { KernelForm } from '../host-kernel';

/** The hashing kernel on the dashboard's job form. */
export const sha256BatchForm = {
  label: 'SHA-256 of a batch of messages (sha256-batch)',
  fields: {
    messagesPerUnit: { label: 'Messages per unit', initial: '4096' },
    messageLength: { label: 'Message length (bytes)', initial: '64' },
  },
  specFields: (num) => ({ messagesPerUnit: num('messagesPerUnit'), messageLength: num('messageLength') }),
  output: { what: 'digests', bytesPerUnit: (num) => 32 * num('messagesPerUnit') },
} as const satisfies KernelForm<'messagesPerUnit' | 'messageLength'>;
