/**
 * Every wire message, declared once as a schema: its TS type is inferred from it (protocol.ts
 * re-exports the types), and validate.ts parses every incoming text with it. Limits live in
 * the schemas; objects are strict. See protocol.ts for the protocol as a whole.
 */
import * as v from 'valibot';
import {
  Backend,
  JobStatus,
  MAX_ADAPTER_CHARS,
  MAX_CACHED_HINT,
  MAX_CHALLENGE,
  MAX_HOLDING,
  MAC_HEX,
  MAX_LEAF_HEX,
  MAX_MESSAGE_CHARS,
  MAX_RELAYS,
  MAX_ROWS_HEX,
  MAX_SHARES,
  MAX_UNIT_MESSAGES,
  NONCE_HEX,
  PUBLIC_KEY_HEX,
  SIGNATURE_HEX,
  Verdict,
} from '../protocol';
import { MAX_CHUNKS_PER_REQUEST, chunkCount, MAX_DATASET_BYTES } from '../data/dataset';
import { across, bool, bytesHex, datasetRoot, hex, int, list, oneOf, record, str, text } from './fields';
import { workUnitSchema } from './work-unit';
import { iceGrantEntries, iceGrantSchema } from './ice';
import { displayNameProblem } from './display-name';
import { MAX_RECOMMENDED_PEERS, PeerFault, peerId } from './swarm';

function message<const T extends string, const E extends v.ObjectEntries>(type: T, entries: E) {
  return record({ type: v.literal(type), ...entries });
}

const digest = hex(64);
/** An ECDSA signature r‖s. */
const signature = hex(SIGNATURE_HEX);
/** A raw uncompressed P-256 point: 65 bytes starting 04 (whether it lies on the curve is left to verification). */
const publicKey = v.pipe(hex(PUBLIC_KEY_HEX), v.startsWith('04', 'must be an uncompressed point (starting 04)'));
const identityProblem = 'must be a volunteer identity (32 lower-case hex digits)';
/** identityOf(publicKey). */
const identity = v.pipe(v.string(identityProblem), v.regex(/^[0-9a-f]{32}$/, identityProblem));
const unitId = str();
const child = str(64);
const protocol = int(0, 2 ** 31);
const leaseMs = int(1000, 86_400_000);
const retryMs = int(0, 3_600_000);
const credit = int(0, Number.MAX_SAFE_INTEGER);
const count = int(0, Number.MAX_SAFE_INTEGER);
/** A leaf index: a row of C, or a digest of the largest hashing unit. */
const leafIndex = int(0, MAX_UNIT_MESSAGES - 1);
/**
 * Pairs a request with its reply: the volunteer numbers each message it awaits an answer to
 * (hello, request-unit), and the host's answer (or error) carries the same id.
 */
const requestId = int(0, Number.MAX_SAFE_INTEGER);

export const openingSchema = record({
  index: leafIndex,
  /** The leaf's data, hex. */
  leaf: bytesHex(MAX_LEAF_HEX / 2),
  /** The audit path, bottom first (see hash/merkle.ts). */
  path: list(digest, 32),
});

/**
 * Proof that a result was accepted: content-addressed (receiptId = SHA-256 of the fields but
 * the signature), and signed by the host's key (proof/receipt-signing.ts), so the volunteer
 * can prove its credit to anyone holding that key. `volunteer` is the volunteer's identity.
 */
const receiptEntries = {
  receiptId: digest,
  jobId: str(),
  unitId,
  volunteer: identity,
  credit,
  root: digest,
  issuedAt: int(0, Number.MAX_SAFE_INTEGER),
  signature,
};
export const receiptSchema = record(receiptEntries);

/** A proof-of-work result's nonces: ascending, distinct u32s (so a share cannot be counted twice). */
const shares = v.pipe(
  list(int(0, 2 ** 32 - 1), MAX_SHARES),
  v.check((s) => s.every((n, i) => i === 0 || n > s[i - 1]!), 'must be strictly ascending'),
);

