import { describe, expect, it } from 'vitest';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { Link, LinkHandlers } from '../../src/net/link';
import { encodeMessage, type HostMessage, type VolunteerMessage } from '../../src/protocol';
import { parseVolunteerMessage } from '../../src/validate';
import { HostLink, Redirected } from '../../src/volunteer/host-link';
import { answerCheck, sentResult } from '../../src/volunteer/results';
import { stepBytes } from '../../src/proof/step-mac';
import { unitInputDigest } from '../../src/proof/commitment';
import { newNonce } from '../../src/proof/key-proof';
import { newSessionKeyPair, type ResultKey } from '../../src/proof/result-key';
import { memoryConnector } from '../helpers/memory-host';
import { newIdentity, welcomeFor } from '../helpers/signing';
import { until } from '../helpers/until';

describe('HostLink', () => {
  it('drops a link whose hello was refused, so the next open connects anew instead of speaking ungreeted', async () => {
    let connects = 0;
    let closes = 0;
    // A host that refuses every hello, as one does a banned key or a relay's ninth child.
    const connect = async (handlers: LinkHandlers): Promise<Link> => {
      connects++;
      let open = true;
      return {
        peer: 'host',
        send: () => setTimeout(() => open && handlers.onText(JSON.stringify({ type: 'error', code: 'banned', message: 'go away' })), 0),
        sendData: () => undefined,
        close: () => {
          if (!open) return;
          open = false;
          closes++;
          handlers.onClose();
        },
      };
    };
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect }, () => undefined);
    const signal = new AbortController().signal;
    await expect(link.open(signal)).rejects.toMatchObject({ code: 'banned' });
    expect(link.connected).toBe(false);
    expect(closes).toBe(1);
    await expect(link.open(signal)).rejects.toMatchObject({ code: 'banned' });
    expect(connects).toBe(2);
  });
});

describe('HostLink: redirected to a relay', () => {
  /**
   * A full host `h` that names relay `x`; `relay` says what x does: unreachable, refuses hello,
   * passes on the host's welcome, or answers with a welcome of its own (another key or host id).
   */
  async function fullHost(otherHostIds: string[] = []) {
    const hostKey = await newIdentity();
    const relayKey = await newIdentity();
    const targets: string[] = [];
    const state: { relay: 'unreachable' | 'busy' | 'host' | 'own-key' | 'own-id' | 'redirect' } = { relay: 'unreachable' };
    const connect = async (handlers: LinkHandlers, _signal: AbortSignal, target?: string): Promise<Link> => {
      targets.push(target ?? '?');
      if (target === 'x' && state.relay === 'unreachable') throw new Error('ICE failed');
      const reply = (m: HostMessage) => setTimeout(() => handlers.onText(encodeMessage(m)), 0);
      return {
        peer: target ?? '?',
        send(text) {
          const m = parseVolunteerMessage(text);
          if (m.type !== 'hello') return;
          if (target === 'h') return void reply({ type: 'redirect', id: m.id, relays: ['x'], retryMs: 10, publicKey: hostKey.publicKey });
          if (state.relay === 'busy') return void reply({ type: 'error', code: 'busy', message: 'full', id: m.id });
          if (state.relay === 'redirect') return void reply({ type: 'redirect', id: m.id, relays: ['y'], retryMs: 10, publicKey: relayKey.publicKey });
          const welcome = welcomeFor(m.id, (state.relay === 'own-key' ? relayKey : hostKey).publicKey);
          if (welcome.type !== 'welcome') throw new Error('expected a welcome');
          reply({ ...welcome, hostId: state.relay === 'own-id' ? 'x' : 'h' });
        },
        sendData: () => undefined,
        close: () => handlers.onClose(),
      };
    };
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', otherHostIds, identity: await newIdentity(), connect }, () => undefined);
    return { link, targets, state };
  }

  it('goes back to the host when the relay it was sent to cannot be reached, or does not greet it', async () => {
    const { link, targets, state } = await fullHost();
    const signal = new AbortController().signal;
    await expect(link.open(signal)).rejects.toBeInstanceOf(Redirected);
    await expect(link.open(signal)).rejects.toThrow('ICE failed');
    await expect(link.open(signal)).rejects.toBeInstanceOf(Redirected);
    state.relay = 'busy';
    await expect(link.open(signal)).rejects.toMatchObject({ code: 'busy' });
    await expect(link.open(signal)).rejects.toBeInstanceOf(Redirected);
    expect(targets).toEqual(['h', 'x', 'h', 'x', 'h']);
  });

  it('comes back to the same host process after its relay failed, not the next one (a redirect is full, not gone)', async () => {
    const { link, targets } = await fullHost(['h2']);
    const signal = new AbortController().signal;
    await expect(link.open(signal)).rejects.toBeInstanceOf(Redirected);
    await expect(link.open(signal)).rejects.toThrow('ICE failed');
    await expect(link.open(signal)).rejects.toBeInstanceOf(Redirected);
    expect(targets).toEqual(['h', 'x', 'h']);
  });

  it('takes through the relay only the welcome of the host that sent it there (its redirect names the key)', async () => {
    const { link, targets, state } = await fullHost();
    const signal = new AbortController().signal;
    for (const impostor of ['own-key', 'own-id', 'redirect'] as const) {
      await expect(link.open(signal)).rejects.toBeInstanceOf(Redirected);
      state.relay = impostor;
      await expect(link.open(signal)).rejects.toMatchObject({ code: 'bad-signature' });
      expect(link.connected).toBe(false);
    }
    await expect(link.open(signal)).rejects.toBeInstanceOf(Redirected);
    state.relay = 'host';
    await link.open(signal);
    expect(link.connected).toBe(true);
    expect(targets).toEqual(['h', 'x', 'h', 'x', 'h', 'x', 'h', 'x']);
  });
});

