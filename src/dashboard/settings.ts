import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../net/signal';
import { parseIceConfig, type IceConfig } from '../protocol/ice';

/** Where the dashboard's host registers: the signaling server and the peer id volunteers dial; the STUN/TURN servers it connects with. */
export interface HostSettings {
  readonly signalUrl: string;
  readonly hostId: string;
  readonly ice?: IceConfig;
}

/**
 * The dashboard's ICE configuration: its `ice` attribute, else a child
 * `<script type="application/json" data-tabgrid-ice>`, else the page's `?ice=` (JSON; protocol/ice.ts).
 * Throws naming the source and the field when one is not a valid configuration.
 */
export function resolveIce(element: Element, search: string): IceConfig | undefined {
  const attr = element.getAttribute('ice');
  if (attr !== null) return parseIceConfig(attr, 'the ice attribute');
  const script = element.querySelector('script[type="application/json"][data-tabgrid-ice]');
  if (script) return parseIceConfig(script.textContent ?? '', 'the ice <script>');
  const param = new URLSearchParams(search).get('ice');
  return param === null ? undefined : parseIceConfig(param, 'the ?ice= parameter');
}

/**
 * The settings from the page's query (`?signal=…&host=…`, as index.html takes them), else the
 * build's defaults (VITE_TABGRID_SIGNAL / VITE_TABGRID_HOST, which `npm start` and the e2e stack
 * set), else the local demo stack's. The same defaults as the volunteer widget, so a dashboard
 * and a volunteer page opened side by side find each other.
 */
export function resolveSettings(search: string, env: Record<string, string | undefined>): HostSettings {
  const params = new URLSearchParams(search);
  const pick = (name: string) => params.get(name)?.trim() || undefined;
  return {
    signalUrl: pick('signal') ?? env.VITE_TABGRID_SIGNAL ?? DEFAULT_SIGNAL_URL,
    hostId: pick('host') ?? env.VITE_TABGRID_HOST ?? DEMO_HOST_ID,
  };
}

/** The query string that reopens the dashboard with `settings` (the other parameters kept). */
export function settingsQuery(search: string, settings: HostSettings): string {
  const params = new URLSearchParams(search);
  params.set('signal', settings.signalUrl);
  params.set('host', settings.hostId);
  return `?${params}`;
}

/** The volunteer page's URL for this host, to share with volunteers. */
export function volunteerUrl(origin: string, settings: HostSettings): string {
  return `${origin}/?${new URLSearchParams({ host: settings.hostId, signal: settings.signalUrl })}`;
}

/** A Node host the dashboard watches (read-only) instead of running one: `?watch=HOSTID&signal=URL#token=TOKEN`. */
export interface WatchSettings {
  readonly signalUrl: string;
  readonly hostId: string;
  /** The host's observer token, from the URL's fragment (never sent to a web server); empty when the URL has none. */
  readonly token: string;
  readonly ice?: IceConfig;
}

/**
 * The watch settings in the page's URL, or undefined when it asks for none. The token rides in
 * the fragment (`#token=…`), which browsers keep out of requests and Referer headers; the
 * signaling server defaults as for a page host.
 */
export function resolveWatch(search: string, hash: string, env: Record<string, string | undefined>): WatchSettings | undefined {
  const params = new URLSearchParams(search);
  const hostId = params.get('watch')?.trim();
  if (!hostId) return undefined;
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token')?.trim() ?? '';
  return { hostId, token, signalUrl: params.get('signal')?.trim() || env.VITE_TABGRID_SIGNAL || DEFAULT_SIGNAL_URL };
}
