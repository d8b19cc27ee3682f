/**
 * TURN credentials in coturn's `use-auth-secret` scheme (the "TURN REST API"): username
 * `<unix expiry>:<id>`, credential base64(HMAC-SHA1(secret, username)). coturn, sharing the
 * secret (`static-auth-secret`), checks the HMAC and refuses a username whose expiry has passed,
 * so a volunteer holds a password good for `ttlS` seconds only, and the secret stays with the
 * host (Node-only: it never reaches a page).
 */
import { createHmac } from 'node:crypto';
import type { IceGrant } from '../protocol/ice';

export interface TurnSecret {
  /** The secret coturn was started with (`--static-auth-secret`). */
  readonly secret: string;
  /** The TURN URLs the credentials are for (turn: or turns:). */
  readonly urls: readonly string[];
  /** How long minted credentials last, seconds (default DEFAULT_TURN_TTL_S). */
  readonly ttlS?: number;
}

/** A day: long enough that a volunteer refreshes it rarely (HostLink does at 3/4 of it), short enough that a leaked one soon dies. */
export const DEFAULT_TURN_TTL_S = 24 * 3600;
/** coturn reads at most this much of a username; ids are cut to fit. */
const MAX_ID_CHARS = 64;

export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** Credentials for `id` (a volunteer's identity, or the host's own id), expiring `ttlS` from `nowMs`. */
export function mintTurnGrant(turn: TurnSecret, id: string, nowMs = Date.now()): IceGrant {
  const ttlS = turn.ttlS ?? DEFAULT_TURN_TTL_S;
  const expiry = Math.floor(nowMs / 1000) + ttlS;
  const username = `${expiry}:${id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, MAX_ID_CHARS)}`;
  return { iceServers: [{ urls: [...turn.urls], username, credential: turnCredential(turn.secret, username) }], expiresAt: expiry * 1000 };
}
