/**
 * The farm's --coturn: a real coturn on loopback (scripts/turn-server.ts) with a shared secret,
 * the host minting its own and each volunteer's credentials from it, and every peer relay-only
 * (iceTransportPolicy 'relay'), so every connection goes through the TURN server. The pages
 * start with credentials the farm mints as a site's backend would (short-lived, never the
 * secret); the host's welcome hands each its own. The summary counts each volunteer's path as
 * its getStats() selected candidate pair says, and breaks when any volunteer went direct.
 */
import { IceRoute, type IcePath } from '../../src/net/ice-route';
import { IcePolicy, type IceConfig } from '../../src/protocol/ice';
import { mintTurnGrant } from '../../src/host/turn-credentials';
import { startTurnServer, type TurnServer } from '../turn-server';
import type { FarmSummary } from './summary';
import { writeFileSync } from 'node:fs';
import { withMintedTurn, type IceSetup } from '../ice-flags';

export interface FarmTurn {
  /** The coturn the farm started (absent with the operator's own servers: farmIce). */
  readonly server?: TurnServer;
  /** The host child's flags: the TURN URL, the secret, relay only. */
  readonly hostArgs: readonly string[];
  /** A volunteer's starting configuration: relay only, with credentials minted for it now. */
  iceFor(volunteer: string): IceConfig;
  /** True for "ip:port" where this coturn relays. */
  isRelayAddress(address: string): boolean;
  close(): Promise<void>;
}

export async function startFarmTurn(log?: (line: string) => void): Promise<FarmTurn> {
  const server = await startTurnServer({ ...(log ? { log: (line: string) => (line.includes('ERROR') ? log(line) : undefined) } : {}) });
  const secret = { secret: server.secret, urls: [server.url], ttlS: 3600 };
  return {
    server,
    hostArgs: ['--turn', server.url, '--turn-secret', server.secret, '--relay-only'],
    iceFor: (volunteer) => ({ iceServers: mintTurnGrant(secret, volunteer).iceServers, iceTransportPolicy: IcePolicy.Relay }),
    isRelayAddress: (address) => {
      const m = /^127\.0\.0\.1:(\d+)$/.exec(address);
      return m !== null && Number(m[1]) >= server.relayPorts[0] && Number(m[1]) <= server.relayPorts[1];
    },
    close: () => server.close(),
  };
}

/**
 * The summary's connection figures: volunteers by path ("relay→relay": 6), and how many went
 * through TURN: a relay candidate on either end, or an end at an address the farm's coturn
 * relays on (libdatachannel types its end of a relayed pair srflx or prflx, with the address right).
 */
export function connectionFigures(
  paths: readonly (IcePath | undefined)[],
  relayAddress: (address: string) => boolean = () => false,
): Pick<FarmSummary, 'connection_paths' | 'volunteers_via_turn'> {
  const connection_paths: Record<string, number> = {};
  for (const p of paths) {
    const key = p ? `${p.local}→${p.remote}` : 'unknown';
    connection_paths[key] = (connection_paths[key] ?? 0) + 1;
  }
  const viaTurn = (p: IcePath | undefined) =>
    p !== undefined && (p.route === IceRoute.Turn || [p.localAddress, p.remoteAddress].some((a) => a !== undefined && relayAddress(a)));
  return { connection_paths, volunteers_via_turn: paths.filter(viaTurn).length };
}

/** With --coturn, every honest volunteer must have been relayed through TURN. */
export function turnInvariant(s: FarmSummary): string[] {
  if (!s.turn) return [];
  const direct = s.volunteers - (s.volunteers_via_turn ?? 0);
  return direct === 0 ? [] : [`${direct} of ${s.volunteers} volunteer(s) not relayed through TURN (paths: ${JSON.stringify(s.connection_paths)})`];
}

/**
 * The farm on the operator's own STUN/TURN servers (`npm run farm -- --stun … --turn … --turn-secret …`,
 * ice-flags.ts): the host child gets the same configuration (as an --ice file and the secret),
 * each volunteer the configuration with credentials minted for it, never the secret.
 */
export function farmIce(setup: IceSetup, iceFile: string): FarmTurn {
  writeFileSync(iceFile, JSON.stringify(setup.ice));
  const hostArgs = ['--ice', iceFile, ...(setup.turn ? [...setup.turn.urls.flatMap((u) => ['--turn', u]), '--turn-secret', setup.turn.secret] : [])];
  return {
    hostArgs,
    iceFor: (volunteer) => withMintedTurn(setup, volunteer),
    isRelayAddress: () => false,
    close: () => Promise.resolve(),
  };
}