describe('HostLink: requests and their answers', () => {
  const unitOf = (i: number) => ({ kernel: 'sha256-batch', jobId: 'j', unitId: `j/${i}`, seed: 1, count: 8, messageLength: 64 }) as const;

  /**
   * A host that welcomes every hello and keeps every other request for the test to answer when
   * it likes, in any order, as a host answering from several places (or a relay) could.
   */
  async function heldHost() {
    const hostKey = await newIdentity();
    const requests: Extract<VolunteerMessage, { type: 'request-unit' }>[] = [];
    let say: (m: HostMessage) => void = () => undefined;
    const connect = async (handlers: LinkHandlers): Promise<Link> => {
      say = (m) => setTimeout(() => handlers.onText(encodeMessage(m)), 0);
      return {
        peer: 'host',
        send(text) {
          const m = parseVolunteerMessage(text);
          if (m.type === 'hello') {
            say(welcomeFor(m.id, hostKey.publicKey));
          }
          if (m.type === 'request-unit') requests.push(m);
        },
        sendData: () => undefined,
        close: () => handlers.onClose(),
      };
    };
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect }, () => undefined);
    await link.open(new AbortController().signal);
    return { link, requests, say: (m: HostMessage) => say(m) };
  }

  it('matches each answer to its request when two asks are in flight at once', async () => {
    const { link, requests, say } = await heldHost();
    const signal = new AbortController().signal;
    const first = link.ask({ type: 'request-unit', holding: [] }, ['unit', 'no-work'], signal);
    const second = link.ask({ type: 'request-unit', holding: ['j/0'] }, ['unit', 'no-work'], signal);
    await until(() => requests.length === 2);
    const [a, b] = requests;
    expect(a!.id).not.toBe(b!.id);
    // Answered in the other order: the second request's unit first, then the first's no-work.
    say({ type: 'unit', id: b!.id, unit: unitOf(1), leaseMs: 60_000 });
    say({ type: 'no-work', id: a!.id, retryMs: 2000, jobDone: false });
    expect(await second).toMatchObject({ type: 'unit', unit: { unitId: 'j/1' } });
    expect(await first).toMatchObject({ type: 'no-work', retryMs: 2000 });
    expect(link.waiting).toBe(false);
  });

  it('fails only the request an error names, and drops answers to a request given up on', async () => {
    const { link, requests, say } = await heldHost();
    const gaveUp = new AbortController();
    const abandoned = link.ask({ type: 'request-unit', holding: [] }, ['unit', 'no-work'], gaveUp.signal);
    gaveUp.abort();
    await expect(abandoned).rejects.toMatchObject({ code: 'aborted' });
    const signal = new AbortController().signal;
    const failing = link.ask({ type: 'request-unit', holding: [] }, ['unit', 'no-work'], signal);
    const kept = link.ask({ type: 'request-unit', holding: [] }, ['unit', 'no-work'], signal);
    await until(() => requests.length === 3);
    const [late, failed, answered] = requests;
    // The unit meant for the abandoned request does not answer a later one.
    say({ type: 'unit', id: late!.id, unit: unitOf(0), leaseMs: 60_000 });
    say({ type: 'error', id: failed!.id, code: 'busy', message: 'try later' });
    await expect(failing).rejects.toMatchObject({ code: 'busy' });
    say({ type: 'unit', id: answered!.id, unit: unitOf(2), leaseMs: 60_000 });
    expect(await kept).toMatchObject({ type: 'unit', unit: { unitId: 'j/2' } });
  });

  it('gets two units from a real host for two overlapping asks', async () => {
    const core = await HostCore.open(
      new MemoryHostStore(),
      [{ id: 'j', kernel: 'sha256-batch', units: 3, messagesPerUnit: 8, messageLength: 64, seed: 1, samples: 2 }],
      {
        hostId: 'h',
        hash: await createCpuSha256(),
        identity: await newIdentity(),
      },
    );
    const { connect } = memoryConnector(core);
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect }, () => undefined);
    const signal = new AbortController().signal;
    await link.open(signal);
    const replies = await Promise.all([
      link.ask({ type: 'request-unit', holding: [] }, ['unit', 'no-work'], signal),
      link.ask({ type: 'request-unit', holding: ['j/0'] }, ['unit', 'no-work'], signal),
    ]);
    expect(replies.map((r) => r.type === 'unit' && r.unit.unitId)).toEqual(['j/0', 'j/1']);
  });
});

