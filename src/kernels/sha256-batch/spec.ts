import type * as v from 'valibot';
import { jobSpecSchema, leafPolicyEntries, leafPolicyRules, MAX_COLLECT_BYTES, replicateEntry } from '../job-spec';
import { intIn } from '../spec-fields';
import { MAX_UNIT_MESSAGE_BYTES, MAX_UNIT_MESSAGES } from './unit';

/**
 * A hashing job: `units` units of `messagesPerUnit` messages of `messageLength` bytes each,
 * derived from the job's seed. Checked by challenges or replication; may keep its digests.
 */
export const sha256BatchSpecSchema = jobSpecSchema(
  'sha256-batch',
  {
    messagesPerUnit: intIn('messagesPerUnit', 1, MAX_UNIT_MESSAGES),
    messageLength: intIn('messageLength', 0, MAX_UNIT_MESSAGE_BYTES),
    ...leafPolicyEntries,
    ...replicateEntry,
  },
  [
    ...leafPolicyRules,
    // Matrices stay under the cap by their sides; digests would reach 32 MiB a unit.
    (spec) =>
      spec.collect === true && 32 * spec.messagesPerUnit > MAX_COLLECT_BYTES
        ? `messagesPerUnit must be at most ${MAX_COLLECT_BYTES / 32} to collect the output (32 bytes a digest, at most 4 MiB a unit)`
        : undefined,
  ],
);
export type Sha256JobSpec = v.InferOutput<typeof sha256BatchSpecSchema>;