const rowsProblem = `must be 1..${MAX_ROWS_HEX / 8} words of lower-case hex`;
/** Whole little-endian words; that they are whole rows of the unit is the host's to check. */
const rowsData = v.pipe(
  v.string(rowsProblem),
  v.minLength(1, rowsProblem),
  v.maxLength(MAX_ROWS_HEX, rowsProblem),
  v.check((s) => s.length % 8 === 0, rowsProblem),
  v.regex(/^[0-9a-f]*$/, rowsProblem),
);

/** A donor's display name or team name (display-name.ts): bounded, plain, normalized; never unique, never trusted. */
const displayName = v.pipe(
  v.string('must be a string'),
  v.maxLength(256, 'must be at most 32 characters'),
  v.check(
    (s: string) => displayNameProblem(s) === undefined,
    (issue) => displayNameProblem(issue.input as string) ?? 'is not a display name',
  ),
);
/** Credit per day, rounded. */
const rate = int(0, Number.MAX_SAFE_INTEGER);

const chunkRange = {
  root: datasetRoot,
  first: int(0, chunkCount(MAX_DATASET_BYTES) - 1),
  count: int(1, MAX_CHUNKS_PER_REQUEST),
};
/** A chunk range that does not run past the largest dataset's last chunk. */
function withinDataset<T extends { readonly first: number; readonly count: number }>() {
  return across<T>(
    'count',
    (m) => m.first + m.count <= chunkCount(MAX_DATASET_BYTES),
    () => `must not run past chunk ${chunkCount(MAX_DATASET_BYTES) - 1}`,
  );
}

