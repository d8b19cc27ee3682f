/**
 * Why a volunteer (or a dashboard) could not reach its host, in words a visitor understands:
 * the signaling server did not answer, the host is not on it, ICE found no path, or the TURN
 * server refused the credentials. connect.ts works out which; the widget shows the sentence once.
 */
export const ConnectFailure = {
  NoSignaling: 'no-signaling',
  HostUnreachable: 'host-unreachable',
  IceFailed: 'ice-failed',
  TurnRefused: 'turn-refused',
} as const;
export type ConnectFailure = (typeof ConnectFailure)[keyof typeof ConnectFailure];

export function describeConnectFailure(failure: ConnectFailure, where: { signalUrl: string; hostId: string }): string {
  switch (failure) {
    case ConnectFailure.NoSignaling:
      return `Cannot reach the signaling server (${where.signalUrl}): it may be down, or the address is wrong.`;
    case ConnectFailure.HostUnreachable:
      return `The signaling server answers, but the job host "${where.hostId}" is not online.`;
    case ConnectFailure.IceFailed:
      return `Found the job host "${where.hostId}" but could not open a connection to it: the network (a firewall or a strict NAT) blocks the way, and no TURN relay got through.`;
    case ConnectFailure.TurnRefused:
      return 'The TURN relay refused this page’s credentials (expired or wrong), so no connection could be made; fresh credentials from the site fix it.';
  }
}

/** TURN's error codes for refused credentials (RFC 8656: 401 Unauthorized, 403 Forbidden, 437 Allocation Mismatch, 441 Wrong Credentials). */
export const TURN_AUTH_CODES: readonly number[] = [401, 403, 437, 441];
