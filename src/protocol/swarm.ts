/**
 * The swarm's words (issue 18): volunteers serve verified dataset chunks to each other, and the
 * host, as tracker, names a few peers that hold what a volunteer needs. A peer is named by its
 * PeerJS id on the signaling server; a downloader opens a data connection labelled
 * CHUNK_CONNECTION_LABEL to it and speaks `get-chunks` / `chunk` there as it does to the host,
 * checking every chunk against the dataset's root itself (data/dataset.ts), so no peer is trusted.
 */
import * as v from 'valibot';

/** Most peers one `peers` answer names: a downloader tries them in order, then the host. */
export const MAX_RECOMMENDED_PEERS = 4;
/** The label of a downloader's data connection to a serving peer (a relay's children use PeerJS's default). */
export const CHUNK_CONNECTION_LABEL = 'tabgrid-chunks';

/** Why a downloader dropped a peer: what the host counts against it. */
export const PeerFault = {
  /** A chunk failed its audit path against the root, was the wrong length, or was not the one asked for. */
  BadChunk: 'bad-chunk',
  /** It stopped sending mid-request. */
  Stalled: 'stalled',
  /** It answered with an error other than busy (it did not hold what the host said it held). */
  Refused: 'refused',
  /** No data connection to it could be opened. */
  Unreachable: 'unreachable',
} as const;
export type PeerFault = (typeof PeerFault)[keyof typeof PeerFault];

const peerIdProblem = 'must be a PeerJS id (1..64 letters, digits, dashes and underscores)';
/** A PeerJS id, as its signaling server accepts them. */
export const peerId = v.pipe(v.string(peerIdProblem), v.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, peerIdProblem));
