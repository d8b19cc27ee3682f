/**
 * The wire protocol between a volunteer and a job host. Every message is one JSON text on a
 * PeerJS data connection (serialization 'raw'), checked by `parse*Message` before anything
 * acts on it (src/validate.ts): a message that fails is answered with an `error` and dropped.
 *
 * A unit's life:  volunteer → hello · key-proof · request-unit · heartbeat… · result · openings | rows…
 *                 host      → welcome · unit | no-work · lease… · challenge | send-rows · verdict
 * A volunteer is its ECDSA P-256 key (proof/identity.ts): `hello` carries the public key, and
 * `key-proof` signs the nonce the `welcome` carried, so nobody can speak for a key they do not
 * hold. The host names the volunteer identityOf(publicKey) for leases, trust and credit, so a
 * reconnect with the same key keeps its leases.
 * A unit is leased for `leaseMs`; each heartbeat renews it (`lease`), and a lease that has
 * lapsed or moved to another volunteer is reported (`lease-lost`). The `result` commits to a
 * Merkle root, signed (proof/commitment.ts) together with the job, unit, kernel and input
 * digest; only then does the host choose what to check: leaves to open (`challenge`), or every
 * row of C (`send-rows`, for Freivalds' check), or nothing (a trusted key's spot check
 * skipped), so a volunteer cannot know in advance which outputs will be checked. An accepted
 * result earns a `receipt` the host signs.
 */

import { MAX_UNIT_MATRIX_DIM } from './kernels/matmul/unit';
import type { WorkUnit } from './kernels/units';

/*
 * Units are the kernels' own (kernels/<kernel>/unit.ts), registered in kernels/units.ts; the
 * protocol carries them as they are.
 */
export { Kernel, unitLeaves, unitSize, type ChallengedUnit, type WorkUnit } from './kernels/units';
export type { Sha256BatchUnit } from './kernels/sha256-batch/unit';
export type { MatmulUnit } from './kernels/matmul/unit';
export type { PowUnit } from './kernels/sha256d-pow/unit';
export { MAX_UNIT_MESSAGES, MAX_UNIT_MESSAGE_BYTES } from './kernels/sha256-batch/unit';
export { MAX_UNIT_MATRIX_DIM } from './kernels/matmul/unit';
export { MAX_SHARES } from './kernels/sha256d-pow/unit';

export const PROTOCOL_VERSION = 5;
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

export const Backend = { WebGpu: 'webgpu', Cpu: 'cpu' } as const;
export type Backend = (typeof Backend)[keyof typeof Backend];

/**
 * `pending`: a replicated unit's result is on file and waits for another key's replica; the
 * final verdict (with the receipt, or the rejection) follows in a later message.
 */
