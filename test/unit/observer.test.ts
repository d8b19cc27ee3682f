import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobStatus } from '../../src/protocol';
import { ObserverClient, WatchStatus } from '../../src/dashboard/observer-client';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore, type VerdictEvent } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MAX_OBSERVER_BACKLOG, OBSERVE_PROOF_TIMEOUT_MS, ObserverHost } from '../../src/host/observer';
import { buildExport } from '../../src/host/export/export-job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { checkObserverToken, newObserverToken, observerProof, verifyObserverProof } from '../../src/proof/observer-token';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { MAX_MESSAGE_CHARS, PROTOCOL_VERSION } from '../../src/protocol';
import { EXPORT_PART_BYTES, OUTPUT_PART_BYTES } from '../../src/protocol/messages';
import { parseObservedMessage, parseObserverMessage } from '../../src/validate';
import { honest, submit, volunteer } from '../helpers/judged';
import { memoryConnector } from '../helpers/memory-host';
import { memoryHostConnector, rawConnection } from '../helpers/memory-observer';
import { newIdentity } from '../helpers/signing';
import { until } from '../helpers/until';

const TOKEN = 'observer-token-for-tests-0123456789';
/** A connection to a host without observers, as a page host is (test/helpers/memory-host.ts). */
const memoryVolunteerOnly = (core: HostCore, handlers: Parameters<ReturnType<typeof memoryConnector>['connect']>[0]) => memoryConnector(core).connect(handlers);
const HOST = 'watched-host';

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

const clients: ObserverClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function setup(jobs: JobSpec[], options: { maxObservers?: number; exports?: boolean } = {}) {
  let now = 1_000_000;
  // The core reports verdicts to the observers, made after it.
  const late: { observers?: ObserverHost } = {};
  const store = new MemoryHostStore();
  const core = await HostCore.open(store, jobs, {
    hostId: HOST,
    hash,
    // As a real host: the store's key, which its export's manifest names.
    identity: await store.hostIdentity(),
    onVerdict: (e) => late.observers?.recordVerdict(e),
  });
  const observers = (late.observers = new ObserverHost({
    hostId: HOST,
    token: TOKEN,
    core,
    clock: () => now,
    maxObservers: options.maxObservers,
    ...(options.exports ? { exportJob: (jobId: string, refuse: (files: number, bytes: number) => void) => buildExport(store, jobId, { refuse }) } : {}),
  }));
  const connector = memoryHostConnector(core, observers);
  return { core, store, observers, connector, advance: (ms: number) => (now += ms) };
}

function client(connector: ReturnType<typeof memoryHostConnector>, token = TOKEN, extra: { onVerdict?: (e: VerdictEvent) => void } = {}) {
  const c = new ObserverClient({ hostId: HOST, token, connect: (handlers) => connector.connect(handlers), random: () => 0, ...extra });
  clients.push(c);
  c.start();
  return c;
}

/** observe, then the proof made with `token`: what the host answered, in order. */
async function prove(raw: Awaited<ReturnType<typeof rawConnection>>, token: string) {
  raw.say({ type: 'observe', id: 1, protocol: PROTOCOL_VERSION, client: 't' });
  await until(() => raw.received.length === 1);
  const challenge = raw.received[0]!;
  expect(challenge).toMatchObject({ type: 'observe-challenge', id: 1, hostId: HOST });
  raw.say({ type: 'observe-proof', id: 2, proof: await observerProof(token, HOST, challenge.nonce as string) });
  await until(() => raw.received.length === 2);
  return raw.received[1]!;
}

const hashing: JobSpec = { id: 'dig', kernel: 'sha256-batch', units: 3, messagesPerUnit: 6, messageLength: 16, seed: 3, samples: 2, collect: true };
// 300 × 256 words of C: 300 KiB, more than one output-part.
const big: JobSpec = { id: 'mat', kernel: 'matmul-modp', units: 1, m: 300, n: 256, k: 3, p: 65521, seed: 4, verify: { policy: 'freivalds' }, collect: true };

