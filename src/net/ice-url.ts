/**
 * Reads a page's ICE servers from a URL (`<tabgrid-volunteer ice-url>`): a signaling server's
 * `GET /ice` (scripts/ice-endpoint.ts), which mints TURN credentials for each request, so no TURN
 * password is written into the page. Parsed at the edge; an error names the URL and what is wrong.
 */
import { parseIceOffer, type IceOffer } from '../protocol/ice';

/** A signaling server answers at once; past this the page connects with what it has. */
export const ICE_FETCH_TIMEOUT_MS = 10_000;
/** Larger than any offer of MAX_ICE_SERVERS servers. */
const MAX_OFFER_BYTES = 64 * 1024;

/** Whether `url` may serve ICE servers: https, or http on this machine (a page's secrets travel in it). */
export function iceUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL`;
  }
  const local = parsed.hostname === 'localhost' || parsed.hostname === '127.0.0.1' || parsed.hostname === '[::1]';
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && local)) return undefined;
  return `${url} must be https:// (TURN credentials travel in it; http:// only on localhost)`;
}

export async function fetchIce(url: string, signal: AbortSignal, fetchFn: typeof fetch = fetch): Promise<IceOffer> {
  const problem = iceUrlProblem(url);
  if (problem) throw new Error(`ICE servers: ${problem}`);
  const timeout = AbortSignal.timeout(ICE_FETCH_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetchFn(url, { signal: AbortSignal.any([signal, timeout]), credentials: 'omit', cache: 'no-store' });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new Error(`cannot fetch ICE servers from ${url}: ${timeout.aborted ? `no answer in ${ICE_FETCH_TIMEOUT_MS / 1000} s` : (err as Error).message}`, {
      cause: err,
    });
  }
  const text = await response.text();
  if (!response.ok) {
    let said = '';
    try {
      said = String((JSON.parse(text) as { error?: unknown }).error ?? '');
    } catch {
      // Not ours: the status says enough.
    }
    throw new Error(`cannot fetch ICE servers from ${url}: HTTP ${response.status}${said ? ` (${said.slice(0, 200)})` : ''}`);
  }
  if (text.length > MAX_OFFER_BYTES) throw new Error(`ICE servers from ${url}: ${text.length} bytes, more than ${MAX_OFFER_BYTES}`);
  return parseIceOffer(text, `ICE servers from ${url}`);
}
