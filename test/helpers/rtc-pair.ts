import type { DataConnection } from 'peerjs';

/**
 * Two ends of a real WebRTC data channel inside one page (two RTCPeerConnections whose offers
 * and candidates are handed over directly, no signaling server), each dressed as the part of a
 * PeerJS DataConnection that net/link.ts linkFromConnection uses, so the swarm's links run
 * over a real channel with its real buffering and backpressure.
 */
export async function rtcPair(): Promise<{ near: DataConnection; far: DataConnection; close(): void }> {
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
  const channel = a.createDataChannel('tabgrid', { ordered: true });
  const other = new Promise<RTCDataChannel>((resolve) => (b.ondatachannel = (e) => resolve(e.channel)));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  const far = await other;
  await Promise.all([channel, far].map((c) => (c.readyState === 'open' ? undefined : new Promise((r) => c.addEventListener('open', r, { once: true })))));
  return {
    near: asConnection(channel, 'far'),
    far: asConnection(far, 'near'),
    close: () => {
      a.close();
      b.close();
    },
  };
}

function asConnection(channel: RTCDataChannel, peer: string): DataConnection {
  channel.binaryType = 'arraybuffer';
  const listeners = new Map<string, Set<(value?: unknown) => void>>();
  const emit = (event: string, value?: unknown) => {
    for (const f of [...(listeners.get(event) ?? [])]) f(value);
  };
  channel.addEventListener('message', (e: MessageEvent) => emit('data', e.data));
  channel.addEventListener('close', () => emit('close'));
  channel.addEventListener('error', (e) => emit('error', e));
  const conn = {
    peer,
    dataChannel: channel,
    get open() {
      return channel.readyState === 'open';
    },
    on(event: string, f: (value?: unknown) => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(f);
      listeners.set(event, set);
      return conn;
    },
    once(event: string, f: (value?: unknown) => void) {
      const wrapped = (value?: unknown) => {
        listeners.get(event)?.delete(wrapped);
        f(value);
      };
      return conn.on(event, wrapped);
    },
    off(event: string, f: (value?: unknown) => void) {
      listeners.get(event)?.delete(f);
      return conn;
    },
    send(data: string | ArrayBuffer) {
      channel.send(data as ArrayBuffer);
    },
    close() {
      channel.close();
    },
  };
  return conn as unknown as DataConnection;
}
