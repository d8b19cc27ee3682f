/**
 * ICE configuration (STUN and TURN servers, and whether to use relays only), as every peer
 * takes it: a `--ice FILE.json` of the Node shells, the widget's and the dashboard's `ice`
 * attribute or JSON <script>, and the TURN credentials a host hands volunteers in its welcome.
 * One schema, parsed at the edge (parseIceConfig) with the field and the problem named.
 */
import * as v from 'valibot';
import { int, list, oneOf, record, text } from './fields';

/** Most ICE servers one configuration lists (a page's, a welcome's). */
export const MAX_ICE_SERVERS = 8;
/** Most URLs one ICE server entry lists. */
export const MAX_ICE_URLS = 8;

/** `iceTransportPolicy`: `relay` uses TURN relays only (a test forcing every connection through TURN, or a site hiding addresses). */
export const IcePolicy = { All: 'all', Relay: 'relay' } as const;
export type IcePolicy = (typeof IcePolicy)[keyof typeof IcePolicy];

const urlProblem = 'must be a stun:, turn: or turns: URL (e.g. turn:turn.example.org:3478?transport=udp)';
const iceUrl = v.pipe(v.string(urlProblem), v.maxLength(512, urlProblem), v.regex(/^(stun|stuns|turn|turns):[^\s]+$/, urlProblem));

/** One RTCIceServer: TURN entries need a username and a credential (WebRTC refuses them without). */
export const iceServerSchema = v.pipe(
  record({
    urls: v.union([iceUrl, list(iceUrl, MAX_ICE_URLS)], urlProblem),
    username: v.optional(text(512)),
    credential: v.optional(text(512)),
  }),
  v.check(
    (s) => !urlsOf(s).some((u) => u.startsWith('turn')) || (s.username !== undefined && s.credential !== undefined),
    'a TURN server needs a username and a credential (or let the host mint them: --turn-secret)',
  ),
);

export const iceServersSchema = list(iceServerSchema, MAX_ICE_SERVERS);

/** What a peer connects with: RTCConfiguration's ICE part. */
export const iceConfigSchema = record({
  iceServers: iceServersSchema,
  iceTransportPolicy: v.optional(oneOf(IcePolicy)),
});
export type IceServer = v.InferOutput<typeof iceServerSchema>;
export type IceConfig = v.InferOutput<typeof iceConfigSchema>;

/**
 * Short-lived TURN credentials a host minted (coturn's `use-auth-secret` scheme,
 * host/turn-credentials.ts): the TURN servers with them, and when they expire (ms since the
 * epoch). The welcome carries one; `ice` answers `get-ice` with a fresh one.
 */
export const iceGrantEntries = {
  iceServers: iceServersSchema,
  expiresAt: int(0, Number.MAX_SAFE_INTEGER),
};
export const iceGrantSchema = record(iceGrantEntries);
export type IceGrant = v.InferOutput<typeof iceGrantSchema>;

/**
 * What a signaling server's `GET /ice` answers (scripts/ice-endpoint.ts; a page's `ice-url`):
 * an ICE configuration, and when its minted TURN credentials expire, if it minted any.
 */
export const iceOfferSchema = record({
  iceServers: iceServersSchema,
  iceTransportPolicy: v.optional(oneOf(IcePolicy)),
  expiresAt: v.optional(int(0, Number.MAX_SAFE_INTEGER)),
});
export type IceOffer = v.InferOutput<typeof iceOfferSchema>;

export function urlsOf(server: { readonly urls: string | readonly string[] }): readonly string[] {
  return typeof server.urls === 'string' ? [server.urls] : server.urls;
}

/** No servers, every candidate: what a peer on one machine or one LAN needs. */
export const NO_ICE: IceConfig = { iceServers: [] };

/**
 * Parses an ICE configuration from JSON text or a parsed value; `source` names where it came
 * from in the error ("--ice turn.json", "the ice attribute"). Throws an Error saying which field
 * is wrong and how.
 */
export function parseIceConfig(raw: unknown, source: string): IceConfig {
  // A bare list of servers is the common shorthand.
  return parseNamed(iceConfigSchema, raw, source, (value) => (Array.isArray(value) ? { iceServers: value } : value));
}

/** Parses what a signaling server's `GET /ice` answered (JSON text), errors as parseIceConfig's. */
export function parseIceOffer(text: string, source: string): IceOffer {
  return parseNamed(iceOfferSchema, text, source);
}

function parseNamed<S extends v.GenericSchema>(schema: S, raw: unknown, source: string, shape: (value: unknown) => unknown = (x) => x): v.InferOutput<S> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new Error(`${source}: not JSON (${(err as Error).message})`, { cause: err });
    }
  }
  const parsed = v.safeParse(schema, shape(value));
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  // An unknown field's issue sits at that field; it is the object around it that is wrong.
  const unexpected = issue.type === 'strict_object' && issue.expected === 'never';
  const path = (unexpected ? (issue.path ?? []).slice(0, -1) : (issue.path ?? []))
    .map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`))
    .join('')
    .replace(/^\./, '');
  throw new Error(unexpected ? `${source}: ${path ? `${path}: ` : ''}${issue.message}` : `${source}: ${path ? `${path} ` : ''}${issue.message}`);
}

/** `base` with `grant`'s TURN servers added (a grant's servers replace any TURN entry with the same URLs). */
export function withGrant(base: IceConfig, grant: IceGrant | undefined): IceConfig {
  if (!grant) return base;
  const granted = new Set(grant.iceServers.flatMap(urlsOf));
  const kept = base.iceServers.filter((s) => !urlsOf(s).some((u) => granted.has(u)));
  return { ...base, iceServers: [...kept, ...grant.iceServers] };
}
