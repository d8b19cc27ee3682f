import * as peerjs from 'peerjs';

/**
 * PeerJS's Peer class, in a page and in Node. Node loads PeerJS's CommonJS build, whose named
 * exports it cannot see statically, so there the class is found on the default export.
 */
export const Peer: typeof peerjs.Peer =
  (peerjs as { Peer?: typeof peerjs.Peer }).Peer ?? (peerjs as unknown as { default: { Peer: typeof peerjs.Peer } }).default.Peer;
