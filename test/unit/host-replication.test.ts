import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore, type AcceptedResult } from '../../src/host/host-core';
import { validateJob, type JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { HostStore } from '../../src/host/store/store';
import type { Identity } from '../../src/proof/identity';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import type { HostMessage, WorkUnit } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';
import { honest, reasonOf, submit, volunteer, type TestVolunteer } from '../helpers/judged';
import { newIdentity } from '../helpers/signing';

let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

const job: JobSpec = { id: 'rep', kernel: 'sha256-batch', units: 2, messagesPerUnit: 16, messageLength: 24, seed: 9, replicate: true };

function open(spec: JobSpec, store: HostStore = new MemoryHostStore(), accepted: AcceptedResult[] = []) {
  return HostCore.open(store, [spec], { hostId: 'h', hash, identity: hostKey, random: seededRandom(1), maxLeases: 1, onAccepted: (r) => accepted.push(r) });
}

/** One digest flipped: a wrong result that still commits and signs properly. */
function wrong(unit: WorkUnit, which = 0): Uint8Array {
  const leaves = honest(unit, hash).slice();
  leaves[which] = leaves[which]! ^ 0xff;
  return leaves;
}

/** The verdicts among a volunteer's replies to its next message (owed verdicts ride on it). */
async function nextVerdicts(v: TestVolunteer): Promise<Extract<HostMessage, { type: 'verdict' }>[]> {
  const replies = await v.say({ type: 'request-unit', holding: [] });
  return replies.filter((r) => r.type === 'verdict');
}

describe('replicated jobs', () => {
  it('validates the replicate field', () => {
    expect(() => validateJob(job)).not.toThrow();
    expect(() => validateJob({ ...job, samples: 4 })).toThrow(/replicate replaces samples/);
    expect(() => validateJob({ id: 'f', kernel: 'matmul-f32', units: 1, m: 4, n: 4, k: 4, seed: 1, replicate: true })).toThrow(/bit-exact/);
    expect(() => validateJob({ id: 'p', kernel: 'sha256d-pow', units: 1, seed: 1, noncesPerUnit: 4096, shareBits: 6, targetBits: 12, replicate: true } as unknown as JobSpec)).toThrow(/does not apply to sha256d-pow/);
    expect(() => validateJob({ ...job, replicate: false as true })).toThrow(/must be true/);
    const { replicate: _, ...challenged } = job;
    expect(() => validateJob(challenged)).toThrow(/samples/);
  });

  it('accepts a unit when two keys agree, crediting both with signed receipts', async () => {
    const accepted: AcceptedResult[] = [];
    const core = await open(job, new MemoryHostStore(), accepted);
    const a = await volunteer(core, 'a');
    const b = await volunteer(core, 'b');
    const unit = await a.lease();
    const first = await submit(a, unit, honest(unit, hash), hash);
    expect(first).toMatchObject({ verdict: 'pending', credit: 0 });
    expect(core.progress()).toMatchObject({ queued: 2, accepted: 0 });
    // The unit went back to the queue, but not to the key that already reported it.
    const other = await a.lease();
    expect(other.unitId).not.toBe(unit.unitId);
    expect((await b.lease()).unitId).toBe(unit.unitId);
    const second = await submit(b, unit, honest(unit, hash), hash);
    expect(second).toMatchObject({ verdict: 'accepted', reason: expect.stringMatching(/2 keys reported the same result/) });
    // a hears its own verdict, with its own receipt, with the reply to its next message.
    const [late] = await nextVerdicts(a);
    expect(late).toMatchObject({ unitId: unit.unitId, verdict: 'accepted' });
    expect(late!.receipt!.volunteer).not.toBe(second.type === 'verdict' && second.receipt!.volunteer);
    for (const r of [late!.receipt!, (second as { receipt: NonNullable<typeof late>['receipt'] }).receipt!]) {
      expect(await verifyReceiptSignature(hostKey.publicKey, r, r.signature!)).toBe(true);
    }
    expect(await nextVerdicts(a)).toEqual([]);
    expect(accepted.map((r) => r.unitId)).toEqual([unit.unitId]);
    expect(core.results()).toHaveLength(1);
  });

  it('lets a third key decide a disagreement, rejects the odd one out and bans it', async () => {
    const core = await open({ ...job, units: 1, trust: { banAfter: 1 } });
    const [cheat, h1, h2] = [await volunteer(core, 'c'), await volunteer(core, 'h1'), await volunteer(core, 'h2')];
    const unit = await cheat.lease();
    expect(await submit(cheat, unit, wrong(unit), hash)).toMatchObject({ verdict: 'pending' });
    expect((await h1.lease()).unitId).toBe(unit.unitId);
    expect(reasonOf(await submit(h1, unit, honest(unit, hash), hash))).toMatch(/^pending: replicas disagree; a third key decides/);
    expect((await h2.lease()).unitId).toBe(unit.unitId);
    expect(await submit(h2, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted', credit: 16 });
    const [cheatVerdict] = (await cheat.say({ type: 'request-unit', holding: [] })).filter((r) => r.type === 'verdict');
    expect(reasonOf(cheatVerdict!)).toMatch(/^rejected: the result disagrees with the 2 keys .*now banned from job rep/);
    expect(await nextVerdicts(h1)).toMatchObject([{ verdict: 'accepted', credit: 16 }]);
    expect(core.done).toBe(true);
    const wrongRoot = core.results()[0]!.root;
    expect(core.receipt(unit.unitId)?.root).toBe(wrongRoot);
  });

  it('starts a unit over with other keys when three replicas all differ', async () => {
    const core = await open({ ...job, units: 1 });
    const vs = [await volunteer(core, 'x'), await volunteer(core, 'y'), await volunteer(core, 'z')];
    const unit = await vs[0]!.lease();
    expect(await submit(vs[0]!, unit, wrong(unit, 0), hash)).toMatchObject({ verdict: 'pending' });
    await vs[1]!.lease();
    expect(await submit(vs[1]!, unit, wrong(unit, 40), hash)).toMatchObject({ verdict: 'pending' });
    await vs[2]!.lease();
    expect(reasonOf(await submit(vs[2]!, unit, wrong(unit, 80), hash))).toMatch(/^rejected: 3 replicas all disagree/);
    for (const v of vs.slice(0, 2)) expect((await nextVerdicts(v)).map(reasonOf)).toEqual([expect.stringMatching(/^rejected: 3 replicas all disagree/)]);
    // None of the three gets it again; two fresh keys settle it.
    for (const v of vs) expect((await v.say({ type: 'request-unit', holding: [] }))[0]).toMatchObject({ type: 'no-work' });
    const [p, q] = [await volunteer(core, 'p'), await volunteer(core, 'q')];
    await p.lease();
    expect(await submit(p, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending' });
    await q.lease();
    expect(await submit(q, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
  });

  it('keeps votes across a host restart, and answers a re-sent replica with pending again', async () => {
    const store = new MemoryHostStore();
    const core = await open(job, store);
    const aKey = await newIdentity();
    const a = await volunteer(core, 'a', aKey);
    const unit = await a.lease();
    expect(await submit(a, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending' });
    const again = await open(job, store);
    const a2 = await volunteer(again, 'a2', aKey);
    expect(await submit(a2, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending', reason: expect.stringMatching(/on file/) });
    const b = await volunteer(again, 'b');
    expect((await b.lease()).unitId).toBe(unit.unitId);
    expect(await submit(b, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
    expect(again.volunteer((await nextVerdicts(a2))[0]!.receipt!.volunteer)?.credit).toBe(16);
  });

  it('does not count the vote of a key banned since it voted', async () => {
    const core = await open({ ...job, units: 2, trust: { banAfter: 1 } });
    const [cheat, h1, h2, h3] = [await volunteer(core, 'c'), await volunteer(core, 'h1'), await volunteer(core, 'h2'), await volunteer(core, 'h3')];
    const u0 = await cheat.lease();
    expect(await submit(cheat, u0, wrong(u0), hash)).toMatchObject({ verdict: 'pending' });
    const u1 = await cheat.lease();
    expect(await submit(cheat, u1, wrong(u1), hash)).toMatchObject({ verdict: 'pending' });
    expect((await h1.lease()).unitId).toBe(u0.unitId); // held while u1 is settled
    // Two honest keys outvote the cheater on u1, which bans it...
    expect((await h2.lease()).unitId).toBe(u1.unitId);
    expect(await submit(h2, u1, honest(u1, hash), hash)).toMatchObject({ verdict: 'pending' });
    expect((await h3.lease()).unitId).toBe(u1.unitId);
    expect(await submit(h3, u1, honest(u1, hash), hash)).toMatchObject({ verdict: 'accepted' });
    expect(reasonOf((await nextVerdicts(cheat))[0]!)).toMatch(/now banned/);
    // ...so on u0 its vote no longer counts: h1's is the first replica, not a disagreement.
    expect(reasonOf(await submit(h1, u0, honest(u0, hash), hash))).toMatch(/^pending: replica 1 of 2/);
    expect((await h2.lease()).unitId).toBe(u0.unitId);
    expect(await submit(h2, u0, honest(u0, hash), hash)).toMatchObject({ verdict: 'accepted' });
    expect(core.done).toBe(true);
  });

  it('replicates matmul-modp units too', async () => {
    const spec: JobSpec = { id: 'mm', kernel: 'matmul-modp', units: 1, m: 9, n: 7, k: 13, p: 65521, seed: 2, replicate: true };
    const core = await open(spec);
    const [a, b] = [await volunteer(core, 'a'), await volunteer(core, 'b')];
    const unit = await a.lease();
    expect(await submit(a, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending' });
    await b.lease();
    expect(await submit(b, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted', credit: 9 * 7 * 13 });
  });

  it('accepts a trusted key alone, and still compares a result with a replica on file', async () => {
    // warm-up 1 and a floor of 1e-9: once a key has one agreed result, its results skip replication.
    const spec: JobSpec = { ...job, units: 4, trust: { warmup: 1, minCheckRate: 1e-9, decay: 1e-9 } };
    const core = await open(spec);
    const [a, b] = [await volunteer(core, 'a'), await volunteer(core, 'b')];
    const u0 = await a.lease();
    expect(await submit(a, u0, honest(u0, hash), hash)).toMatchObject({ verdict: 'pending' });
    await b.lease();
    expect(await submit(b, u0, honest(u0, hash), hash)).toMatchObject({ verdict: 'accepted' });
    const u1 = await b.lease();
    expect(reasonOf(await submit(b, u1, honest(u1, hash), hash))).toMatch(/^accepted: accepted on commitment/);
  });
});
