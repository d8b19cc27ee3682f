import * as v from 'valibot';
import { MAX_DATASET_BYTES } from '../../data/dataset';
import { datasetRoot } from '../../protocol/fields';
import { jobSpecSchema, leafPolicyEntries, leafPolicyRules, MAX_COLLECT_BYTES, replicateEntry } from '../job-spec';
import { fields, intIn } from '../spec-fields';
import { MAX_UNIT_MESSAGE_BYTES, MAX_UNIT_MESSAGES } from './unit';

/**
 * A hashing job: `units` units of `messagesPerUnit` messages of `messageLength` bytes each,
 * derived from the job's seed; or, with `data`, the researcher's records (a length-prefixed
 * records dataset, data/records.ts) cut into units of `messagesPerUnit` (the last one shorter),
 * and then `seed` and `messageLength` are 0. Checked by challenges or replication; may keep
 * its digests.
 */
export const hashDataSchema = fields(
  {
    root: datasetRoot,
    bytes: intIn('data.bytes', 4, MAX_DATASET_BYTES),
    records: intIn('data.records', 1, MAX_DATASET_BYTES / 4),
  },
  { notObject: 'data must be an object', unknown: (key) => `data has an unknown field '${key}'` },
);

export const sha256BatchSpecSchema = jobSpecSchema(
  'sha256-batch',
  {
    messagesPerUnit: intIn('messagesPerUnit', 1, MAX_UNIT_MESSAGES),
    messageLength: intIn('messageLength', 0, MAX_UNIT_MESSAGE_BYTES),
    data: v.optional(hashDataSchema),
    ...leafPolicyEntries,
    ...replicateEntry,
  },
  [
    (spec) => {
      if (spec.data === undefined) return undefined;
      if (spec.seed !== 0 || spec.messageLength !== 0) return 'seed and messageLength must be 0 for a job that reads records';
      const units = Math.ceil(spec.data.records / spec.messagesPerUnit);
      return spec.units === units ? undefined : `units must be ${units} (data.records / messagesPerUnit, rounded up)`;
    },
    ...leafPolicyRules,
    // Matrices stay under the cap by their sides; digests would reach 32 MiB a unit.
    (spec) =>
      spec.collect === true && 32 * spec.messagesPerUnit > MAX_COLLECT_BYTES
        ? `messagesPerUnit must be at most ${MAX_COLLECT_BYTES / 32} to collect the output (32 bytes a digest, at most 4 MiB a unit)`
        : undefined,
  ],
);
export type Sha256JobSpec = v.InferOutput<typeof sha256BatchSpecSchema>;
