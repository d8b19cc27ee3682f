import { beforeAll, describe, expect, it } from 'vitest';
import { buildMerkleTreeOfChunks, merklePath } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import { HELLOS_PER_MINUTE } from '../../src/host/greeting';
import { parseJob, type JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { HostStore } from '../../src/host/store/store';
import { matmulOperands } from '../../src/kernels/matmul/inputs';
import { f32DetectableDelta } from '../../src/proof/freivalds-f32';
import type { Identity } from '../../src/proof/identity';
import { signKeyProof } from '../../src/proof/key-proof';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { newSessionKeyPair } from '../../src/proof/result-key';
import { PROTOCOL_VERSION, type HostMessage, type MatmulUnit, type Receipt } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';
import { greetAs, keyProofFor, macFor, newIdentity, resultOf, sayTo } from '../helpers/signing';
import { honest, reasonOf, submit, volunteer } from '../helpers/judged';
import { rowsMessages, sentResult } from '../../src/volunteer/results';

let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

const open = (spec: JobSpec, store: HostStore = new MemoryHostStore(), seed = 1) =>
  HostCore.open(store, [spec], { hostId: 'h', hash, identity: hostKey, random: seededRandom(seed), maxLeases: 1 });

describe('Freivalds policy for matrix jobs', () => {
  const modp: JobSpec = { id: 'fm', kernel: 'matmul-modp', units: 2, m: 1000, n: 40, k: 50, p: 65521, seed: 3, verify: { policy: 'freivalds', rounds: 2 } };
  const f32: JobSpec = { id: 'ff', kernel: 'matmul-f32', units: 2, m: 40, n: 33, k: 200, seed: 5, verify: { policy: 'freivalds' } };

  it('validates the verify field', () => {
    expect(() => parseJob(modp)).not.toThrow();
    expect(() => parseJob({ ...modp, samples: 4 })).toThrow(/samples does not apply/);
    expect(() => parseJob({ ...modp, samples: 4, verify: { policy: 'guess' } })).toThrow(/verify.policy/);
    expect(() => parseJob({ ...modp, verify: { policy: 'freivalds', rounds: 0 } })).toThrow(/rounds/);
    expect(() => parseJob({ ...modp, verify: { policy: 'challenge', rounds: 2 }, samples: 4 })).toThrow(/rounds is for/);
  });

  it('modp: asks for every row, accepts the exact product with a signed receipt', async () => {
    const core = await open(modp);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const sent = sentResult(unit, { leaves: honest(unit, hash), leafBytes: 160, backend: 'cpu' }, 1, hash);
    expect(rowsMessages(unit.unitId, sent).length).toBe(2); // 1000 rows of 160 bytes take two messages
    const verdict = await submit(v, unit, honest(unit, hash), hash);
    expect(verdict).toMatchObject({ type: 'verdict', verdict: 'accepted', credit: 1000 * 40 * 50 });
    const receipt = (verdict as { receipt: Receipt }).receipt;
    expect(receipt.volunteer).toBe(v.me.id);
    expect(await verifyReceiptSignature(hostKey.publicKey, receipt, receipt.signature!)).toBe(true);
  });

  it('modp: rejects one wrong element of C', async () => {
    const core = await open(modp);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const leaves = honest(unit, hash);
    new DataView(leaves.buffer).setUint32(4 * (217 * 40 + 9), 4, true);
    expect(reasonOf(await submit(v, unit, leaves, hash))).toMatch(/^rejected: Freivalds' check failed: row 217/);
    expect(core.progress()).toMatchObject({ queued: 2, accepted: 0 });
  });

  it('rejects rows that do not hash to the committed root (C swapped after committing)', async () => {
    const core = await open(modp);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const right = honest(unit, hash);
    const committed = sentResult(unit, { leaves: right.slice(), leafBytes: 160, backend: 'cpu' }, 1, hash);
    committed.leaves[0]! ^= 1; // what it sends differs from what it committed to
    expect((await v.say(await resultOf(v.me, unit, committed.root)))[0]).toEqual({ type: 'send-rows', unitId: unit.unitId });
    let last: HostMessage[] = [];
    for (const m of rowsMessages(unit.unitId, committed)) last = await v.say(m);
    expect(reasonOf(last[0]!)).toMatch(/do not hash to the committed root/);
  });

  it('rejects rows out of order', async () => {
    const core = await open(modp);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const sent = sentResult(unit, { leaves: honest(unit, hash), leafBytes: 160, backend: 'cpu' }, 1, hash);
    await v.say(await resultOf(v.me, unit, sent.root));
    const [all] = rowsMessages(unit.unitId, sent);
    if (all?.type !== 'rows') throw new Error('expected rows');
    expect(reasonOf((await v.say({ ...all, first: 1 }))[0]!)).toMatch(/in order: expected row 0, got 1/);
  });

  it('f32: accepts the honest product, rejects one element moved beyond the detectable delta', async () => {
    for (const cheat of [false, true]) {
      const core = await open(f32);
      const v = await volunteer(core, 'a');
      const unit = (await v.lease()) as MatmulUnit;
      const leaves = honest(unit, hash);
      const c = new Float32Array(leaves.buffer);
      if (cheat) {
        const { a, b } = matmulOperands(unit);
        const delta = f32DetectableDelta(a as Float32Array, b as Float32Array, c, unit, 11);
        c[11 * unit.n + 4] = c[11 * unit.n + 4]! + 1.5 * delta;
      }
      expect(reasonOf(await submit(v, unit, leaves, hash))).toMatch(cheat ? /^rejected: Freivalds' check failed: row 11/ : /^accepted/);
    }
  });
});

describe('authenticated results', () => {
  const job: JobSpec = { id: 'sig', kernel: 'sha256-batch', units: 3, messagesPerUnit: 20, messageLength: 32, seed: 2, samples: 4 };

  it("rejects a result authenticated with another connection's key, and one authenticated for another unit (replay)", async () => {
    const core = await open(job);
    const v = await volunteer(core, 'a');
    // Another key's connection: its result key is not v's.
    const other = (await volunteer(core, 'b')).me;
    const unit = await v.lease();
    const root = toHex(buildMerkleTreeOfChunks(honest(unit, hash), 32, hash).root);
    const forged = { type: 'result', unitId: unit.unitId, root, backend: 'cpu', mac: macFor(other, unit, root) } as const;
    expect(reasonOf((await v.say(forged))[0]!)).toBe('rejected: bad MAC');
    // Its own valid MAC, but over unit 2's commitment: replayed onto the unit it now holds.
    const next = await v.lease();
    const elsewhere = { ...next, unitId: 'sig/2' };
    const replay = { type: 'result', unitId: next.unitId, root, backend: 'cpu', mac: macFor(v.me, elsewhere, root) } as const;
    expect(reasonOf((await v.say(replay))[0]!)).toBe('rejected: bad MAC');
    expect(core.volunteer(v.me.id)).toMatchObject({ rejected: 2, credit: 0 });
  });

  it('judges openings straight from the key on what they open, whatever their MAC: a made-up MAC spares bad openings nothing', async () => {
    const core = await open(job);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const leaves = honest(unit, hash);
    const tree = buildMerkleTreeOfChunks(leaves, 32, hash);
    const [challenge] = await v.say(await resultOf(v.me, unit, toHex(tree.root)));
    if (challenge?.type !== 'challenge') throw new Error('expected a challenge');
    const bad = challenge.indices.map((index) => ({ index, leaf: '00'.repeat(32), path: merklePath(tree, index).map(toHex) }));
    expect(reasonOf((await v.say({ type: 'openings', unitId: unit.unitId, openings: bad, mac: 'ab'.repeat(32) }))[0]!)).toMatch(/^rejected/);
    expect(core.volunteer(v.me.id)).toMatchObject({ rejected: 1, credit: 0 });
  });

  it("rejects a result authenticated under the same key's earlier connection", async () => {
    const core = await open(job);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const root = toHex(buildMerkleTreeOfChunks(honest(unit, hash), 32, hash).root);
    const earlier = macFor(v.me, unit, root);
    // The same key greets again on a new connection: a new nonce and a new volunteer half, so a new result key.
    await greetAs(core, 'a2', v.me);
    expect(macFor(v.me, unit, root)).not.toBe(earlier);
    const [reply] = await sayTo(core, 'a2', { type: 'result', unitId: unit.unitId, root, backend: 'cpu', mac: earlier });
    expect(reasonOf(reply!)).toBe('rejected: bad MAC');
  });

  it('refuses a well-authenticated result for a unit never leased to the sender', async () => {
    const core = await open(job);
    const v = await volunteer(core, 'a');
    const w = await volunteer(core, 'b');
    const unit = await v.lease();
    const [reply] = await w.say(await resultOf(w.me, unit, toHex(buildMerkleTreeOfChunks(honest(unit, hash), 32, hash).root)));
    expect(reply).toMatchObject({
      type: 'error',
      code: 'unknown-unit',
      unitId: unit.unitId,
      message: expect.stringMatching(/never leased to you; .*counts as an invalid result/),
    });
    expect(core.progress()).toMatchObject({ leased: 1, verifying: 0 });
    expect(core.volunteer(w.me.id)).toMatchObject({ rejected: 1, credit: 0 });
  });

  it('bans a key for claiming units it never held, but not one whose lease lapsed and went to another', async () => {
    let now = 1_000_000;
    const core = await HostCore.open(new MemoryHostStore(), [{ ...job, trust: { banAfter: 2 } }], {
      hostId: 'h',
      hash,
      identity: hostKey,
      random: seededRandom(1),
      maxLeases: 1,
      leaseMs: 10_000,
      clock: () => now,
    });
    const [slow, quick, claimer] = [await volunteer(core, 's'), await volunteer(core, 'q'), await volunteer(core, 'c')];
    const unit = await slow.lease();
    now += 11_000;
    await core.expireLeases();
    // The lapsed unit goes to the back of the queue; quick takes the two others, then it.
    const first = await quick.lease();
    expect(reasonOf(await submit(quick, first, honest(first, hash), hash))).toMatch(/^accepted/);
    const second = await quick.lease();
    expect(reasonOf(await submit(quick, second, honest(second, hash), hash))).toMatch(/^accepted/);
    expect((await quick.lease()).unitId).toBe(unit.unitId);
    const rootOf = (u: typeof unit) => toHex(buildMerkleTreeOfChunks(honest(u, hash), 32, hash).root);
    // The slow volunteer's honest result arrives late: refused, not held against it.
    expect((await slow.say(await resultOf(slow.me, unit, rootOf(unit))))[0]).toMatchObject({
      type: 'error',
      code: 'unknown-unit',
      message: expect.stringMatching(/not leased to you/),
    });
    expect(core.trustRecords(job.id).find((t) => t.key === slow.me.id)).toBeUndefined();
    // The claimer never held anything: twice is a ban (accepted units too: a claim on them is no duplicate).
    expect((await claimer.say(await resultOf(claimer.me, first, rootOf(first))))[0]).toMatchObject({
      type: 'error',
      message: expect.stringMatching(/never leased/),
    });
    expect((await claimer.say(await resultOf(claimer.me, unit, rootOf(unit))))[0]).toMatchObject({
      type: 'error',
      message: expect.stringMatching(/now banned from job sig/),
    });
    expect((await claimer.say({ type: 'request-unit', id: 1, holding: [] }))[0]).toMatchObject({ type: 'error', code: 'banned' });
    expect(core.volunteer(claimer.me.id)).toMatchObject({ credit: 0, rejected: 2 });
  });

  it('does not hold a late result against a key that leased the unit before lease histories existed', async () => {
    let now = 1_000_000;
    const store = new MemoryHostStore();
    const one: JobSpec = { ...job, id: 'legacy', units: 1 };
    const old = await open(one, store);
    const early = await volunteer(old, 'e');
    const unit = await early.lease();
    // As a store written before lease histories would hold it: the holder, and no history.
    const { leasedTo: _, ...legacy } = (await store.load()).units.find((u) => u.unitId === unit.unitId)!;
    await store.commit({ units: [{ ...legacy, leaseDeadline: now + 5_000 }] });
    const core = await HostCore.open(store, [one], {
      hostId: 'h',
      hash,
      identity: hostKey,
      random: seededRandom(1),
      maxLeases: 1,
      leaseMs: 10_000,
      clock: () => now,
    });
    // The restarted host gave the lease one more lease period (10 s) from its deadline.
    now += 16_000;
    expect(await core.expireLeases()).toBe(1);
    const late = await volunteer(core, 'e2', early.me);
    const other = await volunteer(core, 'o');
    expect((await other.lease()).unitId).toBe(unit.unitId);
    const root = toHex(buildMerkleTreeOfChunks(honest(unit, hash), 32, hash).root);
    expect((await late.say(await resultOf(late.me, unit, root)))[0]).toMatchObject({ type: 'error', message: expect.stringMatching(/not leased to you/) });
    expect(core.volunteer(early.me.id)?.rejected ?? 0).toBe(0);
  });

  it('refuses a key-proof that signs another host half of the result key, or whose own half is no point', async () => {
    const core = await open(job);
    const me = await newIdentity();
    const hello = { type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: me.publicKey } as const;
    const [welcome] = await sayTo(core, 'x', hello);
    if (welcome?.type !== 'welcome') throw new Error('expected a welcome');
    // A middle (a relay, a signaling server) that swapped the welcome's half for its own: the proof signs that one, not the host's.
    const middle = await newSessionKeyPair();
    const swapped = await keyProofFor(me, { ...welcome, session: middle.publicKey });
    expect((await sayTo(core, 'x', swapped))[0]).toMatchObject({ type: 'error', code: 'bad-signature' });
    expect((await sayTo(core, 'x', { type: 'request-unit', id: 2, holding: [] }))[0]).toMatchObject({ type: 'error', code: 'bad-message' });
    // A well-signed proof whose own half is not on the curve: refused, and the connection speaks for nobody.
    const [again] = await sayTo(core, 'x', hello);
    if (again?.type !== 'welcome') throw new Error('expected a welcome');
    const offCurve = '04' + '00'.repeat(31) + '01' + '00'.repeat(31) + '02';
    const fields = { hostId: again.hostId, hostPublicKey: again.publicKey, nonce: again.nonce, hostSession: again.session, session: offCurve };
    const proof = { type: 'key-proof', signature: await signKeyProof(me, fields), session: offCurve } as const;
    expect((await sayTo(core, 'x', proof))[0]).toMatchObject({ type: 'error', code: 'bad-signature', message: expect.stringMatching(/session key/) });
    expect((await sayTo(core, 'x', { type: 'request-unit', id: 3, holding: [] }))[0]).toMatchObject({ type: 'error', code: 'bad-message' });
    // An honest proof on a fresh hello still works.
    expect(await greetAs(core, 'x', me)).toMatchObject({ type: 'welcome' });
    expect((await sayTo(core, 'x', { type: 'request-unit', id: 4, holding: [] }))[0]).toMatchObject({ type: 'unit' });
  });

  it(`takes at most ${HELLOS_PER_MINUTE} hellos a minute on one connection (each opens a key-proof the host must check)`, async () => {
    let now = 1_000_000;
    const core = await HostCore.open(new MemoryHostStore(), [job], { hostId: 'h', hash, identity: hostKey, clock: () => now });
    const me = await newIdentity();
    const hello = { type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: me.publicKey } as const;
    for (let i = 0; i < HELLOS_PER_MINUTE; i++) expect((await sayTo(core, 'x', hello))[0]).toMatchObject({ type: 'welcome' });
    expect((await sayTo(core, 'x', hello))[0]).toMatchObject({ type: 'error', code: 'busy', message: expect.stringMatching(/too many hellos/) });
    // Another connection is not held to this one's count; this one says hello again a minute on.
    expect((await sayTo(core, 'y', hello))[0]).toMatchObject({ type: 'welcome' });
    now += 60_000;
    expect(await greetAs(core, 'x', me)).toMatchObject({ type: 'welcome' });
    expect((await sayTo(core, 'x', { type: 'request-unit', id: 2, holding: [] }))[0]).toMatchObject({ type: 'unit' });
  });

  it('will not let a connection speak for a key it does not hold', async () => {
    const core = await open(job);
    const victim = await newIdentity();
    const thief = await newIdentity();
    const [welcome] = await sayTo(core, 'x', { type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: victim.publicKey });
    if (welcome?.type !== 'welcome') throw new Error('expected a welcome');
    expect((await sayTo(core, 'x', await keyProofFor(thief, welcome)))[0]).toMatchObject({ type: 'error', code: 'bad-signature' });
    expect((await sayTo(core, 'x', { type: 'request-unit', id: 1, holding: [] }))[0]).toMatchObject({ type: 'error', code: 'bad-message' });
    expect(core.progress().leased).toBe(0);
  });
});

describe('adaptive trust', () => {
  const trusting: JobSpec = {
    id: 'tr',
    kernel: 'sha256-batch',
    units: 40,
    messagesPerUnit: 16,
    messageLength: 16,
    seed: 4,
    samples: 2,
    trust: { warmup: 3, minCheckRate: 0.25, decay: 0.5, banAfter: 2 },
  };

  it('validates the trust field', () => {
    expect(() => parseJob(trusting)).not.toThrow();
    expect(() => parseJob({ ...trusting, trust: { warmup: 3, minCheck: 0.1 } })).toThrow(/unknown field/);
    expect(() => parseJob({ ...trusting, trust: { banAfter: 0 } })).toThrow(/banAfter/);
  });

  it('verifies every result during the warm-up, then spot checks at the floor rate', async () => {
    const core = await open(trusting, new MemoryHostStore(), 7);
    const v = await volunteer(core, 'a');
    let skipped = 0;
    for (let i = 0; i < 30; i++) {
      const unit = await v.lease();
      const verdict = await submit(v, unit, honest(unit, hash), hash);
      expect(verdict).toMatchObject({ verdict: 'accepted' });
      const spot = /spot check skipped/.test((verdict as { reason: string }).reason);
      if (i < 3) expect(spot).toBe(false);
      if (spot) skipped++;
    }
    // After 3 verified results the check rate falls 0.5, 0.25, 0.25, …: most of the 27 are skipped, not all.
    expect(skipped).toBeGreaterThan(12);
    expect(skipped).toBeLessThan(27);
  });

  it('bans a key after banAfter invalid results: its leases are requeued and it gets no more work', async () => {
    const store = new MemoryHostStore();
    const core = await open({ ...trusting, units: 4 }, store);
    const cheat = await volunteer(core, 'c');
    const unit = await cheat.lease();
    expect(reasonOf(await submit(cheat, unit, new Uint8Array(16 * 32), hash))).toMatch(/^rejected: .*digest is wrong/);
    const second = await cheat.lease();
    expect(reasonOf(await submit(cheat, second, new Uint8Array(16 * 32), hash))).toMatch(/now banned from job tr/);
    expect((await cheat.say({ type: 'request-unit', id: 1, holding: [] }))[0]).toMatchObject({ type: 'error', code: 'banned' });
    expect((await sayTo(core, 'c2', { type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: cheat.me.publicKey }))[0]).toMatchObject({
      type: 'error',
      code: 'banned',
    });
    // The ban survives a restart (trust is in the store).
    const again = await open({ ...trusting, units: 4 }, store);
    expect((await sayTo(again, 'c3', { type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 't', publicKey: cheat.me.publicKey }))[0]).toMatchObject({
      type: 'error',
      code: 'banned',
    });
    const honestOne = await volunteer(again, 'h');
    for (let i = 0; i < 4; i++) {
      const u = await honestOne.lease();
      expect(await submit(honestOne, u, honest(u, hash), hash)).toMatchObject({ verdict: 'accepted' });
    }
    expect(again.done).toBe(true);
  });

  it('requeues the other leases of a key when it is banned', async () => {
    const core = await HostCore.open(new MemoryHostStore(), [{ ...trusting, units: 4, trust: { banAfter: 1 } }], {
      hostId: 'h',
      hash,
      identity: hostKey,
      random: seededRandom(1),
      maxLeases: 2,
    });
    const cheat = await volunteer(core, 'c');
    const first = await cheat.lease();
    await cheat.lease([first.unitId]);
    expect(core.progress()).toMatchObject({ leased: 2 });
    expect(reasonOf(await submit(cheat, first, new Uint8Array(16 * 32), hash))).toMatch(/now banned/);
    expect(core.progress()).toMatchObject({ leased: 0, queued: 4 });
  });
});