export const Verdict = { Accepted: 'accepted', Rejected: 'rejected', Duplicate: 'duplicate', Pending: 'pending' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** A raw P-256 public key (0x04‖x‖y), hex; an ECDSA signature r‖s, hex; a key-proof nonce, hex. */
export const PUBLIC_KEY_HEX = 130;
export const SIGNATURE_HEX = 128;
export const NONCE_HEX = 64;
/** Longest `rows` payload, hex characters: whole rows of C, so C of a big unit takes several messages. */
export const MAX_ROWS_HEX = 256 * 1024;

/** Longest leaf in an opening, hex characters (a row of 1024 words). */
export const MAX_LEAF_HEX = 8 * MAX_UNIT_MATRIX_DIM;

export interface Opening {
  readonly index: number;
  /** The leaf's data (a 32-byte digest), hex. */
  readonly leaf: string;
  /** The audit path, bottom first, hex (see hash/merkle.ts). */
  readonly path: readonly string[];
}

/**
 * Proof that a result was accepted: content-addressed (receiptId = SHA-256 of the fields but
 * the signature), and signed by the host's key (proof/receipt-signing.ts), so the volunteer
 * can prove its credit to anyone holding that key. `volunteer` is the volunteer's identity.
 */
export interface Receipt {
  readonly receiptId: string;
  readonly jobId: string;
  readonly unitId: string;
  readonly volunteer: string;
  readonly credit: number;
  readonly root: string;
  readonly issuedAt: number;
  /** The host's signature, r‖s hex. Always present on the wire (protocol 4); optional in the type for receipts kept before it. */
  readonly signature?: string;
}

export type VolunteerMessage =
  /** `relay`: this volunteer can serve other volunteers' connections (see relay below). */
  | { readonly type: 'hello'; readonly protocol: number; readonly client: string; readonly publicKey: string; readonly relay?: boolean }
  /** The volunteer's signature of the welcome's nonce (proof/key-proof.ts); required before anything but hello. */
  | { readonly type: 'key-proof'; readonly signature: string }
  /** `holding`: the units this volunteer already has, so the host leases it another. */
  | { readonly type: 'request-unit'; readonly holding: readonly string[] }
  | { readonly type: 'heartbeat'; readonly unitId: string; readonly done: number; readonly total: number }
  /**
   * `signature`: the volunteer's signature of the commitment (jobId, unitId, kernel,
   * unitInputDigest(unit), root). `shares`: a proof-of-work unit's shares, ascending (the root
   * is their Merkle root).
   */
  | {
      readonly type: 'result';
      readonly unitId: string;
      readonly root: string;
      readonly backend: Backend;
      readonly signature: string;
      readonly shares?: readonly number[];
    }
  | { readonly type: 'openings'; readonly unitId: string; readonly openings: readonly Opening[] }
  /** Rows first, first + 1, … of C (little-endian words, hex), answering `send-rows`, in order. */
  | { readonly type: 'rows'; readonly unitId: string; readonly first: number; readonly data: string }
  /** A relay forwards a child's message, as the child sent it; `child` names the child's link. */
  | { readonly type: 'relay'; readonly child: string; readonly text: string }
  | { readonly type: 'child-left'; readonly child: string };

export type HostMessage =
  /** `publicKey`: the host's, which signs receipts. `nonce`: for the volunteer's key-proof. */
  | {
      readonly type: 'welcome';
      readonly protocol: number;
      readonly hostId: string;
      readonly leaseMs: number;
      readonly heartbeatMs: number;
      readonly publicKey: string;
      readonly nonce: string;
    }
  | { readonly type: 'unit'; readonly unit: WorkUnit; readonly leaseMs: number }
  | { readonly type: 'lease'; readonly unitId: string; readonly leaseMs: number }
  | { readonly type: 'lease-lost'; readonly unitId: string; readonly reason: string }
  /** The host is at its connection cap: connect to one of these relays instead (or retry later). */
  | { readonly type: 'redirect'; readonly relays: readonly string[]; readonly retryMs: number }
  /** A message for a relay's child, to pass on as it is. */
  | { readonly type: 'relayed'; readonly child: string; readonly text: string }
  | { readonly type: 'no-work'; readonly retryMs: number; readonly jobDone: boolean }
  | { readonly type: 'challenge'; readonly unitId: string; readonly indices: readonly number[] }
  /** Send every row of C (in `rows` messages): the job checks matrices by Freivalds' method. */
  | { readonly type: 'send-rows'; readonly unitId: string }
  | {
      readonly type: 'verdict';
      readonly unitId: string;
      readonly verdict: Verdict;
      readonly reason: string;
      readonly credit: number;
      readonly totalCredit: number;
      /** Present for accepted results, and for duplicates (the original receipt). */
      readonly receipt?: Receipt;
    }
  /** `unitId` names the unit the failed message was about, when it was about one. */
  | { readonly type: 'error'; readonly code: string; readonly message: string; readonly unitId?: string };

export function encodeMessage(message: VolunteerMessage | HostMessage): string {
  return JSON.stringify(message);
}