/** What a volunteer says, by type. */
export const volunteerMessages = {
  /** `relay`: this volunteer can serve other volunteers' connections (see `relay` below). */
  hello: message('hello', { id: requestId, protocol, client: str(), publicKey, relay: v.optional(bool()) }),
  /**
   * The volunteer's signature of the welcome's nonce and of both halves of the connection's
   * result key (proof/key-proof.ts); required before anything but hello. `session`: the
   * volunteer's ECDH public key for this connection (proof/result-key.ts).
   */
  'key-proof': message('key-proof', { signature, session: publicKey }),
  /** `holding`: the units this volunteer already has, so the host leases it another. */
  'request-unit': message('request-unit', {
    id: requestId,
    holding: list(unitId, MAX_HOLDING),
    /** Datasets this volunteer keeps chunks of, most recently used first: the host prefers units that read them. */
    cached: v.optional(list(datasetRoot, MAX_CACHED_HINT)),
  }),
  /** Chunks first … first + count − 1 of a dataset a leased unit reads: each comes back as a `chunk` data message. */
  'get-chunks': v.pipe(
    message('get-chunks', { id: requestId, root: datasetRoot, first: int(0, chunkCount(MAX_DATASET_BYTES) - 1), count: int(1, MAX_CHUNKS_PER_REQUEST) }),
    across(
      'count',
      (m) => m.first + m.count <= chunkCount(MAX_DATASET_BYTES),
      () => `must not run past chunk ${chunkCount(MAX_DATASET_BYTES) - 1}`,
    ),
  ),
  /**
   * Renews a lease. `pausing`: the page is being frozen (Page Lifecycle) or otherwise stops for a
   * while; the host keeps the unit for this key for a grace period past its lease (host-core.ts).
   */
  heartbeat: v.pipe(
    message('heartbeat', { unitId, done: int(0, 2 ** 32), total: int(1, 2 ** 32), pausing: v.optional(v.literal(true)) }),
    across(
      'done',
      (m) => m.done <= m.total,
      (m) => `must be an integer in 0..${m.total}`,
    ),
  ),
  /**
   * `mac`: the commitment (jobId, unitId, kernel, unitInputDigest(unit), root) authenticated
   * with the connection's result key (proof/result-key.ts). `shares`: a proof-of-work unit's
   * shares, ascending (the root is their Merkle root).
   */
  result: message('result', {
    unitId,
    root: digest,
    backend: oneOf(Backend),
    mac: hex(MAC_HEX),
    shares: v.optional(shares),
    /** What computed it, as the volunteer's engine describes its device ("NVIDIA H200 (vulkan)", "8 CPU threads"): kept and exported, never trusted. */
    adapter: v.optional(text(MAX_ADAPTER_CHARS)),
  }),
  /**
   * The challenged leaves with their audit paths. `mac` (proof/step-mac.ts) authenticates them
   * under the connection's result key: required through a relay, which could otherwise make them
   * up and have them counted against the child.
   */
  openings: message('openings', { unitId, openings: list(openingSchema, MAX_CHALLENGE), mac: v.optional(hex(MAC_HEX)) }),
  /** Rows first, first + 1, … of C (or digests of a hashing unit), answering `send-rows`, in order; `mac` as openings'. */
  rows: message('rows', { unitId, first: leafIndex, data: rowsData, mac: v.optional(hex(MAC_HEX)) }),
  /** A relay forwards a child's message, as the child sent it; `child` names the child's link. */
  relay: message('relay', { child, text: text(MAX_MESSAGE_CHARS) }),
  'child-left': message('child-left', { child }),
  /**
   * Sets this key's display name and team (each optional: absent clears it), shown on the host's
   * leaderboard beside the key's short id. Answered by `standing`; a change sooner than
   * PROFILE_CHANGE_MS after the last is refused as busy. Hosts before this message answer an error.
   */
  profile: message('profile', { id: requestId, name: v.optional(displayName), team: v.optional(displayName) }),
  /** Asks for this key's totals and rank: answered by `standing`. */
  standing: message('standing', { id: requestId }),
  /*
   * The swarm (protocol/swarm.ts; hosts before it answer each with an error naming the request,
   * and the volunteer then fetches from the host alone). Each is answered, so a host that
   * refuses one fails that request only.
   */
  /** This volunteer serves the chunks it holds to other volunteers (`on`), reachable as `peer`; or no longer (`on` false). Answered by `tracking`. */
  serving: message('serving', { id: requestId, peer: peerId, on: bool() }),
  /** Asks which peers hold chunks first … first + count − 1 of dataset `root`: answered by `peers`. */
  'get-peers': v.pipe(message('get-peers', { id: requestId, ...chunkRange }), withinDataset()),
  /** This volunteer now holds these chunks, verified (fetched from a peer: the host knows what it served itself). Answered by `tracking`. */
  have: v.pipe(message('have', { id: requestId, ...chunkRange }), withinDataset()),
  /** Peer `peer` failed a fetch of dataset `root` (`why`): the host stops recommending it and counts a bad chunk against its trust. Answered by `tracking`. */
  'peer-report': message('peer-report', { id: requestId, peer: peerId, root: datasetRoot, why: oneOf(PeerFault) }),
  /** Asks for fresh TURN credentials before the welcome's expire: answered by `ice` (a host that mints none answers an error). */
  'get-ice': message('get-ice', { id: requestId }),
};

