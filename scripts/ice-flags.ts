/**
 * The ICE flags every Node shell takes (`npm run host`, `npm run volunteer`, the farm's host):
 *   --ice FILE.json          an ICE configuration (protocol/ice.ts: {"iceServers": [...], "iceTransportPolicy": "relay"})
 *   --stun URL               a STUN server (repeatable)
 *   --turn URL               a TURN server (repeatable), with either
 *     --turn-user U --turn-credential C   fixed credentials, or
 *     --turn-secret S        coturn's static-auth-secret (or TABGRID_TURN_SECRET, kept out of `ps`): credentials are minted
 *   --turn-ttl SECONDS       how long minted credentials last (default a day)
 *   --relay-only             iceTransportPolicy relay: every connection through TURN
 * Everything is parsed into one IceConfig at the edge, with the flag named in any error.
 */
import { readFileSync } from 'node:fs';
import { IcePolicy, parseIceConfig, type IceConfig, type IceServer } from '../src/protocol/ice';
import { DEFAULT_TURN_TTL_S, mintTurnGrant, type TurnSecret } from '../src/host/turn-credentials';
import type { OptionDecls } from './args';

const ICE = 'ICE (STUN/TURN; scripts/ice-flags.ts)';
export const ICE_FLAGS = {
  ice: { type: 'string', value: 'FILE.json', group: ICE, describe: 'an ICE configuration: {"iceServers": [...], "iceTransportPolicy": "relay"}' },
  stun: { type: 'string', multiple: true, value: 'URL', group: ICE, describe: 'a STUN server' },
  turn: { type: 'string', multiple: true, value: 'URL', group: ICE, describe: 'a TURN server, with --turn-user/--turn-credential or --turn-secret' },
  'turn-user': { type: 'string', value: 'U', group: ICE, describe: "the TURN servers' fixed user name (with --turn-credential)" },
  'turn-credential': { type: 'string', value: 'C', group: ICE, describe: "the TURN servers' fixed credential (with --turn-user)" },
  'turn-secret': {
    type: 'string',
    value: 'S',
    group: ICE,
    env: 'TABGRID_TURN_SECRET',
    describe: "coturn's static-auth-secret: short-lived credentials are minted from it (the variable keeps it out of ps)",
  },
  'turn-ttl': {
    type: 'string',
    value: 'SECONDS',
    group: ICE,
    shownDefault: `${DEFAULT_TURN_TTL_S}, a day`,
    describe: 'how long minted credentials last, 10..2592000',
  },
  'relay-only': { type: 'boolean', group: ICE, describe: 'iceTransportPolicy relay: every connection through TURN' },
} as const satisfies OptionDecls;

export interface IceFlagValues {
  readonly ice?: string;
  readonly stun?: string[];
  readonly turn?: string[];
  readonly 'turn-user'?: string;
  readonly 'turn-credential'?: string;
  readonly 'turn-secret'?: string;
  readonly 'turn-ttl'?: string;
  readonly 'relay-only'?: boolean;
}

export interface IceSetup {
  /** What this process connects with (fixed TURN credentials included; minted ones are the caller's: `turn`). */
  readonly ice: IceConfig;
  /** With --turn-secret: the secret and URLs to mint credentials from. */
  readonly turn?: TurnSecret;
}

export function iceFromFlags(values: IceFlagValues, env: Record<string, string | undefined> = process.env): IceSetup {
  let base: IceConfig = { iceServers: [] };
  if (values.ice !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.ice, 'utf8');
    } catch (err) {
      throw new Error(`--ice ${values.ice}: cannot read it (${(err as Error).message})`, { cause: err });
    }
    base = parseIceConfig(text, `--ice ${values.ice}`);
  }
  const secret = values['turn-secret'] ?? env.TABGRID_TURN_SECRET;
  const turnUrls = values.turn ?? [];
  const user = values['turn-user'];
  const credential = values['turn-credential'];
  if ((user === undefined) !== (credential === undefined)) throw new Error('--turn-user and --turn-credential go together');
  if (user !== undefined && secret !== undefined) throw new Error('give --turn-user/--turn-credential or --turn-secret, not both');
  if (turnUrls.length > 0 && user === undefined && secret === undefined) {
    throw new Error('--turn needs credentials: --turn-user and --turn-credential, or --turn-secret (TABGRID_TURN_SECRET) to mint short-lived ones');
  }
  if ((user !== undefined || secret !== undefined) && turnUrls.length === 0) throw new Error('TURN credentials given without a --turn URL');
  const ttl = values['turn-ttl'] === undefined ? undefined : Number(values['turn-ttl']);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 10 && ttl <= 30 * 86_400))
    throw new Error(`--turn-ttl ${values['turn-ttl']} must be whole seconds in 10..2592000`);
  const servers: IceServer[] = [...base.iceServers];
  for (const url of values.stun ?? []) servers.push({ urls: url });
  if (user !== undefined) servers.push({ urls: turnUrls, username: user, credential });
  const policy = values['relay-only'] ? IcePolicy.Relay : base.iceTransportPolicy;
  // One parse of the whole, so a bad --stun or --turn URL is refused with its place named.
  const ice = parseIceConfig({ iceServers: servers, ...(policy ? { iceTransportPolicy: policy } : {}) }, 'the --stun/--turn flags');
  if (secret !== undefined) parseIceConfig({ iceServers: [{ urls: turnUrls, username: 'x', credential: 'x' }] }, 'the --turn flags');
  if (ice.iceTransportPolicy === IcePolicy.Relay && !servers.some((s) => s.username !== undefined) && secret === undefined) {
    throw new Error('--relay-only needs a TURN server (--turn with credentials, or one in --ice)');
  }
  return { ice, ...(secret !== undefined ? { turn: { secret, urls: turnUrls, ...(ttl ? { ttlS: ttl } : {}) } } : {}) };
}

/** For a process that holds the secret itself (a Node volunteer run by the operator): its config with credentials minted now for `id`. */
export function withMintedTurn(setup: IceSetup, id: string): IceConfig {
  if (!setup.turn) return setup.ice;
  const grant = mintTurnGrant(setup.turn, id);
  return { ...setup.ice, iceServers: [...setup.ice.iceServers, ...grant.iceServers] };
}