describe('HostLink: several processes of one grid', () => {
  /** Processes that welcome every hello; `drop(id)` ends that process's links the way a killed one's end (closed, no word). */
  async function processes() {
    const hostKey = await newIdentity();
    const targets: string[] = [];
    const links = new Map<string, LinkHandlers>();
    const connect = async (handlers: LinkHandlers, _signal: AbortSignal, target: string): Promise<Link> => {
      targets.push(target);
      links.set(target, handlers);
      return {
        peer: target,
        send(text) {
          const m = parseVolunteerMessage(text);
          if (m.type === 'hello') setTimeout(() => handlers.onText(encodeMessage(welcomeFor(m.id, hostKey.publicKey))), 0);
        },
        sendData: () => undefined,
        close: () => handlers.onClose(),
      };
    };
    return { connect, targets, drop: (id: string) => links.get(id)!.onClose() };
  }

  it('moves on to the next process when an established link is lost, round and round', async () => {
    const { connect, targets, drop } = await processes();
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'a', otherHostIds: ['b', 'c'], identity: await newIdentity(), connect }, () => undefined);
    const signal = new AbortController().signal;
    for (const id of ['a', 'b', 'c', 'a']) {
      await link.open(signal);
      expect(link.connected).toBe(true);
      drop(id);
      expect(link.connected).toBe(false);
    }
    expect(targets).toEqual(['a', 'b', 'c', 'a']);
  });

  it('with one host id, reconnects to it after a loss', async () => {
    const { connect, targets, drop } = await processes();
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'a', identity: await newIdentity(), connect }, () => undefined);
    const signal = new AbortController().signal;
    await link.open(signal);
    drop('a');
    await link.open(signal);
    expect(targets).toEqual(['a', 'a']);
  });
});

