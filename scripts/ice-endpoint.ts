/**
 * `GET /ice` on the signaling server (`npm run signal -- --turn URL --turn-secret S …`): the ICE
 * configuration a page connects with, TURN credentials minted for each request (coturn's
 * `use-auth-secret` scheme, src/host/turn-credentials.ts). A page served from a CDN has no
 * backend to mint its first credentials, and a TURN password written into the page would be
 * everyone's for good; this way the secret stays on the server and each visitor's credentials
 * die after `--turn-ttl`. The widget reads it with `ice-url` (src/net/ice-url.ts).
 *
 * Bounded: requests per client per minute (429 past it; a client is an IPv4 address or an IPv6
 * /64, which one subscriber holds whole), at most `maxClients` clients in a minute (429 for new
 * ones past it), the table kept in the order windows started so expired ones go from its front
 * in constant time a request; CORS only for the listed origins when some are listed (403
 * otherwise), else any.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mintTurnGrant, type TurnSecret } from '../src/host/turn-credentials';
import { withGrant, type IceConfig, type IceOffer } from '../src/protocol/ice';

export interface IceEndpointOptions {
  /** STUN servers, fixed TURN servers and the policy, as every request gets them. */
  readonly base: IceConfig;
  /** Mints fresh TURN credentials for each request. */
  readonly turn?: TurnSecret;
  /** Origins (scheme://host[:port]) whose pages may read it; none listed: any page. */
  readonly origins?: readonly string[];
  /** Requests one client may make a minute (default DEFAULT_ICE_PER_MINUTE). */
  readonly perMinute?: number;
  /** Clients tracked in one minute at most (default DEFAULT_ICE_CLIENTS); new ones past it get 429. */
  readonly maxClients?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

/** A page asks once per connection it opens without fresh credentials: a tab, its reconnects, a few tabs behind one NAT. */
export const DEFAULT_ICE_PER_MINUTE = 30;
/** Far more pages than one signaling server greets in a minute; a few MiB of table at most. */
export const DEFAULT_ICE_CLIENTS = 50_000;
const WINDOW_MS = 60_000;

/** The request handler, given how to tell the client's IP (the per-IP cap's, so a proxy is seen through alike). */
export function iceEndpoint(options: IceEndpointOptions, clientIp: (req: IncomingMessage) => string): (req: IncomingMessage, res: ServerResponse) => void {
  const perMinute = options.perMinute ?? DEFAULT_ICE_PER_MINUTE;
  if (!Number.isInteger(perMinute) || perMinute < 1) throw new Error(`ICE requests per minute ${perMinute} must be a whole number ≥ 1`);
  const origins = new Set(options.origins ?? []);
  const maxClients = options.maxClients ?? DEFAULT_ICE_CLIENTS;
  const clock = options.now ?? Date.now;
  /** By client, in the order their windows started. */
  const windows = new Map<string, { start: number; count: number }>();
  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  return (req, res) => {
    const origin = req.headers.origin;
    const allowed = origins.size === 0 || (origin !== undefined && origins.has(origin));
    const cors: Record<string, string> =
      origins.size === 0 ? { 'Access-Control-Allow-Origin': '*' } : allowed ? { 'Access-Control-Allow-Origin': origin!, Vary: 'Origin' } : { Vary: 'Origin' };
    // Every request counts, refused ones too: probing origins costs the same as asking.
    const now = clock();
    // Oldest windows first: those that passed go from the front, each entry once (constant time a request, amortized).
    for (const [old, passed] of windows) {
      if (now - passed.start < WINDOW_MS) break;
      windows.delete(old);
    }
    const key = clientKey(clientIp(req));
    let w = windows.get(key);
    if (!w || now - w.start >= WINDOW_MS) {
      if (!w && windows.size >= maxClients)
        return answer(res, 429, { error: 'too many clients are asking for ICE servers this minute; try again shortly' }, { ...cors, 'Retry-After': '60' });
      // Deleted first, so the map stays in the order windows started.
      windows.delete(key);
      windows.set(key, (w = { start: now, count: 0 }));
    }
    if (++w.count > perMinute) {
      const retryS = Math.ceil((w.start + WINDOW_MS - now) / 1000);
      return answer(
        res,
        429,
        { error: `more than ${perMinute} ICE requests a minute from this address; try again in ${retryS} s` },
        { ...cors, 'Retry-After': String(retryS) },
      );
    }
    if (!allowed) return answer(res, 403, { error: `origin ${origin ?? '(none)'} may not read ICE servers here (--ice-origin lists those that may)` }, cors);
    // A random name, not the client's address: coturn logs it, and the page learns nothing from it.
    const grant = options.turn && mintTurnGrant(options.turn, `page-${randomBytes(6).toString('hex')}`, now);
    const offer: IceOffer = { ...withGrant(options.base, grant), ...(grant ? { expiresAt: grant.expiresAt } : {}) };
    answer(res, 200, offer, cors);
  };
}

/**
 * Whom a request counts against: an IPv4 address (also when written IPv4-mapped), or an IPv6
 * address's /64: a subscriber is given a /64 (or more) and may use every address in it.
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}
