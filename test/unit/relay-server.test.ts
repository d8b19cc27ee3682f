import { EventEmitter } from 'node:events';
import type { DataConnection } from 'peerjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Link } from '../../src/net/link';
import { MAX_RELAY_CHARS, MAX_RELAY_CHILDREN } from '../../src/protocol';
import { RelayServer } from '../../src/volunteer/relay';

/** Just enough of a PeerJS data connection for a Link: events, send, close. */
class FakeConnection extends EventEmitter {
  open = true;
  closed = false;
  readonly sent: unknown[] = [];
  constructor(readonly peer: string) {
    super();
  }
  send(data: unknown): void {
    this.sent.push(data);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.emit('close');
  }
}

const servers: RelayServer[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.attach(undefined)));

function relay(now: { t: number }) {
  const up: string[] = [];
  const upstream: Link = { peer: 'host', send: (t) => up.push(t), sendData: (t) => up.push(t), close: () => undefined };
  const server = new RelayServer({ clock: () => now.t, firstWordMs: 30_000, idleMs: 300_000 });
  servers.push(server);
  server.attach(upstream);
  return { server, up };
}

describe('a relay keeps its places for children that speak', () => {
  it('takes at most MAX_RELAY_CHILDREN children and closes the rest', () => {
    const now = { t: 0 };
    const { server } = relay(now);
    const conns = Array.from({ length: 400 }, (_, i) => new FakeConnection(`p${i}`));
    for (const c of conns) server.accept(c as unknown as DataConnection);
    for (const c of conns.slice(MAX_RELAY_CHILDREN)) c.emit('open');
    expect(server.size).toBe(MAX_RELAY_CHILDREN);
    expect(conns.filter((c) => c.closed)).toHaveLength(400 - MAX_RELAY_CHILDREN);
  });

  it('closes a child that never speaks, and one that falls silent, freeing its place', () => {
    const now = { t: 0 };
    const { server, up } = relay(now);
    const [mute, chatty] = [new FakeConnection('mute'), new FakeConnection('chatty')];
    server.accept(mute as unknown as DataConnection);
    server.accept(chatty as unknown as DataConnection);
    chatty.emit('data', '{"type":"hello"}');
    expect(up).toEqual([expect.stringContaining('"type":"relay"')]);
    now.t = 29_999;
    server.sweep();
    expect(server.size).toBe(2);
    now.t = 30_000;
    server.sweep();
    // The mute child is gone (and the host told), the one that spoke stays.
    expect(mute.closed).toBe(true);
    expect(chatty.closed).toBe(false);
    expect(server.size).toBe(1);
    expect(up.at(-1)).toContain('"type":"child-left"');
    // Speaking keeps a child; five minutes of silence does not.
    now.t = 200_000;
    chatty.emit('data', '{"type":"heartbeat"}');
    now.t = 499_999;
    server.sweep();
    expect(chatty.closed).toBe(false);
    now.t = 500_000;
    server.sweep();
    expect(chatty.closed).toBe(true);
    expect(server.size).toBe(0);
  });
});

describe('a relay passes on only what the host will take', () => {
  it('closes a child whose text, once wrapped, is longer than the host takes (escapes grow it), and sends nothing up', () => {
    const { server, up } = relay({ t: 0 });
    const hostile = new FakeConnection('hostile');
    server.accept(hostile as unknown as DataConnection);
    hostile.emit('open');
    hostile.emit('data', '\u0001'.repeat(300_000)); // within MAX_MESSAGE_CHARS, 1.8 M characters escaped
    expect(up).toEqual([expect.stringContaining('"type":"child-left"')]);
    expect(hostile.closed).toBe(true);
    const fine = new FakeConnection('fine');
    server.accept(fine as unknown as DataConnection);
    fine.emit('open');
    fine.emit('data', '{"type":"hello"}');
    expect(up.at(-1)).toContain('"type":"relay"');
    expect(up.every((t) => t.length <= MAX_RELAY_CHARS)).toBe(true);
  });
});

describe('a relay refusing a child', () => {
  it('closes a refused offer once it opens, and one that never opens after a while', async () => {
    const server = new RelayServer({ maxChildren: 0, refusedOpenMs: 30 });
    servers.push(server);
    server.attach({ peer: 'host', send: () => undefined, sendData: () => undefined, close: () => undefined });
    const opens = new FakeConnection('opens');
    const never = new FakeConnection('never');
    server.accept(opens as unknown as DataConnection);
    server.accept(never as unknown as DataConnection);
    opens.emit('open');
    expect(opens.closed).toBe(true);
    expect(never.closed).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(never.closed).toBe(true);
  });
});
