/**
 * The field checks the validator (validate.ts) is built from: each takes a value and where it
 * was found, returns it typed, or throws TabgridError('bad-message') saying what is wrong.
 */
import { ErrorCode, TabgridError } from './errors';
import { MAX_MESSAGE_CHARS, MAX_RELAY_CHARS } from './protocol';

export type Fields = Record<string, unknown>;

export function fail(message: string): never {
  throw new TabgridError(ErrorCode.BadMessage, message);
}

export function decodeObject(raw: unknown): Fields & { type: string } {
  if (typeof raw !== 'string') fail(`expected a JSON text, got ${raw === null ? 'null' : typeof raw}`);
  // Only relay wrappers may be longer; what they wrap is held to the normal limit below.
  const limit = raw.startsWith('{"type":"relay') ? MAX_RELAY_CHARS : MAX_MESSAGE_CHARS;
  if (raw.length > limit) fail(`message of ${raw.length} characters exceeds ${limit}`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    fail('message is not valid JSON');
  }
  const m = object(value, 'message');
  if (typeof m.type !== 'string') fail('message has no type');
  return m as Fields & { type: string };
}

export function object(value: unknown, where: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${where} is not a JSON object`);
  return value as Fields;
}

/** Rejects fields beyond the expected ones, so typos and smuggled data do not pass. */
export function only(m: Fields, where: string, ...keys: string[]): void {
  for (const k of Object.keys(m)) if (!keys.includes(k)) fail(`${where}: unexpected field '${k}'`);
}

export function str(value: unknown, where: string, max = 128): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) fail(`${where} must be a string of 1..${max} characters`);
  return value;
}

export function text(value: unknown, where: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) fail(`${where} must be a string of at most ${max} characters`);
  return value;
}

export function int(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(`${where} must be an integer in ${min}..${max}`);
  return value;
}

const digestHex = /^[0-9a-f]{64}$/;
export function digest(value: unknown, where: string): string {
  if (typeof value !== 'string' || !digestHex.test(value)) fail(`${where} must be 64 lower-case hex digits`);
  return value;
}

export function oneOf<T extends string>(value: unknown, where: string, allowed: Record<string, T>): T {
  if (!Object.values<unknown>(allowed).includes(value)) fail(`${where} must be one of ${Object.values(allowed).join(', ')}`);
  return value as T;
}

export function list(value: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(value) || value.length > max) fail(`${where} must be an array of at most ${max} items`);
  return value;
}
