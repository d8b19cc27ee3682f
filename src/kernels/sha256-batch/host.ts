import { sha256Blocks } from '../../hash/sha256-ref';
import type { HostKernel } from '../host-kernel';
import { sha256BatchCpu } from './batch';
import { sha256BatchForm } from './form';
import { recordsUnitFields, sha256BatchInputs, unitSeed, type Messages } from './inputs';
import { sha256LeafCheck } from './leaf-check';
import { sha256BatchSpecSchema, type Sha256JobSpec } from './spec';
import type { Sha256BatchUnit } from './unit';

/** SHA-256 of batches of messages, as the host, the dashboard and the farm know it. */
export const sha256BatchHost = {
  kernel: 'sha256-batch',
  spec: sha256BatchSpecSchema,
  unit: (spec, index) => {
    const ids = { kernel: 'sha256-batch', jobId: spec.id, unitId: `${spec.id}/${index}` } as const;
    if (spec.data) return { ...ids, ...recordsUnitFields(spec.data, spec.messagesPerUnit, index) };
    return { ...ids, seed: unitSeed(spec.seed, index), count: spec.messagesPerUnit, messageLength: spec.messageLength };
  },
  inputsOf: sha256BatchInputs,
  datasets: (spec) => (spec.data ? [spec.data.root] : []),
  // SHA-256 compression blocks.
  work: (unit) => {
    if (!unit.records) return unit.count * sha256Blocks(unit.messageLength);
    let blocks = 0;
    const messages = sha256BatchInputs(unit);
    for (let i = 0; i < unit.count; i++) blocks += sha256Blocks(messages.message(i).length);
    return blocks;
  },
  checks: {
    kind: 'leaves',
    leafCheck: sha256LeafCheck,
    reference: (unit, hash) => sha256BatchCpu(sha256BatchInputs(unit).batch(0, unit.count), hash),
    bitExact: true,
  },
  output: { as: 'digests' },
  form: sha256BatchForm,
} as const satisfies HostKernel<Sha256JobSpec, Sha256BatchUnit, Messages>;
