/**
 * The wire protocol between a volunteer and a job host. Every message is one JSON text on a
 * PeerJS data connection (serialization 'raw'), declared once as a schema (protocol/messages.ts,
 * whose types this module re-exports) and checked by `parse*Message` before anything acts on
 * it (src/validate.ts): a message that fails is answered with an `error` and dropped. A dataset
 * chunk is a data message: its JSON text with the chunk's bytes as a binary body (net/link.ts).
 *
 * A unit's life:  volunteer → hello · key-proof · request-unit · heartbeat… · result · openings | rows…
 *                 host      → welcome · unit | no-work · lease… · challenge | send-rows · verdict
 * `hello` and `request-unit` await an answer: each carries an `id` that the answer (welcome or
 * redirect; unit or no-work; or an error) echoes, so several may be in flight at once.
 * A volunteer is its ECDSA P-256 key (proof/identity.ts): `hello` carries the public key, and
 * `key-proof` signs the nonce the `welcome` carried, so nobody can speak for a key they do not
 * hold. The host names the volunteer identityOf(publicKey) for leases, trust and credit, so a
 * reconnect with the same key keeps its leases.
 * The welcome and the key-proof also carry the two halves of an ECDH key agreement, which gives
 * the connection a result key only the two ends know (proof/result-key.ts).
 * A unit is leased for `leaseMs`; each heartbeat renews it (`lease`), and a lease that has
 * lapsed or moved to another volunteer is reported (`lease-lost`). The `result` commits to a
 * Merkle root, authenticated with the result key together with the job, unit, kernel and input
 * digest (proof/commitment.ts); only then does the host choose what to check: leaves to open (`challenge`), or every
 * row of C (`send-rows`, for Freivalds' check), or nothing (a trusted key's spot check
 * skipped), so a volunteer cannot know in advance which outputs will be checked. An accepted
 * result earns a `receipt` the host signs.
 * Donors (protocol 7, optional fields and messages only): `profile` {id, name?, team?} sets the
 * key's display name and team (protocol/display-name.ts: bounded, plain, not unique, not
 * trusted; changes rate-limited per key) and `standing` {id} asks for the key's totals; both are
 * answered by `standing` (credit, accepted units, recent average credit, rank among donors with
 * credit, and the team's). A volunteer sends them only after its key-proof; a host without them
 * answers an error naming the request, which the volunteer keeps as a note and computes on.
 * The swarm (issue 18, protocol/swarm.ts; new messages only, each a request with an id):
 * `serving` {id, peer, on}, `have` {id, root, first, count} and `peer-report` {id, peer, root,
 * why} are answered by `tracking` {id}; `get-peers` {id, root, first, count} by `peers` {id,
 * root, peers}. A volunteer sends the others only after the host answered `serving`: a host
 * before the swarm refuses it, naming the request, and is then asked for chunks alone. Between
 * volunteers, on a connection labelled CHUNK_CONNECTION_LABEL, a downloader speaks `get-chunks`
 * and the serving peer answers `chunk` data messages or an `error` (busy: ask someone else).
 */
import { ErrorCode, TabgridError } from './errors';
import { MAX_UNIT_MATRIX_DIM } from './kernels/matmul/unit';
import type { HostMessage, VolunteerMessage } from './protocol/messages';

/*
 * Units are the kernels' own (kernels/<kernel>/unit.ts), registered in kernels/units.ts; the
 * protocol carries them as they are (protocol/work-unit.ts).
 */
export { Kernel, unitLeaves, unitSize, unitSlices, type ChallengedUnit, type WorkUnit } from './kernels/units';
export type { Sha256BatchUnit } from './kernels/sha256-batch/unit';
export type { MatmulUnit } from './kernels/matmul/unit';
export type { PowUnit } from './kernels/sha256d-pow/unit';
export { MAX_UNIT_MESSAGES, MAX_UNIT_MESSAGE_BYTES } from './kernels/sha256-batch/unit';
export { MAX_UNIT_MATRIX_DIM } from './kernels/matmul/unit';
export { MAX_SHARES } from './kernels/sha256d-pow/unit';

/**
 * 10: a redirect carries the host's key (`publicKey`): a volunteer sent to a relay takes only that
 * host's welcome through it, so a relay cannot answer as a host of its own and take its children's
 * credit. Openings and rows carry a `mac` under the connection's result key (proof/step-mac.ts),
 * which a host requires through a relay, so a relay cannot make them up for its child either.
 * 9: a result carries a MAC under the connection's result key (proof/result-key.ts) instead of
 * an ECDSA signature: the welcome and the key-proof carry the two halves of that key (`session`),
 * and the key-proof signs both. A host verified one signature a unit, its costliest step.
 * 8: the welcome's TURN grant (`ice`) and `get-ice`; the swarm's messages (`serving`, `have`,
 * `get-peers`, `peer-report`; `peers`, `tracking`); a heartbeat's `pausing`. Earlier volunteers'
 * schemas refuse unknown fields, so a mixed grid is told at `hello`, not by a failed unit.
 */
