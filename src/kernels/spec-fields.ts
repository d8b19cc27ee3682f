/**
 * The Valibot pieces job specs are declared with (job-spec.ts, kernels/<kernel>/spec.ts). Every
 * piece carries the one message a person reads when it fails, field named ("units must be an
 * integer in 1..1000000"): parseJob reports its first issue as it is, after the job's id.
 */
import * as v from 'valibot';
import { hex, int } from '../protocol/fields';

/** An integer in lo..hi; `name` is how the message names the field (the wire's check, named). */
export const intIn = (name: string, lo: number, hi: number) => int(lo, hi, name);

/** Exactly `bytes` bytes as lower-case hex. */
export const hexBytes = (name: string, bytes: number) => hex(2 * bytes, `${name} must be ${2 * bytes} lower-case hex digits (${bytes} bytes)`);

/**
 * A field the schema refuses whenever it is given, saying why (a policy a kernel does not take,
 * say). Typed as the field is where it is taken (`T`), so specs of several kernels read alike.
 */
export function refused<T>(message: string) {
  return v.optional(v.custom<T>(() => false, message));
}

export interface ObjectMessages {
  /** The value is not an object. */
  readonly notObject: string;
  /** A field no entry names. */
  readonly unknown: (key: string) => string;
}

/**
 * A JSON object with exactly these entries. A missing entry reports what its own schema says of
 * undefined ("messagesPerUnit must be an integer in …"), an extra one `messages.unknown`.
 * Arrays are objects to Valibot: parse() below refuses them first.
 */
export function fields<const E extends v.ObjectEntries>(entries: E, messages: ObjectMessages) {
  return v.strictObject(entries, (issue) => {
    const key = issue.path?.[0]?.key;
    if (typeof key !== 'string') return messages.notObject;
    if (issue.expected === 'never') return messages.unknown(key);
    const missing = v.safeParse(entries[key]!, undefined, { abortEarly: true });
    return missing.success ? `${key} is missing` : missing.issues[0].message;
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks `raw` against `schema`, stopping at the first issue, whose message goes to `fail`.
 * The value itself is kept (not Valibot's copy): key order, and so JSON.stringify, stay the
 * caller's, which matters where a stored spec is compared with a new one.
 */
export function conform<S extends v.GenericSchema>(schema: S, raw: unknown, fail: (message: string) => never): asserts raw is v.InferInput<S> {
  const result = v.safeParse(schema, raw, { abortEarly: true });
  if (!result.success) fail(result.issues[0].message);
}
