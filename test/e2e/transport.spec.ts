import '../../scripts/node-webrtc';
import { expect, test } from '@playwright/test';
import { startSignaling, type Signaling } from '../../scripts/stack';
import { FRAME_BYTES } from '../../src/net/frames';
import { CONNECT_OPTIONS, linkFromConnection, whenOpen, type Link } from '../../src/net/link';
import { Peer } from '../../src/net/peerjs';
import { peerOptions } from '../../src/net/signal';
import { freePort } from './stack-fixture';

let signaling: Signaling;
test.beforeAll(async () => {
  signaling = await startSignaling(await freePort());
});
test.afterAll(async () => {
  await signaling?.close();
});

/** Node-to-Node WebRTC setup on loopback now and then fails once; retry as a volunteer would. */
async function pair() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pairOnce(attempt);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** Two PeerJS peers in Node (node-datachannel), linked both ways. */
async function pairOnce(attempt: number): Promise<{ a: Link; b: Link; gotA: unknown[]; gotB: unknown[]; close: () => void }> {
  const pa = new Peer(`transport-a-${process.pid}-${attempt}`, peerOptions(signaling.url));
  const pb = new Peer(`transport-b-${process.pid}-${attempt}`, peerOptions(signaling.url));
  await Promise.all([pa, pb].map((p) => new Promise((r) => p.once('open', r))));
  const gotA: unknown[] = [];
  const gotB: unknown[] = [];
  const incoming = new Promise<Link>((resolve) =>
    pb.on('connection', (conn) => resolve(linkFromConnection(conn, { onText: (t) => gotB.push(t), onClose: () => undefined }))),
  );
  const close = () => (pa.destroy(), pb.destroy());
  try {
    const conn = pa.connect(pb.id, CONNECT_OPTIONS);
    await whenOpen(conn, 10_000);
    const a = linkFromConnection(conn, { onText: (t) => gotA.push(t), onClose: () => undefined });
    const b = await incoming;
    return { a, b, gotA, gotB, close };
  } catch (err) {
    close();
    throw err;
  }
}

test('messages far over 16 KiB cross a data channel as checked frames, in order with small ones', async () => {
  const { a, b, gotA, gotB, close } = await pair();
  try {
    const big = JSON.stringify({ type: 'x', data: 'é'.repeat(200_000) + 'z'.repeat(123_457) }); // multi-byte UTF-8 too
    a.send('{"n":1}');
    a.send(big);
    a.send('{"n":2}');
    b.send(big);
    await expect.poll(() => gotB.length, { timeout: 20_000 }).toBe(3);
    expect(gotB).toEqual(['{"n":1}', big, '{"n":2}']);
    await expect.poll(() => gotA.length, { timeout: 20_000 }).toBe(1);
    expect(gotA[0]).toBe(big);
    expect(new TextEncoder().encode(big).length).toBeGreaterThan(20 * FRAME_BYTES);
  } finally {
    close();
  }
});
