import { EventEmitter } from 'node:events';
import type { DataConnection } from 'peerjs';
import { describe, expect, it } from 'vitest';
import { buildDataset, chunkProblem, DATASET_CHUNK_BYTES, MAX_CHUNKS_PER_REQUEST, serveChunk, type Dataset } from '../../src/data/dataset';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { bytesEqual } from '../../src/hex';
import { FrameAssembler, encodeFrames, type Framed } from '../../src/net/frames';
import type { Link, LinkHandlers } from '../../src/net/link';
import { sendHostMessage } from '../../src/net/send-host-message';
import { encodeHostMessage, encodeMessage, relayedMessage, type HostMessage, type VolunteerMessage } from '../../src/protocol';
import { parseHostMessage, parseVolunteerMessage } from '../../src/validate';
import { HostLink, MAX_CHUNK_FETCHES } from '../../src/volunteer/host-link';
import { RelayServer } from '../../src/volunteer/relay';
import { seededRandom } from '../../src/work/seeded';
import { newIdentity, welcomeFor } from '../helpers/signing';
import { until } from '../helpers/until';

const hash = await createCpuSha256();

function bytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A dataset of 5 chunks, the last one short. */
const dataset: Dataset = buildDataset(bytes(4 * DATASET_CHUNK_BYTES + 1000, 1), hash);
/** Equal, a body byte for byte (toEqual walks a big array element by element, slowly). */
function expectSameMessage(got: HostMessage, want: HostMessage): void {
  const [a, b] = [got, want].map((m) => ('data' in m && m.data ? { ...m, data: undefined } : m));
  expect(a).toEqual(b);
  const [da, db] = [got, want].map((m) => ('data' in m ? m.data : undefined));
  expect(da === undefined ? db === undefined : db !== undefined && bytesEqual(da, db)).toBe(true);
}

const chunkMessage = (id: number, index: number, from = dataset): HostMessage => ({ type: 'chunk', id, root: from.root, ...serveChunk(from, index) });

describe('chunks on the wire: a JSON text with the bytes as a binary body', () => {
  it('a chunk goes as a data message and parses back with its bytes; as a text it is refused', () => {
    const m = chunkMessage(4, 2);
    const { text, body } = encodeHostMessage(m);
    // The dataset's own bytes, not a copy.
    expect(bytesEqual(body!, serveChunk(dataset, 2).data)).toBe(true);
    expect(body!.buffer).toBe(dataset.data.buffer);
    // Neither hex nor base64: the JSON holds the meta only.
    expect(text.length).toBeLessThan(2000);
    expect(JSON.parse(text)).toEqual({ type: 'chunk', id: 4, root: dataset.root, index: 2, path: serveChunk(dataset, 2).path });
    expectSameMessage(parseHostMessage(text, body), m);
    expect(() => parseHostMessage(text)).toThrow(/chunk must come as a data message with the chunk's bytes as its binary body/);
    expect(() => encodeMessage(m)).toThrow(/travels as a data message/);
  });

  it('a body on any other message is refused, by either end', () => {
    const welcome: HostMessage = { type: 'no-work', id: 1, retryMs: 10, jobDone: false };
    expect(() => parseHostMessage(encodeMessage(welcome), new Uint8Array(3))).toThrow(/no-work carries no binary body/);
    const ask: VolunteerMessage = { type: 'get-chunks', id: 1, root: dataset.root, first: 0, count: 2 };
    expect(parseVolunteerMessage(encodeMessage(ask))).toEqual(ask);
    expect(() => parseVolunteerMessage(encodeMessage(ask), new Uint8Array(1))).toThrow(/get-chunks carries no binary body/);
  });

  it('a relayed chunk keeps its bytes as a body; a relayed text has none', () => {
    const wrapped = relayedMessage('c3', chunkMessage(7, 4));
    const { text, body } = encodeHostMessage(wrapped);
    expect(bytesEqual(body!, serveChunk(dataset, 4).data)).toBe(true);
    const parsed = parseHostMessage(text, body);
    if (parsed.type !== 'relayed') throw new Error('not relayed');
    expectSameMessage(parseHostMessage(parsed.text, parsed.data), chunkMessage(7, 4));
    const plain = relayedMessage('c3', { type: 'lease', unitId: 'u', leaseMs: 5000 });
    expect(encodeHostMessage(plain).body).toBeUndefined();
    expect(parseHostMessage(encodeHostMessage(plain).text)).toEqual(plain);
  });

  it('sendHostMessage sends a chunk (and a relayed chunk) with sendData, everything else with send', () => {
    const sent: { text: string; body?: Uint8Array }[] = [];
    const link: Link = { peer: 'v', send: (text) => sent.push({ text }), sendData: (text, body) => sent.push({ text, body }), close: () => undefined };
    sendHostMessage(link, { type: 'lease', unitId: 'u', leaseMs: 5000 });
    sendHostMessage(link, chunkMessage(1, 0));
    sendHostMessage(link, relayedMessage('c', chunkMessage(2, 1)));
    expect(sent.map((s) => s.body?.length)).toEqual([undefined, DATASET_CHUNK_BYTES, DATASET_CHUNK_BYTES]);
  });
});

/**
 * A host that welcomes every hello and hands each get-chunks to `serve` (default: every chunk,
 * in order, as data messages).
 */
async function chunkHost(
  options: { serve?: (m: Extract<VolunteerMessage, { type: 'get-chunks' }>, say: (m: HostMessage) => void) => void; idleMs?: number } = {},
) {
  const hostKey = await newIdentity();
  const asked: Extract<VolunteerMessage, { type: 'get-chunks' }>[] = [];
  let handlers: LinkHandlers | undefined;
  let open = true;
  const say = (m: HostMessage) => {
    const { text, body } = encodeHostMessage(m);
    setTimeout(() => open && (body ? handlers!.onText(text, body) : handlers!.onText(text)), 0);
  };
  const serve = options.serve ?? ((m, reply) => Array.from({ length: m.count }, (_, i) => reply(chunkMessage(m.id, m.first + i))));
  const connect = async (h: LinkHandlers): Promise<Link> => {
    handlers = h;
    return {
      peer: 'host',
      send(text) {
        const m = parseVolunteerMessage(text);
        if (m.type === 'hello') {
          say(welcomeFor(m.id, hostKey.publicKey));
        }
        if (m.type === 'get-chunks') {
          asked.push(m);
          serve(m, say);
        }
      },
      sendData: () => undefined,
      close: () => {
        if (!open) return;
        open = false;
        h.onClose();
      },
    };
  };
  const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect, chunkIdleMs: options.idleMs }, () => undefined);
  await link.open(new AbortController().signal);
  return { link, asked, say };
}

