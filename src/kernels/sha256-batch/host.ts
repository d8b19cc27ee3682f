import { sha256Blocks } from '../../hash/sha256-ref';
import type { HostKernel } from '../host-kernel';
import { sha256BatchCpu } from './batch';
import { sha256BatchForm } from './form';
import { sha256BatchInputs, unitSeed, type Messages } from './inputs';
import { sha256LeafCheck } from './leaf-check';
import { sha256BatchSpecSchema, type Sha256JobSpec } from './spec';
import type { Sha256BatchUnit } from './unit';

/** SHA-256 of batches of messages, as the host, the dashboard and the farm know it. */
export const sha256BatchHost = {
  kernel: 'sha256-batch',
  spec: sha256BatchSpecSchema,
  unit: (spec, index) => ({
    kernel: 'sha256-batch',
    jobId: spec.id,
    unitId: `${spec.id}/${index}`,
    seed: unitSeed(spec.seed, index),
    count: spec.messagesPerUnit,
    messageLength: spec.messageLength,
  }),
  inputsOf: sha256BatchInputs,
  // SHA-256 compression blocks.
  work: (unit) => unit.count * sha256Blocks(unit.messageLength),
  checks: {
    kind: 'leaves',
    leafCheck: sha256LeafCheck,
    reference: (unit, hash) => sha256BatchCpu(sha256BatchInputs(unit).batch(0, unit.count), hash),
    bitExact: true,
  },
  output: { as: 'digests' },
  form: sha256BatchForm,
} as const satisfies HostKernel<Sha256JobSpec, Sha256BatchUnit, Messages>;
