import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSignalServer, type Signaling } from '../../scripts/signal-server';

let server: Signaling | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await server?.close();
  server = undefined;
});

/** A PeerJS client's socket: resolves with the server's first message (OPEN) or the refusal's HTTP status. */
function peerSocket(s: Signaling, id: string): Promise<{ ws: WebSocket; first?: string; status?: number }> {
  const ws = new WebSocket(`${s.url}peerjs?key=peerjs&id=${id}&token=t${id}`);
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve({ ws, first: data.toString() }));
    ws.once('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
    ws.once('error', reject);
  });
}

async function health(s: Signaling): Promise<Record<string, unknown>> {
  const res = await fetch(s.url.replace(/^ws/, 'http').replace(/\/peerjs\/$|\/$/, '') + '/health');
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

describe('the signaling server (npm run signal)', () => {
  it('serves PeerJS on its path and answers health in JSON', async () => {
    server = await startSignalServer({ port: 0, path: 'peerjs' });
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/peerjs\/$/);
    expect(await health(server)).toMatchObject({ ok: true, peers: 0, sockets: 0, tls: false });
    const a = await peerSocket(server, 'a');
    expect(JSON.parse(a.first!)).toMatchObject({ type: 'OPEN' });
    expect(await health(server)).toMatchObject({ peers: 1, sockets: 1, ips: 1 });
  });

  it('caps WebSocket connections per IP with 429, and a closed one frees its place', async () => {
    server = await startSignalServer({ port: 0, maxPerIp: 2 });
    const a = await peerSocket(server, 'a');
    await peerSocket(server, 'b');
    expect((await peerSocket(server, 'c')).status).toBe(429);
    expect(await health(server)).toMatchObject({ sockets: 2, refused: 1 });
    const closed = new Promise((r) => a.ws.once('close', r));
    a.ws.close();
    await closed;
    // The server sees the close a moment after the client does.
    for (let i = 0; i < 100 && (await health(server)).sockets !== 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse((await peerSocket(server, 'd')).first!)).toMatchObject({ type: 'OPEN' });
    expect(await health(server)).toMatchObject({ sockets: 2, ips: 1 });
  });

  it('close drops every peer; a bad path or cap is refused up front', async () => {
    server = await startSignalServer({ port: 0 });
    const a = await peerSocket(server, 'a');
    const dropped = new Promise((r) => a.ws.once('close', r));
    await server.close();
    server = undefined;
    await dropped;
    await expect(startSignalServer({ port: 0, path: '/a b' })).rejects.toThrow(/signaling path "\/a b" must be/);
    await expect(startSignalServer({ port: 0, maxPerIp: 0 })).rejects.toThrow(/must be a whole number ≥ 1/);
  });
});