describe('HostLink.fetchChunks', () => {
  it('asks once and resolves to the chunks in index order, whatever order they come in; each checks against the root', async () => {
    const { link, asked } = await chunkHost({
      serve: (m, say) => (m.first === 1 ? [3, 1, 2] : [m.first]).forEach((i) => say(chunkMessage(m.id, i))),
    });
    const chunks = await link.fetchChunks(dataset.root, 1, 3);
    expect(asked).toEqual([{ type: 'get-chunks', id: expect.any(Number), root: dataset.root, first: 1, count: 3 }]);
    expect(chunks.map((c) => c.index)).toEqual([1, 2, 3]);
    for (const c of chunks) expect(chunkProblem({ root: dataset.root, bytes: dataset.data.length }, c.index, c, hash)).toBeUndefined();
    // The last, short chunk too.
    const [last] = await link.fetchChunks(dataset.root, 4, 1);
    expect(bytesEqual(last!.data, dataset.data.subarray(4 * DATASET_CHUNK_BYTES))).toBe(true);
    expect(link.waiting).toBe(false);
  });

  it('returns chunks unverified: a corrupted chunk comes back for the caller to refuse', async () => {
    const { link } = await chunkHost({
      serve: (m, say) => {
        const good = serveChunk(dataset, m.first);
        const data = good.data.slice();
        data[17]! ^= 1;
        say({ type: 'chunk', id: m.id, root: dataset.root, index: m.first, path: good.path, data });
      },
    });
    const [c] = await link.fetchChunks(dataset.root, 0, 1);
    expect(chunkProblem({ root: dataset.root, bytes: dataset.data.length }, 0, c!, hash)).toMatch(/does not match the dataset's root/);
  });

  it("rejects with the host's error for the request, and a chunk it did not ask for as bad-message", async () => {
    const other = buildDataset(bytes(1000, 9), hash);
    const { link } = await chunkHost({
      serve: (m, say) => {
        if (m.first === 0) say({ type: 'error', id: m.id, code: 'bad-input', message: 'no dataset' });
        if (m.first === 1) say(chunkMessage(m.id, 0, other)); // another dataset
        if (m.first === 2) say(chunkMessage(m.id, 4)); // outside 2..3
        if (m.first === 3) [3, 3].forEach((i) => say(chunkMessage(m.id, i)));
      },
    });
    await expect(link.fetchChunks(dataset.root, 0, 1)).rejects.toMatchObject({ code: 'bad-input', message: 'host: no dataset' });
    await expect(link.fetchChunks(dataset.root, 1, 1)).rejects.toMatchObject({
      code: 'bad-message',
      message: expect.stringMatching(/asked for chunks 1\.\.1/),
    });
    await expect(link.fetchChunks(dataset.root, 2, 2)).rejects.toMatchObject({ code: 'bad-message', message: expect.stringMatching(/chunk 4 of/) });
    await expect(link.fetchChunks(dataset.root, 3, 2)).rejects.toMatchObject({ code: 'bad-message', message: expect.stringMatching(/twice/) });
    expect(link.waiting).toBe(false);
  });

  it('rejects with network after chunkIdleMs of silence, and when the connection drops', async () => {
    const { link } = await chunkHost({ serve: (m, say) => say(chunkMessage(m.id, m.first)), idleMs: 50 });
    // One of two chunks comes; the second never does.
    await expect(link.fetchChunks(dataset.root, 0, 2)).rejects.toMatchObject({ code: 'network', message: expect.stringMatching(/for 50 ms \(1 of 2 came\)/) });
    const { link: dropped } = await chunkHost({ serve: () => undefined });
    const fetching = dropped.fetchChunks(dataset.root, 0, 2);
    dropped.close();
    await expect(fetching).rejects.toMatchObject({ code: 'network', message: 'lost the connection to the host' });
    await expect(dropped.fetchChunks(dataset.root, 0, 2)).rejects.toMatchObject({ code: 'network' });
  });

  it('rejects with aborted on its signal, and drops the chunks that come after', async () => {
    let later: (() => void) | undefined;
    const { link } = await chunkHost({ serve: (m, say) => (later = () => say(chunkMessage(m.id, m.first))) });
    const stop = new AbortController();
    const fetching = link.fetchChunks(dataset.root, 0, 1, stop.signal);
    await until(() => later !== undefined);
    stop.abort();
    await expect(fetching).rejects.toMatchObject({ code: 'aborted' });
    expect(link.waiting).toBe(false);
    later!();
    await new Promise((r) => setTimeout(r, 10));
    expect(link.waiting).toBe(false);
    await expect(link.fetchChunks(dataset.root, 0, 1, stop.signal)).rejects.toMatchObject({ code: 'aborted' });
  });

  it(`refuses a bad range, and more than ${MAX_CHUNK_FETCHES} fetches in flight (what one link holds is bounded)`, async () => {
    const { link, asked } = await chunkHost({ serve: () => undefined });
    await expect(link.fetchChunks('AB', 0, 1)).rejects.toMatchObject({ code: 'bad-input', message: expect.stringMatching(/root/) });
    await expect(link.fetchChunks(dataset.root, -1, 1)).rejects.toMatchObject({ code: 'bad-input' });
    await expect(link.fetchChunks(dataset.root, 0, 0)).rejects.toMatchObject({ code: 'bad-input' });
    await expect(link.fetchChunks(dataset.root, 0, MAX_CHUNKS_PER_REQUEST + 1)).rejects.toMatchObject({ code: 'bad-input' });
    const stop = new AbortController();
    const inFlight = Array.from({ length: MAX_CHUNK_FETCHES }, (_, i) => link.fetchChunks(dataset.root, i, 1, stop.signal));
    await expect(link.fetchChunks(dataset.root, 0, 1)).rejects.toMatchObject({ code: 'bad-input', message: expect.stringMatching(/in flight/) });
    expect(asked).toHaveLength(MAX_CHUNK_FETCHES);
    stop.abort();
    for (const f of inFlight) await expect(f).rejects.toMatchObject({ code: 'aborted' });
    // Their places are free again.
    void link.fetchChunks(dataset.root, 0, 1, AbortSignal.timeout(1)).catch(() => undefined);
    expect(asked).toHaveLength(MAX_CHUNK_FETCHES + 1);
  });
});

/** Just enough of a PeerJS data connection for a Link: events, send, close. */
class FakeConnection extends EventEmitter {
  open = true;
  readonly sent: unknown[] = [];
  constructor(readonly peer: string) {
    super();
  }
  send(data: unknown): void {
    this.sent.push(data);
  }
  close(): void {
    this.open = false;
    this.emit('close');
  }
}

describe('a relay passes a chunk to its child as a data message', () => {
  it('delivers a relayed chunk with sendData, its bytes whole, and drops data messages a child sends up', async () => {
    const up: string[] = [];
    const server = new RelayServer();
    server.attach({ peer: 'host', send: (t) => up.push(t), sendData: (t) => up.push(`data:${t}`), close: () => undefined });
    const conn = new FakeConnection('child');
    server.accept(conn as unknown as DataConnection);
    conn.emit('data', '{"type":"hello"}');
    expect(up).toEqual([expect.stringContaining('"type":"relay"')]);
    const wrapped = relayedMessage('c1', chunkMessage(5, 3));
    const { text, body } = encodeHostMessage(wrapped);
    const parsed = parseHostMessage(text, body);
    if (parsed.type !== 'relayed') throw new Error('not relayed');
    server.deliver(parsed.child, parsed.text, parsed.data);
    await until(() => conn.sent.length > 0 && conn.sent.every((f) => f instanceof ArrayBuffer) && assembled(conn.sent) !== undefined);
    const got = assembled(conn.sent)!;
    expectSameMessage(parseHostMessage(new TextDecoder().decode(got.text), got.body), chunkMessage(5, 3));
    // A child's data message goes nowhere.
    const frames = conn.sent.length;
    conn.emit('data', encodeFrames(1, new TextEncoder().encode('{"type":"heartbeat"}'), new Uint8Array(4))[0]);
    expect(up).toHaveLength(1);
    expect(conn.sent).toHaveLength(frames);
    server.attach(undefined);
  });
});

function assembled(frames: readonly unknown[]): Framed | undefined {
  const a = new FrameAssembler();
  let got: Framed | undefined;
  for (const f of frames) got = a.push(f as ArrayBuffer) ?? got;
  return got;
}
