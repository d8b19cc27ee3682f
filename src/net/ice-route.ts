/**
 * How a WebRTC connection actually travels, read from RTCPeerConnection.getStats(): the selected
 * candidate pair's local and remote candidate types. A `relay` candidate on either end means the
 * bytes go through a TURN server; anything else (host, srflx, prflx) is a direct path.
 */
export const IceRoute = { Direct: 'direct', Turn: 'turn' } as const;
export type IceRoute = (typeof IceRoute)[keyof typeof IceRoute];

export interface IcePath {
  readonly route: IceRoute;
  /** This end's candidate type: host, srflx, prflx or relay. */
  readonly local: string;
  /** The other end's. */
  readonly remote: string;
  /** The candidates' addresses, "ip:port", where the stack reports them (a prflx candidate may be a TURN relay's address, learned before its relay candidate arrived). */
  readonly localAddress?: string;
  readonly remoteAddress?: string;
}

interface StatsEntry {
  readonly id: string;
  readonly type: string;
  readonly selectedCandidatePairId?: string;
  readonly localCandidateId?: string;
  readonly remoteCandidateId?: string;
  readonly candidateType?: string;
  readonly nominated?: boolean;
  readonly state?: string;
  readonly selected?: boolean;
  readonly address?: string;
  readonly ip?: string;
  readonly port?: number;
}

/** The selected pair's path, or undefined while none is selected (or the stack reports none). */
export async function icePathOf(pc: Pick<RTCPeerConnection, 'getStats'>): Promise<IcePath | undefined> {
  const report = await pc.getStats();
  const entries = new Map<string, StatsEntry>();
  report.forEach((value: StatsEntry) => entries.set(value.id, value));
  const all = [...entries.values()];
  const viaTransport = all.find((e) => e.type === 'transport' && e.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair =
    (viaTransport ? entries.get(viaTransport) : undefined) ??
    all.find((e) => e.type === 'candidate-pair' && (e.selected === true || (e.nominated === true && e.state === 'succeeded')));
  if (!pair) return undefined;
  const localEntry = pair.localCandidateId ? entries.get(pair.localCandidateId) : undefined;
  const remoteEntry = pair.remoteCandidateId ? entries.get(pair.remoteCandidateId) : undefined;
  const local = localEntry?.candidateType;
  let remote = remoteEntry?.candidateType;
  if (!local || !remote || !localEntry || !remoteEntry) return undefined;
  const localAddress = addressOf(localEntry);
  const remoteAddress = addressOf(remoteEntry);
  // A peer-reflexive remote at the address of a relay candidate the other end sent later is that relay.
  if (remote === 'prflx' && remoteAddress && all.some((e) => e.type === 'remote-candidate' && e.candidateType === 'relay' && addressOf(e) === remoteAddress))
    remote = 'relay';
  return {
    route: local === 'relay' || remote === 'relay' ? IceRoute.Turn : IceRoute.Direct,
    local,
    remote,
    ...(localAddress ? { localAddress } : {}),
    ...(remoteAddress ? { remoteAddress } : {}),
  };
}

function addressOf(e: StatsEntry): string | undefined {
  const ip = e.address ?? e.ip;
  return ip === undefined || e.port === undefined ? undefined : `${ip.includes(':') ? `[${ip}]` : ip}:${e.port}`;
}