/** What a host says, by type. */
export const hostMessages = {
  /**
   * Answers hello. `publicKey`: the host's, which signs receipts. `nonce`: for the volunteer's
   * key-proof. `session`: the host's ECDH public key, its half of the connection's result key.
   */
  welcome: message('welcome', {
    id: requestId,
    protocol,
    hostId: str(),
    leaseMs,
    heartbeatMs: int(100, 86_400_000),
    publicKey,
    nonce: hex(NONCE_HEX),
    session: publicKey,
    /** TURN credentials the host minted for this volunteer (ice.ts), when its host relays through TURN; refreshed with `get-ice`. */
    ice: v.optional(iceGrantSchema),
  }),
  /** Answers request-unit with a unit leased for `leaseMs`. */
  unit: message('unit', { id: requestId, unit: workUnitSchema, leaseMs }),
  lease: message('lease', { unitId, leaseMs }),
  'lease-lost': message('lease-lost', { unitId, reason: text(512) }),
  /**
   * Answers hello when the host is at its connection cap: connect to one of these relays instead
   * (or retry later). `publicKey` is the host's: the welcome that comes back through a relay must
   * carry it.
   */
  redirect: message('redirect', { id: requestId, relays: list(str(), MAX_RELAYS), retryMs, publicKey }),
  /** A message for a relay's child, to pass on as it is. */
  relayed: message('relayed', { child, text: text(MAX_MESSAGE_CHARS) }),
  /** Answers request-unit when there is nothing to lease now. */
  'no-work': message('no-work', { id: requestId, retryMs, jobDone: bool() }),
  /**
   * Chunk `index` of dataset `root`, answering get-chunks `id`: a data message, this JSON with
   * the chunk's bytes as its binary body (net/link.ts), and the chunk's audit path, bottom first,
   * which the volunteer checks against the root before it keeps the bytes (data/dataset.ts).
   */
  chunk: message('chunk', { id: requestId, root: datasetRoot, index: int(0, chunkCount(MAX_DATASET_BYTES) - 1), path: list(digest, 32) }),
  challenge: message('challenge', { unitId, indices: list(leafIndex, MAX_CHALLENGE) }),
  /** Send every row of C (in `rows` messages): the job checks matrices by Freivalds' method, or keeps the output. */
  'send-rows': message('send-rows', { unitId }),
  verdict: message('verdict', {
    unitId,
    verdict: oneOf(Verdict),
    reason: text(512),
    credit,
    totalCredit: credit,
    /** Present for accepted results, and for duplicates (the original receipt). */
    receipt: v.optional(receiptSchema),
  }),
  /**
   * Answers profile and standing: this key's credit (the sum of its receipts), accepted units and
   * recent average credit (credit/day, BOINC's, one-week half-life), its rank by credit among
   * the `ranked` donors with credit (absent with none), and its team's, when it names one.
   */
  standing: message('standing', {
    id: requestId,
    credit,
    accepted: count,
    rac: rate,
    rank: v.optional(int(1, Number.MAX_SAFE_INTEGER)),
    ranked: count,
    name: v.optional(displayName),
    team: v.optional(displayName),
    teamCredit: v.optional(credit),
    teamRank: v.optional(int(1, Number.MAX_SAFE_INTEGER)),
    teamsRanked: v.optional(count),
  }),
  /** Answers get-ice: fresh TURN credentials (ice.ts IceGrant). */
  ice: message('ice', { id: requestId, ...iceGrantEntries }),
  /**
   * `id`: the request that failed, when the failed message was one; `unitId`: the unit the
   * failed message was about, when it was about one.
   */
  error: message('error', { code: str(64), message: text(1024), id: v.optional(requestId), unitId: v.optional(unitId) }),
  /** Answers get-peers: peers that hold the chunks and serve, best first (maybe none: fetch from the host). */
  peers: message('peers', { id: requestId, root: datasetRoot, peers: list(peerId, MAX_RECOMMENDED_PEERS) }),
  /** Answers serving, have and peer-report: taken. */
  tracking: message('tracking', { id: requestId }),
};

/*
 * The observer protocol: a read-only watcher of a host (the dashboard watching a Node host). It
 * speaks on a data connection of its own, which the host routes by its first message
 * (`observe`); it never speaks the volunteer protocol and the volunteer protocol never speaks
 * it, so the two maps stay apart and each side refuses the other's messages.
 *
 *   observer → observe {id, protocol, client}
 *   host     → observe-challenge {id, hostId, nonce}
 *   observer → observe-proof {id, proof = HMAC-SHA-256(token, JSON ["tabgrid/observe/v1", hostId, nonce]), hex}
 *   host     → observing {id, hostId, publicKey, pollMs}      (or error bad-token, and the host closes the connection)
 *   then, any number of times, one reply per request:
 *   observer → snapshot {id, job?, verdictsAfter} · units {id, job, first} · results {id, job, first} · output {id, unitId} · export {id, job}
 *   host     → snapshot · units · results · output-part… · export-files export-part… (or error)
 * Output and export bytes travel as data messages (net/link.ts): a JSON text with the bytes as
 * its binary body, never hex or base64, each part with its sha256 (frames digest texts only).
 * The token never crosses the wire: the host proves nothing, the observer proves it holds the
 * token the host printed, on a nonce the host chose for this connection (proof/observer-token.ts).
 */

