/**
 * A PeerJS error in words a visitor can act on. PeerJS often wraps a failed fetch as a bare
 * "Error" with only its type set ("server-error"), which says nothing on its own.
 */
const PEER_ERROR_WORDS: Readonly<Record<string, string>> = {
  'server-error': 'the signaling server did not answer (is it running, and is the address right?)',
  network: 'the connection to the signaling server failed or was lost',
  'socket-error': 'the connection to the signaling server failed',
  'socket-closed': 'the signaling server closed the connection',
  'peer-unavailable': 'no host with this id is online on the signaling server',
  'ssl-unavailable': 'the signaling server needs a secure (wss://) address',
  'browser-incompatible': 'this browser lacks the WebRTC features needed',
  webrtc: 'the browser could not set up the WebRTC connection',
};

export function describePeerError(err: unknown): string {
  const type = (err as { type?: unknown } | null)?.type;
  const words = typeof type === 'string' ? PEER_ERROR_WORDS[type] : undefined;
  if (words) return words;
  const message = err instanceof Error ? err.message : String(err);
  // A message that only repeats the class name ("Error") gives the type, if any, instead.
  const useful = message && message !== 'Error' ? message : err instanceof Error ? err.name : 'unknown error';
  return typeof type === 'string' ? `${useful} (${type})` : useful;
}

/**
 * Whether `err` (or what caused it) says the signaling server knows no peer of the id we
 * called: the host is down (restarting, say), not our network. Asking again costs the server
 * one message, so a volunteer retries that soon (session.ts) to be back within seconds of the
 * host's return, instead of backing off as for network trouble.
 */
export function hostAbsent(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { type?: unknown }).type === 'peer-unavailable') return true;
  }
  return false;
}
