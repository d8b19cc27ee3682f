/**
 * The field schemas the wire messages are built from (messages.ts). Each carries the phrase
 * the validator's error gives after the field's name (validate.ts: "hello.client must be a
 * string of 1..128 characters"), so a refused message says which field and what is wrong.
 */
import * as v from 'valibot';
import { MAX_DATASET_BYTES, sliceProblem, type DatasetSlice } from '../data/dataset';

/** Strict objects: an unknown field is refused, so typos and smuggled data do not pass. Read-only, as received. */
export function record<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(v.strictObject(entries, objectProblem), v.readonly());
}

/** The strict object's issues: not an object, a field missing, or one it does not know (validate.ts puts the name first). */
function objectProblem(issue: v.StrictObjectIssue): string {
  if (issue.expected === 'never') return `unexpected field '${String(issue.input)}'`;
  return issue.path === undefined ? 'is not a JSON object' : 'is missing';
}

/** A name or id: 1..max characters. */
export function str(max = 128) {
  const m = `must be a string of 1..${max} characters`;
  return v.pipe(v.string(m), v.minLength(1, m), v.maxLength(max, m));
}

/** Free text (reasons, error messages, relayed messages): at most max characters, maybe empty. */
export function text(max: number) {
  const m = `must be a string of at most ${max} characters`;
  return v.pipe(v.string(m), v.maxLength(max, m));
}

/** An integer in min..max. `name` starts the message where no path names the field (job files). */
export function int(min: number, max: number, name?: string) {
  const m = `${name === undefined ? '' : `${name} `}must be an integer in ${min}..${max}`;
  return v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m));
}

export function bool() {
  return v.boolean('must be a boolean');
}

/** One of an `as const` object's values (Kernel, Backend, Verdict). */
export function oneOf<const T extends Record<string, string>>(values: T) {
  return v.enum(values, `must be one of ${Object.values(values).join(', ')}`);
}

/** At most `max` items, each checked by `item`. */
export function list<const S extends v.GenericSchema>(item: S, max: number) {
  const m = `must be an array of at most ${max} items`;
  return v.pipe(v.array(item, m), v.maxLength(max, m), v.readonly());
}

const lowerHex = /^[0-9a-f]*$/;

/** Lower-case hex of exactly `chars` digits (digests, keys, signatures, nonces, headers, targets). */
export function hex(chars: number, m = `must be ${chars} lower-case hex digits`) {
  return v.pipe(v.string(m), v.length(chars, m), v.regex(lowerHex, m));
}

/** Whole bytes of lower-case hex, 1..maxBytes of them. */
export function bytesHex(maxBytes: number) {
  const m = `must be 1..${maxBytes} bytes of lower-case hex`;
  return v.pipe(
    v.string(m),
    v.minLength(2, m),
    v.maxLength(2 * maxBytes, m),
    v.check((s) => s.length % 2 === 0, m),
    v.regex(lowerHex, m),
  );
}

/**
 * A check across an object's fields, reported as a problem of field `key` (a heartbeat's done
 * against its total): the object's own schema has already checked each field.
 */
export function across<T extends object>(key: string, ok: (value: T) => boolean, message: (value: T) => string) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed || ok(dataset.value)) return;
    const input = dataset.value as Record<string, unknown>;
    addIssue({ message: message(dataset.value), path: [{ type: 'object', origin: 'value', input, key, value: input[key] }] });
  });
}

/** A dataset's root: the Merkle root over its chunks (data/dataset.ts). */
export const datasetRoot = hex(64);

/** Bytes a unit reads from a dataset (data/dataset.ts): inside the dataset, which has 1..MAX_DATASET_BYTES bytes. */
export function datasetSlice() {
  const size = int(0, MAX_DATASET_BYTES);
  return v.pipe(
    record({ root: datasetRoot, bytes: int(1, MAX_DATASET_BYTES), offset: size, length: size }),
    v.check(
      (s: DatasetSlice) => sliceProblem(s) === undefined,
      (issue) => sliceProblem(issue.input as DatasetSlice) ?? 'is not a slice of its dataset',
    ),
  );
}
