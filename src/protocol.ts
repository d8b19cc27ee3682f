/**
 * The wire protocol between a volunteer and a job host. Every message is one JSON text on a
 * PeerJS data connection (serialization 'raw'), declared once as a schema (protocol/messages.ts,
 * whose types this module re-exports) and checked by `parse*Message` before anything acts on
 * it (src/validate.ts): a message that fails is answered with an `error` and dropped.
 *
 * A unit's life:  volunteer → hello · key-proof · request-unit · heartbeat… · result · openings | rows…
 *                 host      → welcome · unit | no-work · lease… · challenge | send-rows · verdict
 * `hello` and `request-unit` await an answer: each carries an `id` that the answer (welcome or
 * redirect; unit or no-work; or an error) echoes, so several may be in flight at once.
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
import type { HostMessage, VolunteerMessage } from './protocol/messages';

export const PROTOCOL_VERSION = 6;
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
/** Most messages in one sha256-batch unit, and the longest message (bytes). */
export const MAX_UNIT_MESSAGES = 1 << 20;
export const MAX_UNIT_MESSAGE_BYTES = 4096;

export const Kernel = { Sha256Batch: 'sha256-batch', MatmulF32: 'matmul-f32', MatmulModp: 'matmul-modp', Sha256dPow: 'sha256d-pow' } as const;
export type Kernel = (typeof Kernel)[keyof typeof Kernel];

export const Backend = { WebGpu: 'webgpu', Cpu: 'cpu' } as const;
export type Backend = (typeof Backend)[keyof typeof Backend];

/**
 * `pending`: a replicated unit's result is on file and waits for another key's replica; the
 * final verdict (with the receipt, or the rejection) follows in a later message.
 */
export const Verdict = { Accepted: 'accepted', Rejected: 'rejected', Duplicate: 'duplicate', Pending: 'pending' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Hash `count` seeded messages of `messageLength` bytes (see work/seeded.ts). */
export interface Sha256BatchUnit {
  readonly kernel: typeof Kernel.Sha256Batch;
  readonly jobId: string;
  readonly unitId: string;
  readonly seed: number;
  readonly count: number;
  readonly messageLength: number;
}
/**
 * C = A·B for seeded A (m×k) and B (k×n) (see kernels/matmul-inputs.ts): f32, or residues
 * modulo the prime p. The result's leaves are the rows of C.
 */
export interface MatmulUnit {
  readonly kernel: typeof Kernel.MatmulF32 | typeof Kernel.MatmulModp;
  readonly jobId: string;
  readonly unitId: string;
  readonly seed: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** The modulus (matmul-modp); 0 for f32. */
  readonly p: number;
}

/**
 * Search nonces [nonceStart, nonceStart + nonceCount) of an 80-byte block header for double
 * SHA-256 hashes at most `shareTarget` (shares, which prove the work) or `target` (solutions).
 * The result lists every share; there are no challenges, as the host rechecks each one.
 */
export interface PowUnit {
  readonly kernel: typeof Kernel.Sha256dPow;
  readonly jobId: string;
  readonly unitId: string;
  /** The header, 160 hex digits; its nonce bytes (76..79) are overwritten by the search. */
  readonly header: string;
  readonly nonceStart: number;
  readonly nonceCount: number;
  /** 256-bit little-endian targets, 64 hex digits (see kernels/sha256d-pow.ts). */
  readonly target: string;
  readonly shareTarget: string;
}

export type WorkUnit = Sha256BatchUnit | MatmulUnit | PowUnit;
/** Units whose result is a Merkle tree of fixed-size leaves the host challenges. */
export type ChallengedUnit = Sha256BatchUnit | MatmulUnit;

/** Most shares one proof-of-work result may list (jobs keep the expected count well below). */
export const MAX_SHARES = 4096;

/** A raw P-256 public key (0x04‖x‖y), hex; an ECDSA signature r‖s, hex; a key-proof nonce, hex. */
export const PUBLIC_KEY_HEX = 130;
export const SIGNATURE_HEX = 128;
export const NONCE_HEX = 64;
/** Longest `rows` payload, hex characters: whole rows of C, so C of a big unit takes several messages. */
export const MAX_ROWS_HEX = 256 * 1024;

/** Largest matrix side in a unit: a row of C (a Merkle leaf) stays ≤ 4 KiB. */
export const MAX_UNIT_MATRIX_DIM = 1024;
/** Longest leaf in an opening, hex characters (a row of 1024 words). */
export const MAX_LEAF_HEX = 8 * MAX_UNIT_MATRIX_DIM;

/** How many leaves (challengeable outputs) a unit's result has, and the bytes of each. */
export function unitLeaves(unit: ChallengedUnit): { count: number; bytes: number } {
  return unit.kernel === Kernel.Sha256Batch ? { count: unit.count, bytes: 32 } : { count: unit.m, bytes: 4 * unit.n };
}

/** What a unit's progress counts up to: leaves, or nonces for proof of work. */
export function unitSize(unit: WorkUnit): number {
  return unit.kernel === Kernel.Sha256dPow ? unit.nonceCount : unitLeaves(unit).count;
}

/** The messages' types, inferred from their schemas. */
export type { HostMessage, Opening, Receipt, RequestMessage, VolunteerMessage } from './protocol/messages';

export function encodeMessage(message: VolunteerMessage | HostMessage): string {
  return JSON.stringify(message);
}
