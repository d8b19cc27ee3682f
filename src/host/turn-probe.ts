import { urlsOf, type IceConfig } from '../protocol/ice';

export interface TurnProbe {
  /** True when a relay candidate came: the TURN server took the credentials. */
  readonly ok: boolean;
  readonly line: string;
}

/**
 * Asks the TURN servers in `ice` for a relay address, as a connection would, and says in a
 * line what came of it: so a host started with a wrong `--turn-secret` (or an unreachable TURN
 * server) says so in its log at once, not only as connections that never open.
 */
export async function probeTurn(ice: IceConfig, timeoutMs = 5000): Promise<TurnProbe | undefined> {
  const turn = ice.iceServers.filter((s) => urlsOf(s).some((u) => u.startsWith('turn')));
  if (turn.length === 0) return undefined;
  const urls = turn.flatMap(urlsOf).join(', ');
  const pc = new RTCPeerConnection({ iceServers: turn.map((s) => ({ ...s, urls: [...urlsOf(s)] })), iceTransportPolicy: 'relay' });
  try {
    const relay = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      pc.addEventListener('icecandidate', (e) => {
        if (e.candidate?.candidate.includes(' typ relay')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    pc.createDataChannel('turn-probe');
    await pc.setLocalDescription(await pc.createOffer());
    const ok = await relay;
    return ok
      ? { ok, line: `TURN ${urls}: relay address granted (the host's credentials are accepted)` }
      : {
          ok,
          line: `TURN ${urls}: no relay address in ${timeoutMs / 1000} s: the TURN server refused the host's credentials (a wrong --turn-secret, or expired ones) or cannot be reached`,
        };
  } finally {
    pc.close();
  }
}