/** How many units, results or volunteers one observed message lists at most (a page; the host fills it up to MAX_MESSAGE_CHARS). */
export const MAX_OBSERVED_ITEMS = 2000;
/** Bytes of a unit's output per `output-part` data message (its binary body; well under the frames' MAX_FRAMED_BYTES). */
export const OUTPUT_PART_BYTES = 256 * 1024;
/** Bytes of an export file per `export-part` data message. */
export const EXPORT_PART_BYTES = 1024 * 1024;
/** Most verdicts a snapshot carries (the dashboard's log keeps as many). */
export const MAX_OBSERVED_VERDICTS = 200;
/** Most jobs a snapshot lists. */
export const MAX_OBSERVED_JOBS = 256;
/** The largest export a host sends an observer, all files together (a bigger one is for `npm run host -- --export`). */
export const MAX_OBSERVED_EXPORT_BYTES = 1 << 30;
/** Most files one export holds (C.npy; digests.bin and digests.npy; solutions.json; and manifest.json). */
export const MAX_EXPORT_FILES = 8;

const epochMs = int(0, Number.MAX_SAFE_INTEGER);
/** A job spec as the host holds it: an object; the observer parses it as any job (host/job.ts parseJob) before it shows it. */
const jobObject = v.pipe(v.record(v.string(), v.unknown(), 'must be a job object'), v.readonly());
const unitState = v.picklist(['queued', 'leased', 'verifying', 'accepted'], 'must be one of queued, leased, verifying, accepted');

const fileProblem = 'must be a file name of 1..64 letters, digits, dots, dashes and underscores, not starting with a dot';
/** An export file's name: nothing a browser or a file system could take for a path. */
const fileName = v.pipe(v.string(fileProblem), v.regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/, fileProblem));

/** One unit as the dashboard shows it (host/host-views.ts UnitView). */
export const observedUnitSchema = record({
  unitId,
  index: int(0, 2 ** 31),
  state: unitState,
  holder: v.nullable(str()),
  progress: int(0, 2 ** 32),
  root: v.nullable(digest),
  rejections: count,
  acceptedAt: v.nullable(epochMs),
  /** What computed the unit's result, as its volunteer reported it (never trusted). */
  backend: v.optional(oneOf(Backend)),
  adapter: v.optional(text(MAX_ADAPTER_CHARS)),
});

/** One verdict the host committed (host/host-views.ts VerdictEvent), numbered so an observer asks only for newer ones. */
export const observedVerdictSchema = record({
  seq: count,
  at: epochMs,
  unitId,
  volunteer: str(),
  verdict: str(32),
  reason: text(512),
  credit,
});

/** An accepted unit's result with its receipt (as kept: a receipt from before protocol 4 has no signature). */
export const observedResultSchema = record({
  unitId,
  volunteer: str(),
  root: digest,
  solutions: v.optional(list(int(0, 2 ** 32 - 1), MAX_SHARES)),
  backend: v.optional(oneOf(Backend)),
  adapter: v.optional(text(MAX_ADAPTER_CHARS)),
  receipt: v.optional(record({ ...receiptEntries, signature: v.optional(signature) })),
});

const progressCounts = record({ total: count, queued: count, leased: count, verifying: count, accepted: count });

