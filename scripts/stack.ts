/**
 * The local stack `npm start` and the e2e tests run: a PeerServer (signaling), the Vite server
 * for the pages, and a job host on PeerJS in Node. Everything binds to loopback.
 */
import './node-webrtc';
import { createServer, type ViteDevServer } from 'vite';
import type { HostCore } from '../src/host/host-core';
import { startHost, watchUrl } from '../src/host/node-host';
import { newObserverToken } from '../src/proof/observer-token';
import { openHostStore } from '../src/host/store/open-host-store';
import { DEMO_JOB, type JobSpec } from '../src/host/job';
import type { PeerHost } from '../src/host/peer-host';
import { DEMO_HOST_ID } from '../src/net/signal';
import { startSignalServer, type Signaling, type SignalingOptions } from './signal-server';

export interface StackOptions {
  readonly signalPort?: number;
  readonly webPort?: number;
  readonly hostId?: string;
  /** The jobs to serve (default: the demo job). */
  readonly jobs?: readonly JobSpec[];
  /** Where the host keeps its state and key: a store spec for openHostStore (default: memory). */
  readonly db?: string;
  readonly leaseMs?: number;
  readonly maxDirect?: number;
  readonly log?: (line: string) => void;
  /** The token a dashboard proves to watch the host (default: a fresh random one). */
  readonly observerToken?: string;
}

export interface Stack {
  readonly signalUrl: string;
  readonly webUrl: string;
  readonly hostId: string;
  /** The token a dashboard proves to watch the host (watchUrl carries it). */
  readonly observerToken: string;
  /** The dashboard watching this stack's host, read-only. */
  readonly watchUrl: string;
  readonly core: HostCore;
  readonly host: PeerHost;
  close(): Promise<void>;
}

export type { Signaling } from './signal-server';

/** Every peer on loopback shares one address: the per-IP cap would cap the whole local stack (a farm of 48 volunteers). */
const LOOPBACK_MAX_PER_IP = 100_000;

/** A signaling server on loopback (npm start, the farm, the tests); `npm run signal` is the same server with its flags (signal-server.ts). */
export function startSignaling(port: number, options: Omit<SignalingOptions, 'port'> = {}): Promise<Signaling> {
  return startSignalServer({ port, maxPerIp: LOOPBACK_MAX_PER_IP, ...options });
}

export async function startWeb(port: number, env: { signalUrl: string; hostId: string }): Promise<ViteDevServer> {
  // The page reads these as its defaults (import.meta.env), so it finds this stack unaided.
  process.env.VITE_TABGRID_SIGNAL = env.signalUrl;
  process.env.VITE_TABGRID_HOST = env.hostId;
  const server = await createServer({
    configFile: new URL('../vite.config.ts', import.meta.url).pathname,
    // No HMR socket: Vite's client reloads the page whenever that socket drops and comes back, and
    // a frozen or long-hidden volunteer tab loses it (the frozen-page e2e saw its page reloaded on
    // thaw). A volunteer page must only ever reload when its visitor does.
    server: { port, strictPort: true, host: 'localhost', ws: false },
    logLevel: 'warn',
  });
  await server.listen();
  return server;
}

export { startHost, watchUrl, type HostOptions } from '../src/host/node-host';

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const hostId = options.hostId ?? DEMO_HOST_ID;
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const signaling = await startSignaling(options.signalPort ?? 9000);
    closers.push(() => signaling.close());
    const web = await startWeb(options.webPort ?? 5173, { signalUrl: signaling.url, hostId });
    closers.push(() => web.close());
    const store = await openHostStore(options.db);
    closers.push(() => store.close());
    const observerToken = options.observerToken ?? newObserverToken();
    const { core, host } = await startHost({
      observerToken,
      jobs: options.jobs ?? [DEMO_JOB],
      signalUrl: signaling.url,
      hostId,
      log: options.log,
      store,
      leaseMs: options.leaseMs,
      maxDirect: options.maxDirect,
    });
    closers.push(() => host.close());
    const webUrl = `http://localhost:${web.config.server.port}/`;
    const watch = watchUrl(`${webUrl}dashboard.html`, signaling.url, hostId, observerToken);
    return { signalUrl: signaling.url, webUrl, hostId, observerToken, watchUrl: watch, core, host, close };
  } catch (err) {
    await close();
    throw err;
  }
}
