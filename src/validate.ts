/**
 * The validator at the edge: every text a peer sends passes through `parse*Message` before
 * anything acts on it. It bounds the text, decodes the JSON, and parses it with its type's
 * schema (protocol/messages.ts: types, ranges, lengths, no unexpected field), and throws
 * TabgridError('bad-message') naming the field and what is wrong with it.
 */
import * as v from 'valibot';
import { ErrorCode, TabgridError } from './errors';
import { MAX_MESSAGE_CHARS, MAX_RELAY_CHARS, PROTOCOL_VERSION, type HostMessage, type VolunteerMessage } from './protocol';
import { hostMessages, observedMessages, observerMessages, volunteerMessages, type ObservedMessage, type ObserverMessage } from './protocol/messages';

/** What a host accepts from a volunteer. Throws TabgridError('bad-message'). */
export function parseVolunteerMessage(raw: unknown): VolunteerMessage {
  return parseWith(volunteerMessages, raw);
}

/** What a volunteer accepts from a host. Throws TabgridError('bad-message'). */
export function parseHostMessage(raw: unknown): HostMessage {
  return parseWith(hostMessages, raw);
}

/**
 * A refused message. It keeps the id of the request it claimed to answer or make, when it had a
 * usable one, so the error can name that request (the volunteer fails that request alone).
 */
export class RefusedMessage extends TabgridError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly requestId?: number,
  ) {
    super(code, message);
  }
}

function fail(message: string, m?: Record<string, unknown>): never {
  throw new RefusedMessage(ErrorCode.BadMessage, message, requestIdOf(m));
}

const requestIdOf = (m?: Record<string, unknown>) => (Number.isSafeInteger(m?.id) && (m!.id as number) >= 0 ? (m!.id as number) : undefined);

/** The first problem only: a message is refused whole, so checking on past it is wasted work. */
const firstIssue = { abortEarly: true } as const;

function parseWith<S extends Record<string, v.GenericSchema>>(schemas: S, raw: unknown): v.InferOutput<S[keyof S]> {
  const m = decodeObject(raw);
  const type = m.type;
  if (typeof type !== 'string') fail('message has no type');
  if (!Object.hasOwn(schemas, type)) fail(`unknown message type '${type.slice(0, 40)}'`);
  // A hello from another protocol version may be shaped otherwise: say which version, not which field.
  if (type === 'hello' && typeof m.protocol === 'number' && m.protocol !== PROTOCOL_VERSION) {
    throw new RefusedMessage(ErrorCode.ProtocolVersion, `host speaks protocol ${PROTOCOL_VERSION}, volunteer ${m.protocol}`, requestIdOf(m));
  }
  const parsed = v.safeParse(schemas[type]!, m, firstIssue);
  if (!parsed.success) fail(describe(type, parsed.issues[0]), m);
  return parsed.output as v.InferOutput<S[keyof S]>;
}

function decodeObject(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'string') fail(`expected a JSON text, got ${raw === null ? 'null' : typeof raw}`);
  // Only relay wrappers may be longer; what they wrap is held to the normal limit by the schema.
  const limit = raw.startsWith('{"type":"relay') ? MAX_RELAY_CHARS : MAX_MESSAGE_CHARS;
  if (raw.length > limit) fail(`message of ${raw.length} characters exceeds ${limit}`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    fail('message is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('message is not a JSON object');
  return value as Record<string, unknown>;
}

/** "request-unit.holding[3] must be a string of 1..128 characters"; "hello: unexpected field 'volunteerId'". */
function describe(type: string, issue: v.BaseIssue<unknown>): string {
  const path = issue.path ?? [];
  // An unknown field's issue sits at that field; it is the object around it that is wrong.
  const unexpected = issue.type === 'strict_object' && issue.expected === 'never';
  const where = type + (unexpected ? path.slice(0, -1) : path).map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`)).join('');
  return unexpected ? `${where}: ${issue.message}` : `${where} ${issue.message}`;
}

/** What a host accepts on an observer connection (protocol/messages.ts observerMessages): no volunteer message passes. Throws TabgridError('bad-message'). */
export function parseObserverMessage(raw: unknown): ObserverMessage {
  return parseWith(observerMessages, raw);
}

/** What an observer accepts from the host it watches. Throws TabgridError('bad-message'). */
export function parseObservedMessage(raw: unknown): ObservedMessage {
  return parseWith(observedMessages, raw);
}
