import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/hex';
import { HostCore, KEY_PROOF_TIMEOUT_MS } from '../../src/host/host-core';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { HostStore } from '../../src/host/store/store';
import { jobUnit, unitWork, parseJob, type JobSpec } from '../../src/host/job';
import { chooseChallenge } from '../../src/host/verify-openings';
import { buildMerkleTreeOfChunks, merklePath } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import {
  PROTOCOL_VERSION,
  encodeMessage,
  unitLeaves,
  type ChallengedUnit,
  type HostMessage,
  type Receipt,
  type VolunteerMessage,
  type WorkUnit,
} from '../../src/protocol';
import { parseHostMessage } from '../../src/validate';
import { f32ErrorBound } from '../../src/kernels/matmul/matmul';
import { referenceLeaves } from '../../src/host/recompute';
import { receiptIsIntact } from '../../src/proof/receipt';
import { seededRandom } from '../../src/work/seeded';
import type { Identity } from '../../src/proof/identity';
import { greetAs, keyProofFor, newIdentity, overTheWire, resultOf, withStepMac } from '../helpers/signing';

const job: JobSpec = { id: 'test', kernel: 'sha256-batch', units: 3, messagesPerUnit: 37, messageLength: 64, seed: 9, samples: 8 };
let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

let now = 1_000_000;
const clock = () => now;

function newHost(spec = job, store: HostStore = new MemoryHostStore(), leaseMs = 60_000) {
  return HostCore.open(store, [spec], { hostId: 'h', hash, identity: hostKey, random: seededRandom(1), clock, leaseMs, maxLeases: 1 });
}

/** Sends a message as volunteer `name`, checks every reply parses as a host message. */
async function say(core: HostCore, name: string, m: VolunteerMessage | string): Promise<HostMessage[]> {
  const replies = await core.handle(name, typeof m === 'string' ? m : encodeMessage(m));
  return replies.map(overTheWire);
}

/** Each volunteer name's key, made on first use: the host knows volunteers by key. */
const keys = new Map<string, Identity>();
async function key(name: string): Promise<Identity> {
  if (!keys.has(name)) keys.set(name, await newIdentity());
  return keys.get(name)!;
}
const vid = (name: string) => keys.get(name)!.id;

/** hello + key-proof on connection `name`, with the key of volunteer `as`. */
async function greet(core: HostCore, name: string, as = name) {
  expect(await greetAs(core, name, await key(as))).toMatchObject({ type: 'welcome', leaseMs: core.leaseMs, publicKey: hostKey.publicKey });
}

/** A result signed by volunteer `name`'s key. */
async function signed(name: string, unit: WorkUnit, root: string): Promise<VolunteerMessage> {
  return resultOf(await key(name), unit, root);
}

async function lease(core: HostCore, name: string, holding: string[] = []): Promise<WorkUnit> {
  const [reply] = await say(core, name, { type: 'request-unit', id: 1, holding });
  if (reply?.type !== 'unit') throw new Error(`expected a unit, got ${JSON.stringify(reply)}`);
  return reply.unit;
}

/** The leaves an honest volunteer computes: digests, or the rows of C (each kernel's CPU reference, so any kernel's units). */
function honestLeaves(unit: WorkUnit): Uint8Array {
  if (unit.kernel === 'sha256d-pow') throw new Error('proof-of-work units have no fixed leaves');
  return referenceLeaves(unit, hash);
}