export const PROTOCOL_VERSION = 10;
/**
 * No message may be longer than this (JSON text, UTF-16 code units ~ bytes). Texts over 16 KiB
 * cross the data channel as binary frames (net/frames.ts).
 */
export const MAX_MESSAGE_CHARS = 512 * 1024;
/** A relay wraps a whole message as a JSON string, which escaping can make up to twice as long. */
export const MAX_RELAY_CHARS = 2 * MAX_MESSAGE_CHARS + 256;
/** Most relays a redirect lists. */
export const MAX_RELAYS = 8;
/** Most children one relay serves at once: the relay turns more away, and the host opens no more sessions for it. */
export const MAX_RELAY_CHILDREN = 8;
/** Most leaves a host may challenge in one unit (bounds the openings message). */
export const MAX_CHALLENGE = 64;
/** Most units a volunteer may say it holds (its prefetch queue). */
export const MAX_HOLDING = 16;
/**
 * Whether a job leases units. A paused job leases nothing until resumed; a cancelled one leases
 * nothing ever again (its remaining units are not computed, and it counts as done). Either way
 * units already leased may finish: their results are judged and credited as usual.
 */
export const JobStatus = {
  Active: 'active',
  Paused: 'paused',
  Cancelled: 'cancelled',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];
/** The most dataset roots a request-unit lists as cached. */
export const MAX_CACHED_HINT = 16;
/** The longest description of what computed a result (a result's `adapter`). */
export const MAX_ADAPTER_CHARS = 200;

export const Backend = { WebGpu: 'webgpu', Cpu: 'cpu' } as const;
export type Backend = (typeof Backend)[keyof typeof Backend];

/**
 * `pending`: a replicated unit's result is on file and waits for another key's replica; the
 * final verdict (with the receipt, or the rejection) follows in a later message.
 */
export const Verdict = { Accepted: 'accepted', Rejected: 'rejected', Duplicate: 'duplicate', Pending: 'pending' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** A raw P-256 public key (0x04‖x‖y), hex; an ECDSA signature r‖s, hex; a key-proof nonce, hex; a result's HMAC-SHA-256, hex. */
export const PUBLIC_KEY_HEX = 130;
export const SIGNATURE_HEX = 128;
export const NONCE_HEX = 64;
export const MAC_HEX = 64;
/** Longest `rows` payload, hex characters: whole rows of C, so C of a big unit takes several messages. */
export const MAX_ROWS_HEX = 256 * 1024;

/** Longest leaf in an opening, hex characters (a row of 1024 words). */
export const MAX_LEAF_HEX = 8 * MAX_UNIT_MATRIX_DIM;

/** The messages' types, inferred from their schemas. */
export type { HostMessage, Opening, Receipt, RequestMessage, VolunteerMessage } from './protocol/messages';

/** A message's JSON text. A message with a binary body (a chunk) is no text: encodeHostMessage it. */
export function encodeMessage(message: VolunteerMessage | HostMessage): string {
  if ('data' in message && message.data instanceof Uint8Array) {
    throw new TabgridError(ErrorCode.BadInput, `a '${message.type}' with a body travels as a data message (encodeHostMessage, sendHostMessage), not as a text`);
  }
  return JSON.stringify(message);
}

/** A message as it goes on the wire: its JSON text, and the binary body of a data message. */
export interface EncodedMessage {
  readonly text: string;
  readonly body?: Uint8Array;
}

/** A host message's text, and its body when it travels as a data message (a chunk's bytes: not in the JSON, neither hex nor base64). */
export function encodeHostMessage(message: HostMessage): EncodedMessage {
  if (message.type !== 'chunk' && message.type !== 'relayed') return { text: JSON.stringify(message) };
  const { data, ...meta } = message;
  return data === undefined ? { text: JSON.stringify(meta) } : { text: JSON.stringify(meta), body: data };
}

/** `message` wrapped for relay `child` to pass on as it is: its text, and its body when it has one. */
export function relayedMessage(child: string, message: HostMessage): HostMessage {
  const { text, body } = encodeHostMessage(message);
  return body === undefined ? { type: 'relayed', child, text } : { type: 'relayed', child, text, data: body };
}
