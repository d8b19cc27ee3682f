/**
 * GET /ice on the signaling server (scripts/ice-endpoint.ts), read by pages through `ice-url`
 * (src/net/ice-url.ts, HostLink): TURN credentials minted per request that coturn's HMAC check
 * accepts, CORS by origin, a per-IP rate, and a HostLink that connects with what it read (or,
 * when it cannot read them, with what it has, saying why if the connection then fails).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientKey, iceEndpoint } from '../../scripts/ice-endpoint';
import { startSignalServer, type Signaling } from '../../scripts/signal-server';
import { turnCredential } from '../../src/host/turn-credentials';
import type { Link, LinkHandlers } from '../../src/net/link';
import { fetchIce, iceUrlProblem } from '../../src/net/ice-url';
import { encodeMessage, type VolunteerMessage } from '../../src/protocol';
import { parseVolunteerMessage } from '../../src/validate';
import { HostLink } from '../../src/volunteer/host-link';
import { newIdentity, welcomeFor } from '../helpers/signing';

let server: Signaling | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const SECRET = 'a-shared-secret';
const TURN = 'turn:turn.example.org:3478?transport=udp';
const STUN = 'stun:stun.example.org:3478';
const iceUrlOf = (s: Signaling) => s.url.replace(/^ws/, 'http').replace(/\/$/, '') + '/ice';

async function withIce(options: { origins?: string[]; perMinute?: number } = {}): Promise<Signaling> {
  server = await startSignalServer({
    port: 0,
    ice: { base: { iceServers: [{ urls: STUN }] }, turn: { secret: SECRET, urls: [TURN], ttlS: 600 }, ...options },
  });
  return server;
}

describe('GET /ice on the signaling server', () => {
  it('hands each request its own TURN credentials, good for the TTL, that the shared secret verifies', async () => {
    const s = await withIce();
    const before = Date.now();
    const [a, b] = [await fetchIce(iceUrlOf(s), new AbortController().signal), await fetchIce(iceUrlOf(s), new AbortController().signal)];
    for (const offer of [a, b]) {
      expect(offer.iceServers[0]).toEqual({ urls: STUN });
      const turn = offer.iceServers[1]!;
      expect(turn.urls).toEqual([TURN]);
      const [expiry, name] = turn.username!.split(':');
      expect(Number(expiry) * 1000).toBe(offer.expiresAt);
      expect(offer.expiresAt! - before).toBeGreaterThan(590_000);
      expect(offer.expiresAt! - before).toBeLessThan(610_000);
      expect(name).toMatch(/^page-[0-9a-f]{12}$/);
      expect(turn.credential).toBe(turnCredential(SECRET, turn.username!));
    }
    expect(a.iceServers[1]!.username).not.toBe(b.iceServers[1]!.username);
    const res = await fetch(iceUrlOf(s));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(s.health().ice).toBe(true);
  });

  it('answers only the listed origins when some are listed, and at most perMinute requests a minute from one address', async () => {
    const s = await withIce({ origins: ['https://site.example'], perMinute: 3 });
    const ok = await fetch(iceUrlOf(s), { headers: { Origin: 'https://site.example' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://site.example');
    const other = await fetch(iceUrlOf(s), { headers: { Origin: 'https://elsewhere.example' } });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: string }).error).toMatch(/origin https:\/\/elsewhere\.example may not read/);
    // The refused one counted too: this is the third and last of the minute.
    expect((await fetch(iceUrlOf(s), { headers: { Origin: 'https://site.example' } })).status).toBe(200);
    const limited = await fetch(iceUrlOf(s), { headers: { Origin: 'https://site.example' } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await expect(fetchIce(iceUrlOf(s), new AbortController().signal)).rejects.toThrow(/HTTP (403|429)/);
  });

  it('is not served without ICE servers; a page refuses a URL that is not https (or http on localhost)', async () => {
    server = await startSignalServer({ port: 0 });
    expect((await fetch(iceUrlOf(server))).status).toBe(404);
    expect(server.health().ice).toBe(false);
    await expect(fetchIce(iceUrlOf(server), new AbortController().signal)).rejects.toThrow(/HTTP 404/);
    expect(iceUrlProblem('http://signal.example.org/ice')).toMatch(/must be https/);
    expect(iceUrlProblem('not a url')).toMatch(/is not a URL/);
    expect(iceUrlProblem('https://signal.example.org/ice')).toBeUndefined();
    expect(iceUrlProblem('http://localhost:9000/ice')).toBeUndefined();
    await expect(fetchIce('http://signal.example.org/ice', new AbortController().signal)).rejects.toThrow(/must be https/);
  });
});

describe('the /ice handler’s bounds', () => {
  /** Calls the handler as a request from `ip` at the handler's clock; resolves with the status. */
  function asker(handler: ReturnType<typeof iceEndpoint>) {
    return (ip: string): number => {
      let status = 0;
      const res = { writeHead: (code: number) => (status = code), end: () => undefined } as unknown as ServerResponse;
      handler({ headers: {}, socket: { remoteAddress: ip } } as unknown as IncomingMessage, res);
      return status;
    };
  }

  it('counts an IPv6 /64 as one client, tracks at most maxClients a minute, and forgets windows that passed', () => {
    let now = 1_000_000;
    const ask = asker(iceEndpoint({ base: { iceServers: [{ urls: STUN }] }, perMinute: 2, maxClients: 3, now: () => now }, (req) => req.socket.remoteAddress!));
    // Two addresses of one /64 share its two requests a minute.
    expect([ask('2001:db8:1:2::1'), ask('2001:db8:1:2:ffff::9'), ask('2001:db8:1:2::77')]).toEqual([200, 200, 429]);
    expect(ask('2001:db8:1:3::1')).toBe(200);
    expect(ask('::ffff:192.0.2.1')).toBe(200);
    // Three clients this minute: a fourth is refused, the known ones are still counted.
    expect(ask('192.0.2.99')).toBe(429);
    expect(ask('192.0.2.1')).toBe(200);
    // A minute later every window has passed: the table is empty again, new clients are taken.
    now += 60_000;
    expect([ask('192.0.2.99'), ask('198.51.100.7'), ask('2001:db8:1:2::1')]).toEqual([200, 200, 200]);
  });

  it('names clients by IPv4 address or IPv6 /64', () => {
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('HostLink with an iceUrl', () => {
  /** A host that welcomes every hello; `fail` makes connecting throw instead. */
  async function host(fail?: () => boolean) {
    const hostKey = await newIdentity();
    let connects = 0;
    const connect = async (handlers: LinkHandlers): Promise<Link> => {
      connects++;
      if (fail?.()) throw new Error('no ICE path to the host');
      let open = true;
      return {
        peer: 'host',
        send(text) {
          const m: VolunteerMessage = parseVolunteerMessage(text);
          if (m.type === 'hello') setTimeout(() => open && handlers.onText(encodeMessage(welcomeFor(m.id, hostKey.publicKey))), 0);
        },
        sendData: () => undefined,
        close: () => {
          if (!open) return;
          open = false;
          handlers.onClose();
        },
      };
    };
    return { connect, connects: () => connects };
  }

  it('reads the servers before connecting and connects with them; reads again only when they are about to expire', async () => {
    const s = await withIce();
    const h = await host();
    const link = new HostLink(
      { signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect: h.connect, iceUrl: iceUrlOf(s) },
      () => undefined,
    );
    await link.open(new AbortController().signal);
    const turn = link.ice.iceServers.find((x) => x.username !== undefined)!;
    expect(turn.credential).toBe(turnCredential(SECRET, turn.username!));
    link.close();
    await link.open(new AbortController().signal);
    // Good for ten minutes: the second connection used the same credentials.
    expect(link.ice.iceServers.find((x) => x.username !== undefined)!.username).toBe(turn.username);
    link.close();
  });

  it('connects with what it has when the URL cannot be read, and says so when the connection then fails', async () => {
    server = await startSignalServer({ port: 0 });
    let failing = false;
    const h = await host(() => failing);
    const link = new HostLink(
      {
        signalUrl: 'ws://unused/',
        hostId: 'h',
        identity: await newIdentity(),
        connect: h.connect,
        iceUrl: iceUrlOf(server),
        ice: { iceServers: [{ urls: STUN }] },
      },
      () => undefined,
    );
    await link.open(new AbortController().signal);
    expect(link.ice).toEqual({ iceServers: [{ urls: STUN }] });
    link.close();
    failing = true;
    await expect(link.open(new AbortController().signal)).rejects.toThrow(/no ICE path to the host \(and the site's ICE servers could not be read: .*HTTP 404/);
  });
});