describe('HostLink: the result key', () => {
  const unit = { kernel: 'sha256-batch', jobId: 'j', unitId: 'j/0', seed: 1, count: 8, messageLength: 64 } as const;

  /**
   * A host with a real half of the result key: it agrees the key from each key-proof, as
   * greeting.ts does, and keeps every result it hears with whether its MAC verified. `session`
   * replaces the half its welcome carries (a host that sends something that is no point).
   */
  async function keyedHost(session?: string) {
    const hostKey = await newIdentity();
    const mine = await newSessionKeyPair();
    const results: { root: string; verified: boolean }[] = [];
    /** Openings and rows heard, and whether their MAC verified. */
    const steps: { type: string; verified: boolean }[] = [];
    /** Every message's type, in the order the host heard them. */
    const heard: string[] = [];
    let closes = 0;
    let current: LinkHandlers | undefined;
    const connect = async (handlers: LinkHandlers): Promise<Link> => {
      current = handlers;
      const nonce = newNonce();
      let key: ResultKey | undefined;
      return {
        peer: 'host',
        send(text) {
          const m = parseVolunteerMessage(text);
          heard.push(m.type);
          if (m.type === 'hello') {
            const welcome = { ...welcomeFor(m.id, hostKey.publicKey), nonce, session: session ?? mine.publicKey };
            setTimeout(() => handlers.onText(encodeMessage(welcome)), 0);
          }
          if (m.type === 'key-proof') void mine.agree(m.session, nonce).then((k) => (key = k));
          if (m.type === 'result') {
            const fields = { jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root: m.root };
            void until(() => key !== undefined)
              .then(() => key!.verify(fields, m.mac))
              .then((verified) => results.push({ root: m.root, verified }));
          }
          if (m.type === 'openings' || m.type === 'rows') {
            void until(() => key !== undefined).then(() =>
              steps.push({ type: m.type, verified: m.mac !== undefined && key!.verifyBytes(stepBytes(m), m.mac) }),
            );
          }
        },
        sendData: () => undefined,
        close: () => {
          closes++;
          handlers.onClose();
        },
      };
    };
    return { connect, results, steps, heard, closes: () => closes, drop: () => current?.onClose() };
  }

  const sent = async () => sentResult(unit, { leaves: new Uint8Array(8 * 32).fill(7), leafBytes: 32, backend: 'cpu' }, 8, await createCpuSha256());

  it('sends each result with a MAC under the key agreed on that connection, again under the next one after a reconnect', async () => {
    const host = await keyedHost();
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect: host.connect }, () => undefined);
    const signal = new AbortController().signal;
    const r = await sent();
    await link.open(signal);
    await link.sendResult(r);
    host.drop();
    // Not connected: nothing goes out (the session sends its results again once it is).
    await link.sendResult(r);
    await link.open(signal);
    await link.sendResult(r);
    // What the session says next goes after the result, not before it (its MAC is made at once).
    void link.ask({ type: 'request-unit', holding: [] }, ['unit', 'no-work'], new AbortController().signal).catch(() => undefined);
    expect(host.heard.slice(-2)).toEqual(['result', 'request-unit']);
    await until(() => host.results.length === 2);
    expect(host.results).toEqual([
      { root: r.root, verified: true },
      { root: r.root, verified: true },
    ]);
  });

  it('sends openings and rows with their MAC under the connection’s key (protocol 10: a relay cannot make them up)', async () => {
    const host = await keyedHost();
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect: host.connect }, () => undefined);
    await link.open(new AbortController().signal);
    const r = await sent();
    for (const m of answerCheck({ type: 'challenge', unitId: unit.unitId, indices: [1, 5] }, r)) link.send(m);
    for (const m of answerCheck({ type: 'send-rows', unitId: unit.unitId }, r)) link.send(m);
    await until(() => host.steps.length >= 2);
    expect(host.steps[0]).toEqual({ type: 'openings', verified: true });
    expect(host.steps.slice(1).every((s) => s.type === 'rows' && s.verified)).toBe(true);
  });

  it('refuses a host whose half of the key is no point on the curve, and closes the link', async () => {
    const host = await keyedHost('04' + '00'.repeat(31) + '01' + '00'.repeat(31) + '02');
    const link = new HostLink({ signalUrl: 'ws://unused/', hostId: 'h', identity: await newIdentity(), connect: host.connect }, () => undefined);
    await expect(link.open(new AbortController().signal)).rejects.toMatchObject({ code: 'bad-signature' });
    expect(link.connected).toBe(false);
    expect(host.closes()).toBe(1);
  });
});