/** What an observer says, by type. */
export const observerMessages = {
  /** Opens an observer connection (as its first message): answered by observe-challenge. */
  observe: message('observe', { id: requestId, protocol, client: str() }),
  /** HMAC-SHA-256 keyed by the host's observer token over the JSON text ["tabgrid/observe/v1", hostId, nonce], hex (proof/observer-token.ts). One try: a wrong proof closes the connection. */
  'observe-proof': message('observe-proof', { id: requestId, proof: digest }),
  /** The host's state now: jobs, counts, volunteers, the trust records of `job`, and the verdicts numbered above `verdictsAfter`. */
  snapshot: message('snapshot', { id: requestId, job: v.optional(str()), verdictsAfter: count }),
  /** `job`'s units from index `first`, as many as fit one message. */
  units: message('units', { id: requestId, job: str(), first: count }),
  /** `job`'s accepted results (with receipts), in unit order from the `first`-th, as many as fit one message. */
  results: message('results', { id: requestId, job: str(), first: count }),
  /** An accepted unit's kept output, as output-part messages. */
  output: message('output', { id: requestId, unitId }),
  /** `job`'s export as `npm run host -- --export` writes it (host/export/): export-files, then its bytes as export-part messages. */
  export: message('export', { id: requestId, job: str() }),
};

/** What a host says to an observer, by type. */
export const observedMessages = {
  'observe-challenge': message('observe-challenge', { id: requestId, hostId: str(), nonce: hex(NONCE_HEX) }),
  /** The proof verified: the connection observes. `pollMs`: how often the host expects snapshots asked at most. */
  observing: message('observing', { id: requestId, protocol, hostId: str(), publicKey, pollMs: int(100, 60_000) }),
  snapshot: message('snapshot', {
    id: requestId,
    /** The host's clock, epoch ms. */
    at: epochMs,
    /** Volunteer connections straight to the host (what its cap counts). */
    connected: count,
    progress: progressCounts,
    /** Every job, highest priority first, with its accepted units and whether it leases (absent: active). */
    jobs: list(record({ spec: jobObject, accepted: count, status: v.optional(oneOf(JobStatus)) }), MAX_OBSERVED_JOBS),
    /** Volunteers the host has judged, most credit first; `volunteersTotal` says how many there are in all. */
    volunteers: list(
      record({
        id: str(),
        credit,
        accepted: count,
        rejected: count,
        /** The donor's display name and team (never unique, never trusted), when it gave them. */
        name: v.optional(displayName),
        team: v.optional(displayName),
        lastSeen: v.optional(epochMs),
        /** Recent average credit as of the snapshot (credit/day, rounded). */
        rac: v.optional(rate),
      }),
      MAX_OBSERVED_ITEMS,
    ),
    volunteersTotal: count,
    /** Teams, most credit first (host/standings.ts TeamStanding, recent credit rounded); absent from hosts before teams. */
    teams: v.optional(
      list(
        record({
          /** teamKeyOf(name): NFKC and lower case can lengthen a 32-character name many times over (U+FDFA is 18 characters in NFKC). */
          key: str(2048),
          name: displayName,
          credit,
          accepted: count,
          rac: rate,
          lastSeen: epochMs,
          members: count,
          rank: v.optional(int(1, Number.MAX_SAFE_INTEGER)),
        }),
        MAX_OBSERVED_ITEMS,
      ),
    ),
    /** Adaptive-trust records of the snapshot's job, for the volunteers listed. */
    trust: list(record({ jobId: str(), key: str(), streak: count, valid: count, invalid: count, banned: bool() }), MAX_OBSERVED_ITEMS),
    verdicts: list(observedVerdictSchema, MAX_OBSERVED_VERDICTS),
    /** The newest verdict's number (0 before any). */
    verdictSeq: count,
  }),
  units: message('units', { id: requestId, job: str(), first: count, total: count, units: list(observedUnitSchema, MAX_OBSERVED_ITEMS) }),
  results: message('results', { id: requestId, job: str(), first: count, total: count, results: list(observedResultSchema, MAX_OBSERVED_ITEMS) }),
  /**
   * A data message (net/link.ts): bytes offset … offset + body length − 1 of a unit's output as
   * its binary body, `total` bytes in all, parts in order; `sha256` is the body's digest (the
   * frames check a data message's text, not its body). `total` 0, as a text with no body and no
   * digest, says the host keeps no output for the unit (a kept output is never empty).
   */
  'output-part': message('output-part', { id: requestId, unitId, offset: count, total: count, sha256: v.optional(digest) }),
  /** Answers export: the files, in the order their parts follow; `state` complete or partial, `missing` units the export lacks. */
  'export-files': message('export-files', {
    id: requestId,
    job: str(),
    state: str(16),
    missing: count,
    files: list(record({ name: fileName, bytes: int(0, MAX_OBSERVED_EXPORT_BYTES) }), MAX_EXPORT_FILES),
  }),
  /**
   * A data message: bytes offset … offset + body length − 1 of export file `file` (an index into
   * export-files' list) as its binary body, with the body's sha256; files in order, each in order.
   */
  'export-part': message('export-part', { id: requestId, file: int(0, MAX_EXPORT_FILES - 1), offset: int(0, MAX_OBSERVED_EXPORT_BYTES), sha256: digest }),
  error: hostMessages.error,
};