/** Runs result → challenge → openings with the given leaves and root; returns the verdict. */
async function submit(core: HostCore, name: string, unit: WorkUnit, leaves: Uint8Array, root?: Uint8Array): Promise<HostMessage> {
  const { bytes } = unitLeaves(unit as ChallengedUnit);
  const tree = buildMerkleTreeOfChunks(leaves, bytes, hash);
  const [challenge] = await say(core, name, await signed(name, unit, toHex(root ?? tree.root)));
  if (challenge?.type !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(challenge)}`);
  const openings = challenge.indices.map((index) => ({
    index,
    leaf: toHex(leaves.subarray(index * bytes, (index + 1) * bytes)),
    path: merklePath(tree, index).map(toHex),
  }));
  const [verdict] = await say(core, name, { type: 'openings', unitId: unit.unitId, openings });
  return verdict!;
}

const honest = honestLeaves;

describe('HostCore', () => {
  it('accepts an honest result once, credits its work with a receipt, and finishes the job', async () => {
    const core = await newHost();
    await greet(core, 'a');
    for (let i = 0; i < job.units; i++) {
      const unit = await lease(core, 'a');
      expect(unit).toEqual(jobUnit(job, i));
      const verdict = await submit(core, 'a', unit, honest(unit));
      expect(verdict).toMatchObject({
        type: 'verdict',
        verdict: 'accepted',
        credit: unitWork(unit),
        receipt: { unitId: unit.unitId, volunteer: vid('a'), credit: unitWork(unit) },
      });
      expect(receiptIsIntact((verdict as { receipt: Receipt }).receipt, hash)).toBe(true);
    }
    expect(core.done).toBe(true);
    expect(core.volunteer(vid('a'))).toMatchObject({ accepted: 3, credit: 3 * 37 * 2 });
    expect(await say(core, 'a', { type: 'request-unit', id: 1, holding: [] })).toEqual([{ type: 'no-work', id: 1, retryMs: 2000, jobDone: true }]);
    expect(core.results().map((r) => r.unitId)).toEqual(['test/0', 'test/1', 'test/2']);
  });

  it('rejects a wrong root, requeues the unit, and never gives it back to the same volunteer', async () => {
    const core = await newHost({ ...job, units: 1 });
    await greet(core, 'cheat');
    const unit = await lease(core, 'cheat');
    const verdict = await submit(core, 'cheat', unit, honest(unit), new Uint8Array(32).fill(7));
    expect(verdict).toMatchObject({ verdict: 'rejected', credit: 0, totalCredit: 0 });
    expect(verdict).not.toHaveProperty('receipt');
    expect((verdict as { reason: string }).reason).toMatch(/committed root/);
    expect(core.progress()).toMatchObject({ queued: 1, accepted: 0 });
    expect((await say(core, 'cheat', { type: 'request-unit', id: 1, holding: [] }))[0]).toMatchObject({ type: 'no-work', jobDone: false });
    await greet(core, 'honest');
    expect((await lease(core, 'honest')).unitId).toBe(unit.unitId);
  });

  it('rejects a result whose digests are wrong even though they open to its root', async () => {
    const core = await newHost();
    await greet(core, 'lazy');
    const unit = await lease(core, 'lazy');
    const verdict = await submit(core, 'lazy', unit, new Uint8Array(unitLeaves(unit as ChallengedUnit).count * 32).fill(1));
    expect(verdict).toMatchObject({ verdict: 'rejected' });
    expect((verdict as { reason: string }).reason).toMatch(/digest is wrong/);
  });

  it('catches a unit faked in part with the probability the sample size gives', async () => {
    // Every other digest fake: 8 samples miss with probability 1/256; 20 units expect < 0.1 misses.
    const spec = { ...job, units: 20 };
    const core = await newHost(spec);
    await greet(core, 'half');
    let caught = 0;
    for (let i = 0; i < spec.units; i++) {
      const unit = await lease(core, 'half');
      const digests = honest(unit);
      for (let m = 0; m < unitLeaves(unit as ChallengedUnit).count; m += 2) digests[m * 32] ^= 0xff;
      if (((await submit(core, 'half', unit, digests)) as { verdict: string }).verdict === 'rejected') caught++;
    }
    expect(caught).toBeGreaterThanOrEqual(19);
  });

  it('acknowledges a duplicate result with the original receipt and no new credit', async () => {
    const core = await newHost();
    await greet(core, 'a');
    const unit = await lease(core, 'a');
    const digests = honest(unit);
    const first = (await submit(core, 'a', unit, digests)) as { receipt: Receipt };
    const [dup] = await say(core, 'a', await signed('a', unit, rootOf(digests)));
    expect(dup).toMatchObject({ type: 'verdict', verdict: 'duplicate', credit: 0, totalCredit: unitWork(unit), receipt: first.receipt });
    await greet(core, 'b');
    // Another key that never held the unit claiming it is no duplicate: an invalid claim.
    const [other] = await say(core, 'b', await signed('b', unit, rootOf(digests)));
    expect(other).toMatchObject({ type: 'error', code: 'unknown-unit', message: expect.stringMatching(/never leased to you/) });
    expect(core.progress().accepted).toBe(1);
  });

  it('refuses results for units not leased to the sender, naming the unit', async () => {
    const core = await newHost();
    await greet(core, 'a');
    await greet(core, 'b');
    const unit = await lease(core, 'a');
    expect((await say(core, 'b', await signed('b', unit, 'ab'.repeat(32))))[0]).toMatchObject({ type: 'error', code: 'unknown-unit', unitId: unit.unitId });
    expect((await say(core, 'b', await signed('b', jobUnit(job, 999), 'ab'.repeat(32))))[0]).toMatchObject({ type: 'error', code: 'unknown-unit' });
    expect((await say(core, 'a', { type: 'openings', unitId: unit.unitId, openings: [] }))[0]).toMatchObject({ type: 'error', code: 'unknown-unit' });
    expect(await submit(core, 'a', unit, honest(unit))).toMatchObject({ verdict: 'accepted' });
  });

  it('answers messages before hello, wrong versions and junk with typed errors', async () => {
    const core = await newHost();
    // An error answering a request names it.
    expect((await say(core, 'x', { type: 'request-unit', id: 3, holding: [] }))[0]).toMatchObject({ type: 'error', code: 'bad-message', id: 3 });
    expect((await say(core, 'x', { type: 'hello', id: 4, protocol: 1, client: 't', publicKey: (await key('x')).publicKey }))[0]).toMatchObject({
      type: 'error',
      code: 'protocol-version',
      id: 4,
    });
    expect((await say(core, 'x', '{"type":'))[0]).toMatchObject({ type: 'error', code: 'bad-message' });
    expect((await core.handle('x', new Uint8Array(3)))[0]).toMatchObject({ type: 'error', code: 'bad-message' });
    expect(core.progress().queued).toBe(3);
  });

  it('re-gives a volunteer the units it holds but did not list, and caps how many it holds', async () => {
    const core = await newHost();
    await greet(core, 'a');
    const unit = await lease(core, 'a');
    expect(await lease(core, 'a')).toEqual(unit); // a reload: it forgot, the host did not
    expect((await say(core, 'a', { type: 'request-unit', id: 1, holding: [unit.unitId] }))[0]).toMatchObject({ type: 'no-work' }); // maxLeases 1
    expect(core.progress()).toMatchObject({ leased: 1, queued: 2 });
  });

  it('keeps leases across a reconnect, renews them on heartbeats, and requeues them when they lapse', async () => {
    const core = await newHost(job, new MemoryHostStore(), 10_000);
    await greet(core, 'conn-1');
    const unit = await lease(core, 'conn-1');
    await core.disconnect('conn-1');
    now += 6_000;
    // Same key on a new connection: the lease is still its own.
    await greet(core, 'conn-2', 'conn-1');
    expect((await say(core, 'conn-2', { type: 'heartbeat', unitId: unit.unitId, done: 10, total: 37 }))[0]).toEqual({
      type: 'lease',
      unitId: unit.unitId,
      leaseMs: 10_000,
    });
    now += 6_000;
    expect(await core.expireLeases()).toBe(0); // renewed 6 s ago, lasts 10 s
    now += 5_000;
    expect(await core.expireLeases()).toBe(1);
    expect(core.progress()).toMatchObject({ leased: 0, queued: 3 });
    // The unit went to the back of the queue, and the next volunteer gets another one first.
    await greet(core, 'b');
    expect((await lease(core, 'b')).unitId).toBe('test/1');
    // Nobody took it since: a heartbeat from its last holder takes it back, progress and all.
    expect((await say(core, 'conn-2', { type: 'heartbeat', unitId: unit.unitId, done: 20, total: 37 }))[0]).toEqual({
      type: 'lease',
      unitId: unit.unitId,
      leaseMs: 10_000,
    });
    expect(core.progress()).toMatchObject({ leased: 2, queued: 1 });
    // It lapses again and this time another volunteer leases it: now the lease is lost for good.
    now += 11_000;
    expect(await core.expireLeases()).toBe(2);
    for (const [name, id] of [
      ['c', 'test/2'],
      ['d', 'test/1'],
      ['e', unit.unitId],
    ]) {
      await greet(core, name!);
      expect((await lease(core, name!)).unitId).toBe(id);
    }
    expect((await say(core, 'conn-2', { type: 'heartbeat', unitId: unit.unitId, done: 30, total: 37 }))[0]).toMatchObject({
      type: 'lease-lost',
      unitId: unit.unitId,
    });
    expect((await say(core, 'conn-2', await signed('conn-1', unit, 'ab'.repeat(32))))[0]).toMatchObject({ type: 'error', code: 'unknown-unit' });
  });

  it('judges a result whose lease lapsed if nobody leased the unit since', async () => {
    const core = await newHost(job, new MemoryHostStore(), 10_000);
    await greet(core, 'a');
    const unit = await lease(core, 'a');
    now += 11_000;
    expect(await core.expireLeases()).toBe(1);
    const result = await signed('a', unit, rootOf(honest(unit)));
    const [check] = await say(core, 'a', result);
    expect(check).toMatchObject({ type: 'challenge', unitId: unit.unitId });
    expect(core.progress()).toMatchObject({ verifying: 1, queued: 2 });
    // A challenge left unanswered until the lease lapses is not redrawn for the same volunteer:
    // the unit starts over with anyone, so nobody can shop for easy leaves.
    now += 11_000;
    expect(await core.expireLeases()).toBe(1);
    expect((await say(core, 'a', result))[0]).toMatchObject({ type: 'error', code: 'unknown-unit', message: expect.stringMatching(/not leased to you/) });
    expect((await say(core, 'a', { type: 'heartbeat', unitId: unit.unitId, done: 37, total: 37 }))[0]).toMatchObject({ type: 'lease-lost' });
    expect(core.volunteer(vid('a'))?.rejected ?? 0).toBe(0);
  });

  it('repeats the same challenge when a result is sent again after a reconnect', async () => {
    const core = await newHost();
    await greet(core, 'a');
    const unit = await lease(core, 'a');
    const result = await signed('a', unit, rootOf(honest(unit)));
    const [first] = await say(core, 'a', result);
    const [again] = await say(core, 'a', result);
    expect(again).toEqual(first);
  });

  it('serves jobs by priority, then in the order they were added', async () => {
    const low = { ...job, id: 'low', units: 1 };
    const high = { ...job, id: 'high', units: 1, priority: 5 };
    const core = await HostCore.open(new MemoryHostStore(), [low, high], { hostId: 'h', hash, identity: hostKey, clock });
    await greet(core, 'a');
    await greet(core, 'b');
    expect((await lease(core, 'a')).jobId).toBe('high');
    expect((await lease(core, 'b')).jobId).toBe('low');
  });

  it('survives a restart: a new core on the same store has every acceptance, credit and lease', async () => {
    const store = new MemoryHostStore();
    const first = await newHost(job, store);
    await greet(first, 'a');
    const unit = await lease(first, 'a');
    const verdict = (await submit(first, 'a', unit, honest(unit))) as { receipt: Receipt };
    const held = await lease(first, 'a');
    const second = await newHost(job, store);
    expect(second.progress()).toMatchObject({ accepted: 1, leased: 1, queued: 1 });
    expect(second.volunteer(vid('a'))).toEqual(first.volunteer(vid('a')));
    expect(second.receipt(unit.unitId)).toEqual(verdict.receipt);
    await greet(second, 'a');
    expect(await lease(second, 'a')).toEqual(held);
    await expect(HostCore.open(store, [{ ...job, seed: 10 }], { hostId: 'h', hash, identity: hostKey })).rejects.toThrow(/different spec/);
  });

  it('commits each change before it replies', async () => {
    const store = new MemoryHostStore();
    const core = await newHost(job, store);
    await greet(core, 'a');
    const before = store.commits;
    const unit = await lease(core, 'a');
    expect(store.commits).toBe(before + 1);
    expect((await store.load()).units.find((u) => u.unitId === unit.unitId)).toMatchObject({ state: 'leased', holder: vid('a') });
  });
});

describe('HostCore relays', () => {
  async function capped() {
    return HostCore.open(new MemoryHostStore(), [job], { hostId: 'h', hash, identity: hostKey, clock, maxDirect: 1, relayMinAccepted: 1 });
  }
  const hello = async (name: string, relay?: boolean) =>
    ({
      type: 'hello',
      id: 1,
      protocol: PROTOCOL_VERSION,
      client: 't',
      publicKey: (await key(name)).publicKey,
      ...(relay === undefined ? {} : { relay }),
    }) as const;
  const greetRelay = (core: HostCore, name: string) => greetAs(core, name, keys.get(name)!, { relay: true });
  /** A relay as the host lets one relay: offered in its hello, key proved, a result accepted. */
  const provenRelay = async (core: HostCore, name: string) => {
    await key(name);
    await greetRelay(core, name);
    const unit = await lease(core, name);
    expect(await submit(core, name, unit, honest(unit))).toMatchObject({ verdict: 'accepted' });
  };

  it("refuses a direct connection whose name has a '>' (a relayed child's name), past the cap and the stranger sweep otherwise", async () => {
    const core = await capped();
    await core.connect('evil>x'); // no session (resolved: shells do not wait on connect)
    expect(core.openSessions()).toBe(0);
    const [reply] = await say(core, 'evil>x', await hello('evil>x'));
    expect(reply).toMatchObject({ type: 'error', code: 'bad-input' });
    expect(core.openSessions()).toBe(0);
  });

  it('past its cap, sends newcomers to proven relays, or tells them to wait while there are none', async () => {
    const core = await capped();
    await key('r');
    await greetRelay(core, 'r');
    expect((await say(core, 'x', await hello('x')))[0]).toEqual({ type: 'redirect', id: 1, relays: [], retryMs: 2000, publicKey: core.publicKey }); // r has no accepted result yet
    const unit = await lease(core, 'r');
    await submit(core, 'r', unit, honest(unit));
    expect((await say(core, 'x', await hello('x')))[0]).toEqual({ type: 'redirect', id: 1, relays: ['r'], retryMs: 2000, publicKey: core.publicKey });
    expect(core.directConnections()).toBe(1);
  });

  it('handles a relayed child as itself: its own leases, verdicts and credit, replies wrapped for the relay; a bad MAC through the relay counts for nothing', async () => {
    const core = await capped();
    await provenRelay(core, 'r');
    const relayBefore = core.volunteer(vid('r'));
    const wrap = async (m: VolunteerMessage) => {
      const replies = await say(core, 'r', { type: 'relay', child: 'c1', text: encodeMessage(m) });
      return replies.map((r) => {
        if (r.type !== 'relayed' || r.child !== 'c1') throw new Error(`expected a relayed reply, got ${JSON.stringify(r)}`);
        return parseHostMessage(r.text);
      });
    };
    // The child numbers its requests; the answers carry its ids back through the relay unchanged.
    const [welcome] = await wrap({ ...(await hello('child')), id: 41 });
    if (welcome?.type !== 'welcome') throw new Error('expected a welcome');
    expect(welcome.id).toBe(41);
    expect(await wrap(await keyProofFor(keys.get('child')!, welcome))).toEqual([]);
    const [u] = await wrap({ type: 'request-unit', id: 42, holding: [] });
    if (u?.type !== 'unit') throw new Error('expected a unit');
    expect(u.id).toBe(42);
    const leaves = honest(u.unit);
    const tree = buildMerkleTreeOfChunks(leaves, 32, hash);
    // The relay makes up a result for its child's unit: refused, and not counted against the child (the relay could be lying).
    const honestResult = await signed('child', u.unit, toHex(tree.root));
    if (honestResult.type !== 'result') throw new Error('expected a result');
    const [forged] = await wrap({ ...honestResult, mac: '00'.repeat(32) });
    expect(forged).toMatchObject({ type: 'error', code: 'bad-signature', unitId: u.unit.unitId });
    expect(core.volunteer(vid('child'))?.rejected ?? 0).toBe(0);
    const [challenge] = await wrap(await signed('child', u.unit, toHex(tree.root)));
    if (challenge?.type !== 'challenge') throw new Error('expected a challenge');
    const openings = challenge.indices.map((index) => ({
      index,
      leaf: toHex(leaves.subarray(index * 32, index * 32 + 32)),
      path: merklePath(tree, index).map(toHex),
    }));
    // Openings the relay makes up (no MAC, or one of its own) are refused and count for nothing; the child's own are judged.
    const madeUp = { type: 'openings' as const, unitId: u.unit.unitId, openings: openings.map((o) => ({ ...o, leaf: '00'.repeat(32) })) };
    expect((await wrap(madeUp))[0]).toMatchObject({ type: 'error', code: 'bad-signature' });
    expect((await wrap({ ...madeUp, mac: 'ab'.repeat(32) }))[0]).toMatchObject({ type: 'error', code: 'bad-signature' });
    expect((await wrap(withStepMac(keys.get('child')!, { type: 'openings', unitId: u.unit.unitId, openings })))[0]).toMatchObject({ verdict: 'accepted' });
    expect(core.volunteer(vid('child'))).toMatchObject({ accepted: 1, rejected: 0 });
    expect(core.volunteer(vid('r'))).toEqual(relayBefore); // the relay earns nothing for its child
  });

  it('refuses relaying from a volunteer that did not offer to relay, and nested relays', async () => {
    const core = await capped();
    await say(core, 'n', await hello('n'));
    expect((await say(core, 'n', { type: 'relay', child: 'c', text: encodeMessage(await hello('c')) }))[0]).toMatchObject({
      type: 'error',
      code: 'bad-message',
    });
    const core2 = await capped();
    await provenRelay(core2, 'r');
    const nested = encodeMessage({ type: 'relay', child: 'd', text: encodeMessage(await hello('d')) });
    const [reply] = await say(core2, 'r', { type: 'relay', child: 'c', text: nested });
    expect(reply?.type === 'relayed' && parseHostMessage(reply.text)).toMatchObject({ type: 'error', code: 'bad-message' });
  });

  it('lets a connection that offered to relay relay only once its key is proved and it has had a result accepted', async () => {
    const core = await capped();
    await key('r');
    const relayed = async () => say(core, 'r', { type: 'relay', child: 'c', text: encodeMessage(await hello('child')) });
    const notYet = {
      type: 'error',
      code: 'bad-message',
      message: expect.stringMatching(/not a relay yet: a relay first proves its key and has 1 result\(s\) accepted/),
    };
    // `relay: true` in a hello alone.
    expect((await say(core, 'r', await hello('r', true)))[0]).toMatchObject({ type: 'welcome' });
    expect(await relayed()).toEqual([notYet]);
    // Key proved, nothing accepted yet.
    await greetRelay(core, 'r');
    expect(await relayed()).toEqual([notYet]);
    expect(await say(core, 'r', { type: 'child-left', child: 'c' })).toEqual([notYet]);
    const unit = await lease(core, 'r');
    expect(await submit(core, 'r', unit, honest(unit))).toMatchObject({ verdict: 'accepted' });
    const [reply] = await relayed();
    expect(reply).toMatchObject({ type: 'relayed', child: 'c' });
    expect(reply?.type === 'relayed' && parseHostMessage(reply.text)).toMatchObject({ type: 'welcome' });
  });

  it('opens at most 8 child sessions a relay: of 400 children 8 are served, child-left frees a place, the relay leaving drops them', async () => {
    const core = await capped();
    await provenRelay(core, 'r');
    const before = core.openSessions();
    const childHello = encodeMessage(await hello('child'));
    const replies: HostMessage[] = [];
    for (let i = 0; i < 400; i++) replies.push(...(await say(core, 'r', { type: 'relay', child: `c${i}`, text: childHello })));
    // Every reply is wrapped, so the relay passes it on to its child.
    expect(replies.map((r) => r.type === 'relayed' && r.child)).toEqual(Array.from({ length: 400 }, (_, i) => `c${i}`));
    const inner = replies.map((r) => (r.type === 'relayed' ? parseHostMessage(r.text) : r));
    expect(inner.slice(0, 8).map((m) => m.type)).toEqual(Array(8).fill('welcome'));
    for (const m of inner.slice(8))
      expect(m).toMatchObject({ type: 'error', code: 'bad-message', message: expect.stringMatching(/already serves 8 children/) });
    expect(core.openSessions()).toBe(before + 8);
    // A turned-away child still has no session; one leaving frees a place for the next.
    const [refused] = await say(core, 'r', { type: 'relay', child: 'c9', text: encodeMessage({ type: 'request-unit', id: 1, holding: [] }) });
    expect(refused?.type === 'relayed' && parseHostMessage(refused.text)).toMatchObject({ message: expect.stringMatching(/already serves 8 children/) });
    expect(await say(core, 'r', { type: 'child-left', child: 'c3' })).toEqual([]);
    expect(core.openSessions()).toBe(before + 7);
    const [next] = await say(core, 'r', { type: 'relay', child: 'c400', text: childHello });
    expect(next?.type === 'relayed' && parseHostMessage(next.text)).toMatchObject({ type: 'welcome' });
    expect(core.openSessions()).toBe(before + 8);
    await core.disconnect('r');
    expect(core.openSessions()).toBe(before - 1);
  });
});

describe('HostCore against hostile peers', () => {
  const helloOf = (identity: Identity) => ({ type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: identity.publicKey }) as const;
  const open = (
    spec: JobSpec,
    options: { leaseMs?: number; maxHoldMs?: number; maxDirect?: number; maxLeases?: number; heartbeatMs?: number; retryMs?: number; hostId?: string } = {},
    store: HostStore = new MemoryHostStore(),
  ) => HostCore.open(store, [spec], { hostId: 'h', hash, identity: hostKey, random: seededRandom(2), clock, ...options });
  const beat = async (core: HostCore, name: string, unitId: string) => (await say(core, name, { type: 'heartbeat', unitId, done: 1, total: 37 }))[0];

  it('lets a connection speak for one key: 16 keys behind one connection cannot squat on every unit, and a newcomer gets work within a lease period', async () => {
    const core = await open({ ...job, id: 'squat', units: 32 }, { leaseMs: 10_000 });
    const sybils = await Promise.all(Array.from({ length: 16 }, () => newIdentity()));
    const held = new Map<Identity, string[]>();
    // Speaks as `k` on the one connection, with hello and key-proof again each time (the attack).
    const as = async (k: Identity) => (await greetAs(core, 'sybil', k)).type === 'welcome';
    for (const k of sybils) {
      if (!(await as(k))) continue;
      for (let i = 0; i < 2; i++) {
        const [r] = await say(core, 'sybil', { type: 'request-unit', id: 1, holding: held.get(k) ?? [] });
        if (r?.type === 'unit') held.set(k, [...(held.get(k) ?? []), r.unit.unitId]);
      }
    }
    // The squatter heartbeats everything it holds every quarter lease; a newcomer asks every retryMs.
    await greet(core, 'newcomer');
    let servedAt: number | undefined;
    for (let t = 0; t <= core.leaseMs && servedAt === undefined; t += 500) {
      if (t % core.heartbeatMs === 0) for (const [k, units] of held) if (await as(k)) for (const unitId of units) await beat(core, 'sybil', unitId);
      await core.expireLeases();
      if (t % 2_000 === 0 && (await say(core, 'newcomer', { type: 'request-unit', id: 1, holding: [] }))[0]?.type === 'unit') servedAt = t;
      now += 500;
    }
    expect(servedAt).toBeDefined();
    // The connection speaks for its first key only, so it holds that key's maxLeases units.
    expect([...held.values()].flat()).toHaveLength(2);
    // Its hellos (one a key switch) are refused past HELLOS_PER_MINUTE; a minute on it may say hello again.
    expect((await say(core, 'sybil', { type: 'hello', id: 9, protocol: PROTOCOL_VERSION, client: 't', publicKey: sybils[0]!.publicKey }))[0]).toMatchObject({
      type: 'error',
      code: 'busy',
    });
    now += 60_000;
    expect(await greetAs(core, 'sybil', sybils[1]!)).toMatchObject({
      type: 'error',
      code: 'bad-message',
      message: expect.stringMatching(/already speaks for another key/),
    });
    // The same key saying hello again is fine, and keeps its units (a lapsed lease nobody else took is its holder's again).
    expect(await greetAs(core, 'sybil', sybils[0]!)).toMatchObject({ type: 'welcome' });
    expect(await beat(core, 'sybil', held.get(sybils[0]!)![0]!)).toMatchObject({ type: 'lease' });
  });

  it('renews a lease by heartbeats only up to maxHoldMs; then the lease is lost and its holder cannot take the unit straight back', async () => {
    const core = await open({ ...job, units: 1 }, { leaseMs: 10_000, maxHoldMs: 40_000 });
    await greet(core, 'squat');
    const unit = await lease(core, 'squat');
    const start = now;
    for (now += 2_500; now < start + 40_000; now += 2_500) {
      expect(await beat(core, 'squat', unit.unitId)).toEqual({ type: 'lease', unitId: unit.unitId, leaseMs: 10_000 });
      expect(await core.expireLeases()).toBe(0);
    }
    expect(await beat(core, 'squat', unit.unitId)).toEqual({
      type: 'lease-lost',
      unitId: unit.unitId,
      reason: expect.stringMatching(/^held for 40 s, the longest one key may hold a unit/),
    });
    expect(core.progress()).toMatchObject({ leased: 0, queued: 1 });
    // Not straight back: not by the lapsed-lease path, not by asking, not with a late result.
    expect(await beat(core, 'squat', unit.unitId)).toMatchObject({ type: 'lease-lost', reason: expect.stringMatching(/^held for 40 s/) });
    expect((await say(core, 'squat', { type: 'request-unit', id: 1, holding: [] }))[0]).toMatchObject({ type: 'no-work', jobDone: false });
    expect((await say(core, 'squat', await signed('squat', unit, rootOf(honest(unit)))))[0]).toMatchObject({ type: 'error', code: 'unknown-unit' });
    expect(core.volunteer(vid('squat'))?.rejected ?? 0).toBe(0); // it did hold the unit: no penalty
    // Anyone else gets it, and finishes it.
    await greet(core, 'newcomer');
    expect((await lease(core, 'newcomer')).unitId).toBe(unit.unitId);
    expect(await submit(core, 'newcomer', unit, honest(unit))).toMatchObject({ verdict: 'accepted' });
    expect((await newHost()).maxHoldMs).toBe(600_000); // 10 × the default 60 s lease
    await expect(open(job, { leaseMs: 10_000, maxHoldMs: 9_999 })).rejects.toThrow(/maxHoldMs \(9999\) must be at least leaseMs/);
  });

  it('refuses, at start and naming the setting, options a volunteer would refuse in the welcome', async () => {
    await expect(open(job, { leaseMs: 999 })).rejects.toThrow(/host option leaseMs = 999 must be .* in 1000\.\.86400000/);
    await expect(open(job, { heartbeatMs: 50 })).rejects.toThrow(/host option heartbeatMs = 50/);
    await expect(open(job, { retryMs: 4_000_000 })).rejects.toThrow(/host option retryMs/);
    await expect(open(job, { hostId: 'x'.repeat(129) })).rejects.toThrow(/host option hostId must be 1\.\.128 characters/);
  });

  it("counts a key's hold from its first lease, across its lapses, regains and a lapsed check; a lone holder may lease the unit again a lease period later", async () => {
    const core = await open({ ...job, units: 1 }, { leaseMs: 10_000, maxHoldMs: 40_000, maxLeases: 1 });
    await greet(core, 'slow');
    const unit = await lease(core, 'slow');
    const start = now;
    // Lapses at 10 s and is taken back by a heartbeat at 12 s.
    now = start + 12_000;
    expect(await core.expireLeases()).toBe(1);
    expect(await beat(core, 'slow', unit.unitId)).toMatchObject({ type: 'lease' });
    // Its result is challenged at 20 s and the check lapses unanswered; asking takes the unit back.
    now = start + 20_000;
    expect((await say(core, 'slow', await signed('slow', unit, rootOf(honest(unit)))))[0]).toMatchObject({ type: 'challenge' });
    now = start + 31_000;
    expect(await core.expireLeases()).toBe(1);
    expect((await lease(core, 'slow')).unitId).toBe(unit.unitId);
    // Still the hold that began at the start: a heartbeat at 39 s renews the lease only to 40 s.
    now = start + 39_000;
    expect(await beat(core, 'slow', unit.unitId)).toMatchObject({ type: 'lease' });
    now = start + 40_000;
    expect(await core.expireLeases()).toBe(1);
    expect((await say(core, 'slow', { type: 'request-unit', id: 1, holding: [] }))[0]).toMatchObject({ type: 'no-work' });
    now = start + 49_999;
    expect((await say(core, 'slow', { type: 'request-unit', id: 1, holding: [] }))[0]).toMatchObject({ type: 'no-work' });
    // Nobody else wanted it for a lease period: its last holder may start a new hold.
    now = start + 50_000;
    expect((await lease(core, 'slow')).unitId).toBe(unit.unitId);
    now = start + 85_000;
    expect(await beat(core, 'slow', unit.unitId)).toMatchObject({ type: 'lease' });
    expect(await submit(core, 'slow', unit, honest(unit))).toMatchObject({ verdict: 'accepted' });
  });

  it('keeps holds in the store: a restarted host ends a hold when the first would have', async () => {
    const store = new MemoryHostStore();
    const options = { leaseMs: 10_000, maxHoldMs: 40_000 };
    const first = await open({ ...job, units: 1 }, options, store);
    await greet(first, 'a');
    const unit = await lease(first, 'a');
    const start = now;
    now = start + 9_000;
    const second = await open({ ...job, units: 1 }, options, store);
    await greet(second, 'a');
    for (const t of [9_000, 18_000, 27_000, 36_000]) {
      now = start + t;
      expect(await beat(second, 'a', unit.unitId)).toMatchObject({ type: 'lease' });
    }
    now = start + 40_000;
    expect(await beat(second, 'a', unit.unitId)).toMatchObject({ type: 'lease-lost', reason: expect.stringMatching(/^held for 40 s/) });
    expect((await store.load()).units[0]).toMatchObject({ state: 'queued', holder: null, hold: { key: vid('a'), since: start } });
  });

  it('counts a direct connection against the cap from its hello: of 18 that say hello before any key-proof, 12 are welcomed', async () => {
    const core = await open(job, { maxDirect: 12 });
    const ids = await Promise.all(Array.from({ length: 18 }, () => newIdentity()));
    const replies: HostMessage[] = [];
    for (const [i, id] of ids.entries()) replies.push(...(await say(core, `early-${i}`, helloOf(id))));
    expect(replies.slice(0, 12).map((r) => r.type)).toEqual(Array(12).fill('welcome'));
    expect(replies.slice(12)).toEqual(Array(6).fill({ type: 'redirect', id: 1, relays: [], retryMs: 2000, publicKey: core.publicKey }));
    expect(core.directConnections()).toBe(12);
    // One that leaves frees its place.
    await core.disconnect('early-0');
    expect(await greetAs(core, 'late', ids[0]!)).toMatchObject({ type: 'welcome' });
  });

  it('forgets a connection that closes with a message still queued, rather than bringing it back for good', async () => {
    const core = await open(job, { maxDirect: 1 });
    await core.connect('gone');
    // Its hello arrived, then its link closed before the host got to the hello.
    const late = core.handle('gone', encodeMessage(helloOf(await key('gone'))));
    const closed = core.disconnect('gone');
    expect((await late)[0]).toMatchObject({ type: 'welcome' });
    await closed;
    expect(core.openSessions()).toBe(0);
    // So it holds no place under the cap.
    expect(await greetAs(core, 'next', await key('next'))).toMatchObject({ type: 'welcome' });
    // A new link under a name starts afresh: nothing of the last one carries over.
    await core.connect('next');
    expect(core.directConnections()).toBe(0);
  });

  it('names the direct connections that proved no key 30 s after opening, for the shell to close', async () => {
    const core = await open(job, { maxDirect: 2 });
    const opened = now;
    for (const name of ['silent', 'honest', 'hello-only', 'sent-away']) await core.connect(name);
    await greet(core, 'honest');
    expect((await say(core, 'hello-only', helloOf(await key('hello-only'))))[0]).toMatchObject({ type: 'welcome' });
    expect((await say(core, 'sent-away', helloOf(await key('sent-away'))))[0]).toMatchObject({ type: 'redirect' });
    now = opened + KEY_PROOF_TIMEOUT_MS - 1;
    expect(core.strangers()).toEqual([]);
    now = opened + KEY_PROOF_TIMEOUT_MS;
    expect(core.strangers().sort()).toEqual(['hello-only', 'sent-away', 'silent']);
    await core.disconnect('silent');
    expect(core.strangers().sort()).toEqual(['hello-only', 'sent-away']);
  });
});

describe('HostCore with matrix jobs', () => {
  const modp: JobSpec = { id: 'mm-modp', kernel: 'matmul-modp', units: 2, m: 37, n: 29, k: 41, p: 65521, seed: 4, samples: 6 };
  const f32: JobSpec = { id: 'mm-f32', kernel: 'matmul-f32', units: 2, m: 33, n: 20, k: 300, seed: 8, samples: 33 };

  it('accepts an exact modp product and credits its multiply-adds', async () => {
    const core = await newHost(modp);
    await greet(core, 'a');
    const unit = await lease(core, 'a');
    expect(unit).toMatchObject({ kernel: 'matmul-modp', m: 37, n: 29, k: 41, p: 65521 });
    expect(await submit(core, 'a', unit, honest(unit))).toMatchObject({ verdict: 'accepted', credit: 37 * 29 * 41 });
  });

  it('rejects a modp product with one wrong element in a challenged row', async () => {
    const core = await newHost({ ...modp, samples: 37 }); // every row challenged
    await greet(core, 'a');
    const unit = await lease(core, 'a');
    const leaves = honest(unit);
    new DataView(leaves.buffer).setUint32(4 * (17 * 29 + 3), 12345, true);
    const verdict = (await submit(core, 'a', unit, leaves)) as { verdict: string; reason: string };
    expect(verdict.verdict).toBe('rejected');
    expect(verdict.reason).toMatch(/C\[17\]\[3\] = 12345/);
  });

  it('accepts f32 results that differ within the error bound, and rejects one beyond it or NaN', async () => {
    const bound = f32ErrorBound(300, 1, 1);
    for (const [delta, expected] of [
      [bound / 4, 'accepted'],
      [bound * 4, 'rejected'],
      [Number.NaN, 'rejected'],
    ] as const) {
      const core = await newHost(f32);
      await greet(core, 'a');
      const unit = await lease(core, 'a');
      const leaves = honest(unit);
      const c = new Float32Array(leaves.buffer);
      // Another device's rounding: nudge every element of row 5 by delta (NaN: just one).
      for (let j = 0; j < 20; j++) c[5 * 20 + j] = Number.isNaN(delta) ? (j === 7 ? NaN : c[5 * 20 + j]!) : c[5 * 20 + j]! + delta;
      expect(await submit(core, 'a', unit, leaves)).toMatchObject({ verdict: expected });
    }
  });

  it('refuses matrix jobs whose openings would not fit a message, or without a prime', () => {
    expect(() => parseJob({ ...modp, n: 1024, samples: 64 })).toThrow(/too large/);
    expect(() => parseJob({ ...modp, p: 65535 })).toThrow(/prime/);
    expect(() => parseJob({ ...f32, p: 7 })).toThrow(/modp only/);
  });
});

describe('chooseChallenge', () => {
  it('picks distinct sorted indices in range, all of them when the unit is small', () => {
    const random = seededRandom(3);
    for (const [count, samples] of [
      [1, 16],
      [5, 16],
      [16, 16],
      [4096, 16],
      [100, 99],
    ] as const) {
      const picked = chooseChallenge(count, samples, random);
      expect(picked).toHaveLength(Math.min(count, samples));
      expect(new Set(picked).size).toBe(picked.length);
      expect(picked).toEqual([...picked].sort((a, b) => a - b));
      expect(picked.every((i) => i >= 0 && i < count)).toBe(true);
    }
  });

  it('covers every index about equally often', () => {
    const random = seededRandom(5);
    const hits = new Array(10).fill(0);
    for (let k = 0; k < 5000; k++) for (const i of chooseChallenge(10, 3, random)) hits[i]++;
    // Each index is expected 1500 times; allow 6 standard deviations (~±200).
    for (const h of hits) expect(Math.abs(h - 1500)).toBeLessThan(200);
  });
});

describe('job files', () => {
  it('refuses bad specs with a message naming the field', () => {
    expect(() => parseJob({ ...job, units: 0 })).toThrow(/units/);
    expect(() => parseJob({ ...job, id: 'a b' })).toThrow(/id/);
    expect(() => parseJob({ ...job, kernel: 'matmul' })).toThrow(/kernel/);
    expect(() => parseJob({ ...job, samples: 1000 })).toThrow(/samples/);
  });
});

function rootOf(digests: Uint8Array): string {
  return toHex(buildMerkleTreeOfChunks(digests, 32, hash).root);
}
