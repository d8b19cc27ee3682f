/**
 * The validator at the edge: every text a peer sends (with the body of a data message) passes
 * through `parse*Message` before anything acts on it. It bounds the text, decodes the JSON, and parses it with its type's
 * schema (protocol/messages.ts: types, ranges, lengths, no unexpected field), and throws
 * TabgridError('bad-message') naming the field and what is wrong with it.
 */
import * as v from 'valibot';
import { ErrorCode, TabgridError } from './errors';
import { MAX_MESSAGE_CHARS, MAX_RELAY_CHARS, PROTOCOL_VERSION, type HostMessage, type VolunteerMessage } from './protocol';
import {
  hostMessageBodies,
  hostMessages,
  observedMessages,
  observerMessages,
  EXPORT_PART_BYTES,
  OUTPUT_PART_BYTES,
  volunteerMessages,
  type ObservedMessage,
  type ObserverMessage,
} from './protocol/messages';

/** What a host accepts from a volunteer: texts only (a volunteer sends no data messages). Throws TabgridError('bad-message'). */
export function parseVolunteerMessage(raw: unknown, body?: Uint8Array): VolunteerMessage {
  return textOnly(parseWith(volunteerMessages, raw), body, 'a volunteer');
}

/** A message from a peer that sends texts only: a body with it is refused. */
function textOnly<M extends { readonly type: string }>(message: M, body: Uint8Array | undefined, who: string): M {
  if (body !== undefined) fail(`${message.type} carries no binary body (${who} sends texts only)`, message);
  return message;
}

/**
 * What a volunteer accepts from a host, with the binary body of a data message (net/link.ts)
 * attached as `data`: a chunk must come with its bytes, and no other message but a relayed one
 * may come with a body. Throws TabgridError('bad-message').
 */
export function parseHostMessage(raw: unknown, body?: Uint8Array): HostMessage {
  const message = parseWith(hostMessages, raw);
  const wants = message.type === 'chunk' || message.type === 'relayed' ? hostMessageBodies[message.type] : undefined;
  if (body === undefined) {
    if (wants === 'required') fail(`${message.type} must come as a data message with the chunk's bytes as its binary body, not as a text`, message);
    return message as HostMessage;
  }
  if (wants === undefined) fail(`${message.type} carries no binary body`, message);
  return { ...message, data: body } as HostMessage;
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

/**
 * What a host accepts on an observer connection (protocol/messages.ts observerMessages): no
 * volunteer message passes, and an observer sends texts only. Throws TabgridError('bad-message').
 */
export function parseObserverMessage(raw: unknown, body?: Uint8Array): ObserverMessage {
  return textOnly(parseWith(observerMessages, raw), body, 'an observer');
}

/**
 * What an observer accepts from the host it watches, with the body of a data message attached
 * as `data`: an output part with bytes (total > 0) comes as a data message with their digest,
 * one without (total 0) as a text, and nothing else has a body. Throws TabgridError('bad-message').
 */
export function parseObservedMessage(raw: unknown, body?: Uint8Array): ObservedMessage {
  const message = parseWith(observedMessages, raw);
  if (message.type === 'export-part') {
    if (body === undefined || body.length === 0 || body.length > EXPORT_PART_BYTES)
      fail(`export-part must come as a data message of 1..${EXPORT_PART_BYTES} bytes`, message);
    return { ...message, data: body };
  }
  if (message.type !== 'output-part') {
    if (body !== undefined) fail(`${message.type} carries no binary body`, message);
    return message;
  }
  if (message.total === 0) {
    if (body !== undefined || message.sha256 !== undefined) fail('output-part of no output (total 0) carries no body and no sha256', message);
    return message;
  }
  if (body === undefined || message.sha256 === undefined)
    fail("output-part must come as a data message with the output's bytes as its body and their sha256", message);
  if (body.length === 0 || body.length > OUTPUT_PART_BYTES || message.offset + body.length > message.total) {
    fail(`output-part of ${body.length} bytes at ${message.offset} does not fit 1..${OUTPUT_PART_BYTES} bytes within ${message.total}`, message);
  }
  return { ...message, data: body };
}