export type ObserverMessage = v.InferOutput<(typeof observerMessages)[keyof typeof observerMessages]>;
type ObservedOnWire = v.InferOutput<(typeof observedMessages)[keyof typeof observedMessages]>;
/** What the host says to an observer; an output part with bytes carries them as `data` (its body on the wire). */
export type ObservedMessage =
  | Exclude<ObservedOnWire, { type: 'output-part' | 'export-part' }>
  | (Extract<ObservedOnWire, { type: 'output-part' }> & { readonly data?: Uint8Array })
  | (Extract<ObservedOnWire, { type: 'export-part' }> & { readonly data: Uint8Array });
export type ObservedUnit = v.InferOutput<typeof observedUnitSchema>;
export type ObservedVerdict = v.InferOutput<typeof observedVerdictSchema>;
export type ObservedResult = v.InferOutput<typeof observedResultSchema>;

export type Opening = v.InferOutput<typeof openingSchema>;
/** A receipt as the wire carries it: signed (protocol 4 on). */
export type SignedReceipt = v.InferOutput<typeof receiptSchema>;
/** A receipt as it is kept: the signature is optional for receipts kept before protocol 4. */
export type Receipt = Omit<SignedReceipt, 'signature'> & { readonly signature?: string };

export type VolunteerMessage = v.InferOutput<(typeof volunteerMessages)[keyof typeof volunteerMessages]>;

/**
 * The host messages that travel as data messages (net/link.ts): the schema checks their JSON,
 * and `data` is the binary body beside it, attached by the validator. A chunk must have one
 * (its bytes); a relayed message has one when the message it wraps has (a child's chunk).
 */
export const hostMessageBodies = { chunk: 'required', relayed: 'optional' } as const satisfies Partial<
  Record<keyof typeof hostMessages, 'required' | 'optional'>
>;

type HostMessageOnWire = v.InferOutput<(typeof hostMessages)[keyof typeof hostMessages]>;
/**
 * The verdict's receipt is typed as kept (Receipt), so a host can answer with the receipt it
 * holds; the wire requires its signature. A chunk and a relayed message carry their body as `data`.
 */
export type HostMessage =
  | Exclude<HostMessageOnWire, { type: 'verdict' | 'chunk' | 'relayed' }>
  | (Omit<Extract<HostMessageOnWire, { type: 'verdict' }>, 'receipt'> & { readonly receipt?: Receipt })
  | (Extract<HostMessageOnWire, { type: 'chunk' }> & { readonly data: Uint8Array })
  | (Extract<HostMessageOnWire, { type: 'relayed' }> & { readonly data?: Uint8Array });

/** The messages that await an answer: each carries an `id`, and the answer (or an error) names it. */
export type RequestMessage = Extract<VolunteerMessage, { id: number }>;