describe('the observer token', () => {
  it('proves the token on a nonce without sending it, and binds the proof to the host and the nonce', async () => {
    const nonce = 'ab'.repeat(32);
    const proof = await observerProof(TOKEN, HOST, nonce);
    expect(proof).toMatch(/^[0-9a-f]{64}$/);
    expect(proof).not.toContain(TOKEN);
    expect(await verifyObserverProof(TOKEN, HOST, nonce, proof)).toBe(true);
    expect(await verifyObserverProof(`${TOKEN}x`, HOST, nonce, proof)).toBe(false);
    expect(await verifyObserverProof(TOKEN, 'other-host', nonce, proof)).toBe(false);
    expect(await verifyObserverProof(TOKEN, HOST, 'cd'.repeat(32), proof)).toBe(false);
    expect(await verifyObserverProof(TOKEN, HOST, nonce, 'zz')).toBe(false);
    expect(newObserverToken()).toMatch(/^[0-9a-f]{64}$/);
    expect(newObserverToken()).not.toBe(newObserverToken());
    expect(() => checkObserverToken('short', '--observer-token')).toThrow(/--observer-token: an observer token is 16\.\.256/);
    expect(() => checkObserverToken('has a space in it ok', 'TABGRID_OBSERVER_TOKEN')).toThrow(/without spaces/);
    expect(checkObserverToken(TOKEN, 'x')).toBe(TOKEN);
  });

  it('observer messages and volunteer messages are separate vocabularies', () => {
    expect(() => parseObserverMessage(JSON.stringify({ type: 'request-unit', id: 1, holding: [] }))).toThrow(/unknown message type 'request-unit'/);
    expect(() => parseObserverMessage(JSON.stringify({ type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 'x', publicKey: '04' }))).toThrow(
      /unknown message type 'hello'/,
    );
    expect(() => parseObserverMessage(JSON.stringify({ type: 'observe-proof', id: 1, proof: 'ab'.repeat(32), token: TOKEN }))).toThrow(
      /unexpected field 'token'/,
    );
    expect(() => parseObservedMessage(JSON.stringify({ type: 'unit', id: 1 }))).toThrow(/unknown message type 'unit'/);
    // Bodies: an observer sends texts only; an output part's bytes come as a body with their digest, nothing else has one.
    const body = new Uint8Array([1, 2, 3]);
    expect(() => parseObserverMessage(JSON.stringify({ type: 'output', id: 1, unitId: 'u/0' }), body)).toThrow(/output carries no binary body/);
    const part = { type: 'output-part', id: 1, unitId: 'u/0', offset: 0, total: 3, sha256: 'ab'.repeat(32) };
    expect(parseObservedMessage(JSON.stringify(part), body)).toMatchObject({ ...part, data: body });
    expect(() => parseObservedMessage(JSON.stringify(part))).toThrow(/must come as a data message/);
    expect(() => parseObservedMessage(JSON.stringify({ ...part, total: 2 }), body)).toThrow(/does not fit 1\.\.262144 bytes within 2/);
    expect(() => parseObservedMessage(JSON.stringify({ ...part, total: 0, sha256: undefined }), body)).toThrow(/total 0\) carries no body/);
    expect(() => parseObservedMessage(JSON.stringify({ type: 'units', id: 1, job: 'j', first: 0, total: 0, units: [] }), body)).toThrow(
      /units carries no binary body/,
    );
  });
});

