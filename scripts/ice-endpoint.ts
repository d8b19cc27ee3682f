/**
 * `GET /ice` on the signaling server (`npm run signal -- --turn URL --turn-secret S …`): the ICE
 * configuration a page connects with, TURN credentials minted for each request (coturn's
 * `use-auth-secret` scheme, src/host/turn-credentials.ts). A page served from a CDN has no
 * backend to mint its first credentials, and a TURN password written into the page would be
 * everyone's for good; this way the secret stays on the server and each visitor's credentials
 * die after `--turn-ttl`. The widget reads it with `ice-url` (src/net/ice-url.ts).
 *
 * Bounded: requests per client IP per minute (429 past it), the table of IPs pruned as windows
 * pass; CORS only for the listed origins when some are listed (403 otherwise), else any.
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
  /** Requests one client IP may make a minute (default DEFAULT_ICE_PER_MINUTE). */
  readonly perMinute?: number;
}

/** A page asks once per connection it opens without fresh credentials: a tab, its reconnects, a few tabs behind one NAT. */
export const DEFAULT_ICE_PER_MINUTE = 30;
const WINDOW_MS = 60_000;
/** Past this many client IPs in the table, those whose window has passed go. */
const PRUNE_AT = 10_000;

/** The request handler, given how to tell the client's IP (the per-IP cap's, so a proxy is seen through alike). */
export function iceEndpoint(options: IceEndpointOptions, clientIp: (req: IncomingMessage) => string): (req: IncomingMessage, res: ServerResponse) => void {
  const perMinute = options.perMinute ?? DEFAULT_ICE_PER_MINUTE;
  if (!Number.isInteger(perMinute) || perMinute < 1) throw new Error(`ICE requests per minute ${perMinute} must be a whole number ≥ 1`);
  const origins = new Set(options.origins ?? []);
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
    const now = Date.now();
    if (windows.size >= PRUNE_AT) for (const [ip, w] of windows) if (now - w.start >= WINDOW_MS) windows.delete(ip);
    const ip = clientIp(req);
    let w = windows.get(ip);
    if (!w || now - w.start >= WINDOW_MS) windows.set(ip, (w = { start: now, count: 0 }));
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