describe('observing a host', () => {
  it('with the right token, gets snapshots of jobs, units, volunteers, trust and verdicts, and the kept output', async () => {
    const { core, connector } = await setup([hashing, big]);
    const verdicts: VerdictEvent[] = [];
    const c = client(connector, TOKEN, { onVerdict: (e) => verdicts.push(e) });
    await until(() => c.status === WatchStatus.Watching && c.view.jobs().length === 2);
    expect(c.publicKey).toBe(core.publicKey);
    expect(c.view.progress()).toMatchObject({ total: 4, queued: 4, accepted: 0 });
    expect(c.view.units('dig').map((u) => u.state)).toEqual(['queued', 'queued', 'queued']);

    // Every unit computed honestly and accepted (collecting jobs upload their output).
    const v = await volunteer(core, 'vol');
    const outputs = new Map<string, Uint8Array>();
    for (let i = 0; i < 4; i++) {
      const unit = await v.lease();
      outputs.set(unit.unitId, honest(unit, hash));
      expect(await submit(v, unit, outputs.get(unit.unitId)!, hash)).toMatchObject({ verdict: 'accepted' });
    }
    await until(() => c.view.progress().accepted === 4 && verdicts.length === 4, 5000);
    expect(verdicts.every((e) => e.verdict === 'accepted' && e.volunteer === v.me.id)).toBe(true);
    await until(() => c.view.units('dig').every((u) => u.state === 'accepted' && u.holder === v.me.id));
    expect(c.view.units('dig')).toEqual(core.units('dig'));
    // Recent credit travels decayed to the snapshot's time and rounded; the rest as the host keeps it.
    const settled = ({ rac: _, racAt: __, ...v }: ReturnType<HostCore['volunteers']>[number]) => v;
    expect(c.view.volunteers().map(settled)).toEqual(core.volunteers().map(settled));
    expect(c.view.leaderboard().volunteers.map((v) => [v.id, v.credit, v.accepted, v.rank])).toEqual(
      core.leaderboard().volunteers.map((v) => [v.id, v.credit, v.accepted, v.rank]),
    );
    expect(c.view.trustRecords('dig')).toEqual(core.trustRecords('dig'));
    expect(c.view.acceptedOf('dig')).toBe(3);
    // The overview's job states: a job paused on the host reads paused to the watcher too.
    expect(c.view.jobStatus('mat')).toBe(JobStatus.Active);
    await core.setJobStatus('mat', JobStatus.Paused);
    await until(() => c.view.jobStatus('mat') === JobStatus.Paused, 5000);
    c.select('mat');
    await until(() => c.view.units('mat').length === 1);

    // Results with receipts the host signed, and every unit's output byte for byte (the matrix in two parts).
    const { accepted, receipts } = await c.results('dig');
    expect(accepted).toEqual(core.results('dig'));
    for (const r of accepted) expect(await verifyReceiptSignature(c.publicKey, receipts.get(r.unitId)!, receipts.get(r.unitId)!.signature!)).toBe(true);
    for (const [unitId, bytes] of outputs) expect(await c.output(unitId)).toEqual(bytes);
    expect(outputs.get('mat/0')!.length).toBeGreaterThan(OUTPUT_PART_BYTES);
    // An unknown unit has no output: said, not failed.
    expect(await c.output('dig/99')).toBeUndefined();
  });

  it('exports a job as `npm run host -- --export` writes it: output files and manifest, byte for byte, in parts', async () => {
    // 4 × 300 × 256 words of C: a C.npy of more than one export part.
    const mats: JobSpec = { ...big, id: 'mats', units: 4 };
    const { core, store, connector } = await setup([mats, hashing], { exports: true });
    const c = client(connector);
    const v = await volunteer(core, 'vol');
    for (let i = 0; i < 5; i++) {
      const unit = await v.lease();
      expect(await submit(v, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
    }
    await until(() => c.status === WatchStatus.Watching);
    const mine = await c.exportFiles('mats');
    const theirs = await buildExport(store, 'mats');
    expect(mine.state).toBe('complete');
    expect(mine.files.map((f) => f.name)).toEqual(['C.npy', 'manifest.json']);
    expect(mine.files[0]!.data.length).toBeGreaterThan(EXPORT_PART_BYTES);
    expect(mine.files[0]!.data).toEqual(theirs.files[0]!.data);
    const manifest = JSON.parse(new TextDecoder().decode(mine.files[1]!.data)) as { state: string; units: { accepted: number }; host: { publicKey: string } };
    expect(manifest).toMatchObject({ state: 'complete', units: { accepted: 4 }, host: { publicKey: core.publicKey } });

    // A partial export says so: two of the hashing job's three units are missing.
    const partial = await c.exportFiles('dig');
    expect(partial).toMatchObject({ state: 'partial', missing: 2 });
    expect(partial.files.map((f) => f.name)).toEqual(['digests.bin', 'digests.npy', 'manifest.json']);
    await expect(c.exportFiles('nope')).rejects.toThrow(/the store holds no job "nope"/);
    // A C of 1.2 GiB planned: refused from its size, before any of it is allocated.
    const huge: JobSpec = { ...big, id: 'huge', units: 4096 };
    await core.addJob(huge);
    const heap = process.memoryUsage().arrayBuffers;
    await expect(c.exportFiles('huge')).rejects.toThrow(/job huge's export \(2 files, \d+ bytes\) is more than an observer takes/);
    expect(process.memoryUsage().arrayBuffers - heap).toBeLessThan(256 * 1024 * 1024);

    // A host that takes no observers (a dashboard's own host) is said to, and not dialled again.
    const pageHost = await HostCore.open(new MemoryHostStore(), [hashing], { hostId: HOST, hash, identity: await newIdentity() });
    const lonely = new ObserverClient({
      hostId: HOST,
      token: TOKEN,
      connect: (handlers) => memoryVolunteerOnly(pageHost, handlers),
      random: () => 0,
    });
    clients.push(lonely);
    lonely.start();
    await until(() => lonely.status === WatchStatus.Refused);
    expect(lonely.statusText).toMatch(/refused to be watched: it takes no observers \(unknown message type 'observe'\)/);

    // A host that offers no export says so.
    const plain = await setup([hashing]);
    const other = client(plain.connector);
    await until(() => other.status === WatchStatus.Watching);
    await expect(other.exportFiles('dig')).rejects.toThrow(/host watched-host offers no export to observers/);
  }, 30_000);

  it("refuses an output part whose bytes do not match the part's digest", async () => {
    const { core, connector } = await setup([hashing]);
    // A middle that flips a byte of every body it carries (the frames do not digest bodies).
    const c = client({
      ...connector,
      connect: (h) =>
        connector.connect({
          ...h,
          onText: (t, body) =>
            body
              ? h.onText(
                  t,
                  Uint8Array.from(body, (b, i) => (i === 0 ? b ^ 1 : b)),
                )
              : h.onText(t),
        }),
    });
    const v = await volunteer(core, 'vol');
    const unit = await v.lease();
    expect(await submit(v, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
    await until(() => c.status === WatchStatus.Watching);
    await expect(c.output(unit.unitId)).rejects.toThrow(/output of dig\/0: the part at 0 does not match its sha256/);
  });

  it('refuses a wrong token with a clear error and closes the connection; the client does not retry', async () => {
    const { observers, connector, core } = await setup([hashing]);
    const raw = await rawConnection(connector);
    const answer = await prove(raw, 'not-the-token-at-all-0000');
    expect(answer).toMatchObject({ type: 'error', id: 2, code: 'bad-token' });
    expect(answer.message).toMatch(/wrong observer token for host watched-host/);
    await until(() => raw.state.closed);
    expect(observers.size).toBe(0);
    expect(core.openSessions()).toBe(0);

    const c = client(connector, 'not-the-token-at-all-0000');
    await until(() => c.status === WatchStatus.Refused);
    expect(c.statusText).toMatch(/refused to be watched: wrong observer token/);
    const links = connector.links.size;
    await new Promise((r) => setTimeout(r, 800));
    expect(connector.links.size).toBe(links); // no new attempt
  });

  it('gives one try: a second proof, or a request before the proof, ends the connection', async () => {
    const { observers, connector } = await setup([hashing]);
    const early = await rawConnection(connector);
    early.say({ type: 'observe', id: 1, protocol: PROTOCOL_VERSION, client: 't' });
    early.say({ type: 'snapshot', id: 2, verdictsAfter: 0 });
    await until(() => early.state.closed);
    expect(early.received[1]).toMatchObject({ type: 'error', id: 2, message: `'snapshot' before 'observe' and 'observe-proof'` });

    const proofWithoutNonce = await rawConnection(connector);
    proofWithoutNonce.say({ type: 'observe', id: 1, protocol: PROTOCOL_VERSION, client: 't' });
    proofWithoutNonce.say({ type: 'observe', id: 2, protocol: PROTOCOL_VERSION, client: 't' });
    await until(() => proofWithoutNonce.state.closed);
    expect(proofWithoutNonce.received[1]).toMatchObject({ type: 'error', id: 2, message: `'observe' twice on one connection` });

    const otherVersion = await rawConnection(connector);
    otherVersion.say({ type: 'observe', id: 1, protocol: PROTOCOL_VERSION + 1, client: 't' });
    await until(() => otherVersion.state.closed);
    expect(otherVersion.received[0]).toMatchObject({ type: 'error', code: 'protocol-version' });
    expect(observers.size).toBe(0);
  });

  it('an observer cannot speak the volunteer protocol, and a volunteer cannot become an observer', async () => {
    const { core, connector } = await setup([hashing]);
    const raw = await rawConnection(connector);
    expect(await prove(raw, TOKEN)).toMatchObject({ type: 'observing', id: 2, hostId: HOST, publicKey: core.publicKey });
    const identity = await newIdentity();
    raw.say({ type: 'hello', id: 3, protocol: PROTOCOL_VERSION, client: 't', publicKey: identity.publicKey });
    raw.say({ type: 'request-unit', id: 4, holding: [] });
    raw.say({ type: 'result', unitId: 'dig/0', root: '0'.repeat(64), backend: 'cpu', signature: '0'.repeat(128) });
    await until(() => raw.received.length === 5);
    expect(raw.received.slice(2)).toMatchObject([
      { type: 'error', code: 'bad-message', id: 3, message: "unknown message type 'hello'" },
      { type: 'error', code: 'bad-message', id: 4, message: "unknown message type 'request-unit'" },
      { type: 'error', code: 'bad-message', message: "unknown message type 'result'" },
    ]);
    // Still observing, and the host holds no volunteer session for it, nor leased anything.
    expect(raw.state.closed).toBe(false);
    expect(core.openSessions()).toBe(0);
    expect(core.progress()).toMatchObject({ queued: 3, leased: 0 });

    // A connection that began as a volunteer's stays one: its `observe` is refused by the core.
    const vol = await rawConnection(connector);
    vol.say({ type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: identity.publicKey });
    await until(() => vol.received.length === 1);
    expect(vol.received[0]).toMatchObject({ type: 'welcome' });
    vol.say({ type: 'observe', id: 2, protocol: PROTOCOL_VERSION, client: 't' });
    await until(() => vol.received.length === 2);
    expect(vol.received[1]).toMatchObject({ type: 'error', code: 'bad-message', message: "unknown message type 'observe'" });
  });

  it('bounds what observers hold: silent connections are swept, closed ones forgotten, observers capped, requests not queued without end', async () => {
    const { observers, connector, advance } = await setup([hashing], { maxObservers: 1 });
    const silent = [await rawConnection(connector), await rawConnection(connector)];
    for (const s of silent) s.say({ type: 'observe', id: 1, protocol: PROTOCOL_VERSION, client: 't' });
    await until(() => silent.every((s) => s.received.length === 1));
    expect(observers.size).toBe(2);
    advance(OBSERVE_PROOF_TIMEOUT_MS - 1);
    observers.sweep();
    expect(observers.size).toBe(2);
    advance(1);
    observers.sweep();
    expect(observers.size).toBe(0);
    await until(() => silent.every((s) => s.state.closed));

    const first = await rawConnection(connector);
    expect(await prove(first, TOKEN)).toMatchObject({ type: 'observing' });
    const second = await rawConnection(connector);
    expect(await prove(second, TOKEN)).toMatchObject({ type: 'error', code: 'busy' });
    await until(() => second.state.closed);
    expect(observers.observing()).toBe(1);

    // A flood: beyond the backlog, requests are refused at once, not queued.
    for (let i = 0; i < 3 * MAX_OBSERVER_BACKLOG; i++) first.say({ type: 'snapshot', id: 10 + i, verdictsAfter: 0 });
    await until(() => first.received.length === 2 + 3 * MAX_OBSERVER_BACKLOG);
    const answers = first.received.slice(2);
    expect(answers.filter((m) => m.type === 'snapshot').length).toBeGreaterThanOrEqual(MAX_OBSERVER_BACKLOG);
    expect(answers.filter((m) => m.type === 'error').every((m) => m.code === 'busy')).toBe(true);

    first.link.close();
    expect(observers.size).toBe(0);
  });

  it('pages a big job under the message limit and keeps watching across a lost link', async () => {
    const many: JobSpec = { id: 'many', kernel: 'sha256-batch', units: 5000, messagesPerUnit: 1, messageLength: 4, seed: 1, samples: 1 };
    const { core, connector } = await setup([many]);
    const sizes: number[] = [];
    const counting = {
      ...connector,
      connect: (h: Parameters<typeof connector.connect>[0]) => connector.connect({ ...h, onText: (t) => (sizes.push((t as string).length), h.onText(t)) }),
    };
    const c = client(counting);
    await until(() => c.view.units('many').length === 5000, 10_000);
    expect(c.view.units('many')).toEqual(core.units('many'));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(sizes.filter((s) => s > 100_000).length).toBeGreaterThan(1); // more than one page

    // The host side drops the link: the client dials again, proves again and goes on.
    const [, { host }] = [...connector.links][0]!;
    host.close();
    await until(() => c.status === WatchStatus.Reconnecting);
    expect(c.statusText).toMatch(/Lost the link to host watched-host .*trying again in 1 s/);
    await until(() => c.status === WatchStatus.Watching, 5000);
    expect(connector.links.size).toBe(1);
  });
});
