import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore, type AcceptedResult } from '../../src/host/host-core';
import { jobUnit, parseJob, type JobSpec } from '../../src/host/job';
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
/**
 * Replicas from keys without an earned record are challenged first, so a wrong vote reaches the
 * ballot only when its challenge misses the wrong leaf: with one leaf challenged of 512, these
 * jobs let the tests' one-leaf liars through (1 time in 512 a liar is caught instead; the
 * host's randomness is seeded, so each test is deterministic).
 */
const lucky: JobSpec = { ...job, messagesPerUnit: 512, samples: 1 };

/** Until the host's own computations (off the message queue) are done. */
async function settled(core: HostCore): Promise<void> {
  await vi.waitFor(() => expect(core.settling()).toBe(0), { timeout: 10_000, interval: 5 });
}

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
  const replies = await v.say({ type: 'request-unit', id: 1, holding: [] });
  return replies.filter((r) => r.type === 'verdict');
}

describe('replicated jobs', () => {
  it('validates the replicate field', () => {
    expect(() => parseJob(job)).not.toThrow();
    // samples: the challenge of replicas from keys without an earned record (default 8).
    expect(() => parseJob({ ...job, samples: 4 })).not.toThrow();
    expect(() => parseJob({ ...job, samples: 0 })).toThrow(/samples/);
    expect(() =>
      parseJob({ id: 'm', kernel: 'matmul-modp', units: 1, m: 4, n: 4, k: 4, p: 7, seed: 1, replicate: true, verify: { policy: 'freivalds' } }),
    ).toThrow(/replicate replaces verify/);
    expect(() => parseJob({ id: 'f', kernel: 'matmul-f32', units: 1, m: 4, n: 4, k: 4, seed: 1, replicate: true })).toThrow(/bit-exact/);
    expect(() =>
      parseJob({
        id: 'p',
        kernel: 'sha256d-pow',
        units: 1,
        seed: 1,
        noncesPerUnit: 4096,
        shareBits: 6,
        targetBits: 12,
        replicate: true,
      }),
    ).toThrow(/does not apply to sha256d-pow/);
    expect(() => parseJob({ ...job, replicate: false })).toThrow(/must be true/);
    const { replicate: _, ...challenged } = job;
    expect(() => parseJob(challenged)).toThrow(/samples/);
  });

  it('accepts a unit when two keys agree, crediting both with signed receipts', async () => {
    const accepted: AcceptedResult[] = [];
    const core = await open(job, new MemoryHostStore(), accepted);
    const a = await volunteer(core, 'a');
    const b = await volunteer(core, 'b');
    const unit = await a.lease();
    const first = await submit(a, unit, honest(unit, hash), hash, { backend: 'cpu', adapter: '8 CPU threads' });
    expect(first).toMatchObject({ verdict: 'pending', credit: 0 });
    expect(core.progress()).toMatchObject({ queued: 2, accepted: 0 });
    // The unit went back to the queue, but not to the key that already reported it.
    const other = await a.lease();
    expect(other.unitId).not.toBe(unit.unitId);
    expect((await b.lease()).unitId).toBe(unit.unitId);
    const second = await submit(b, unit, honest(unit, hash), hash, { backend: 'webgpu' });
    expect(second).toMatchObject({ verdict: 'accepted', reason: expect.stringMatching(/2 keys reported the same result/) });
    // What computed b's result, the holder's: its backend, and no adapter (a's is not carried over).
    const kept = core.units(job.id).find((u) => u.unitId === unit.unitId)!;
    expect(kept).toMatchObject({ holder: b.me.id, backend: 'webgpu' });
    expect(kept.adapter).toBeUndefined();
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
    const core = await open({ ...lucky, units: 1, trust: { banAfter: 1 } });
    const [cheat, h1, h2] = [await volunteer(core, 'c'), await volunteer(core, 'h1'), await volunteer(core, 'h2')];
    const unit = await cheat.lease();
    expect(await submit(cheat, unit, wrong(unit), hash)).toMatchObject({ verdict: 'pending' });
    expect((await h1.lease()).unitId).toBe(unit.unitId);
    expect(reasonOf(await submit(h1, unit, honest(unit, hash), hash))).toMatch(/^pending: replicas disagree; a third key decides/);
    expect((await h2.lease()).unitId).toBe(unit.unitId);
    expect(await submit(h2, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted', credit: 512 });
    const [cheatVerdict] = (await cheat.say({ type: 'request-unit', id: 1, holding: [] })).filter((r) => r.type === 'verdict');
    expect(reasonOf(cheatVerdict!)).toMatch(/^rejected: the result disagrees with the 2 keys .*now banned from job rep/);
    expect(await nextVerdicts(h1)).toMatchObject([{ verdict: 'accepted', credit: 512 }]);
    expect(core.done).toBe(true);
    const wrongRoot = core.results()[0]!.root;
    expect(core.receipt(unit.unitId)?.root).toBe(wrongRoot);
  });

  it('settles three disagreeing replicas by computing the unit itself, off the message queue', async () => {
    const core = await open({ ...lucky, units: 1 });
    const vs = [await volunteer(core, 'x'), await volunteer(core, 'y'), await volunteer(core, 'z')];
    const unit = await vs[0]!.lease();
    expect(await submit(vs[0]!, unit, wrong(unit, 0), hash, { backend: 'cpu', adapter: 'x cpu' })).toMatchObject({ verdict: 'pending' });
    await vs[1]!.lease();
    expect(await submit(vs[1]!, unit, honest(unit, hash), hash, { backend: 'webgpu', adapter: 'y gpu' })).toMatchObject({ verdict: 'pending' });
    await vs[2]!.lease();
    // Two keys wrong in different ways, one right: no two agree, the host's computation decides, later.
    expect(reasonOf(await submit(vs[2]!, unit, wrong(unit, 80), hash, { backend: 'cpu', adapter: 'z cpu' }))).toMatch(
      /^pending: 3 replicas disagree; the host computes the unit/,
    );
    expect(core.progress()).toMatchObject({ verifying: 1 });
    await settled(core);
    expect((await nextVerdicts(vs[2]!)).map(reasonOf)).toEqual([
      expect.stringMatching(/^rejected: 3 replicas disagreed and the host's own computation does not match this one/),
    ]);
    expect((await nextVerdicts(vs[1]!)).map(reasonOf)).toEqual([
      expect.stringMatching(/^accepted: verified: 3 replicas disagreed and the host's own computation matches this one/),
    ]);
    expect((await nextVerdicts(vs[0]!)).map(reasonOf)).toEqual([expect.stringMatching(/^rejected: /)]);
    expect(core.done).toBe(true);
    expect(core.results()[0]!.volunteer).toBe(core.receipt(unit.unitId)!.volunteer);
    // The accepted unit says what computed the right replica (y's), not the last one heard (z's).
    expect(core.units(job.id)[0]).toMatchObject({ holder: vs[1]!.me.id, backend: 'webgpu', adapter: 'y gpu' });
  });

  it("starts a unit over with other keys when no replica matches the host's computation", async () => {
    const core = await open({ ...lucky, units: 1 });
    const vs = [await volunteer(core, 'x'), await volunteer(core, 'y'), await volunteer(core, 'z')];
    const unit = await vs[0]!.lease();
    expect(await submit(vs[0]!, unit, wrong(unit, 0), hash)).toMatchObject({ verdict: 'pending' });
    await vs[1]!.lease();
    expect(await submit(vs[1]!, unit, wrong(unit, 40), hash)).toMatchObject({ verdict: 'pending' });
    await vs[2]!.lease();
    expect(await submit(vs[2]!, unit, wrong(unit, 80), hash)).toMatchObject({ verdict: 'pending' });
    await settled(core);
    for (const v of vs) expect((await nextVerdicts(v)).map(reasonOf)).toEqual([expect.stringMatching(/^rejected: 3 replicas all disagree/)]);
    // Each was wrong, so none of the three gets it again; two fresh keys settle it.
    for (const v of vs) expect((await v.say({ type: 'request-unit', id: 1, holding: [] }))[0]).toMatchObject({ type: 'no-work' });
    for (const v of vs) expect(core.volunteer(v.me.id)).toMatchObject({ rejected: 1 });
    const [p, q] = [await volunteer(core, 'p'), await volunteer(core, 'q')];
    await p.lease();
    expect(await submit(p, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending' });
    await q.lease();
    expect(await submit(q, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
  });

  it('keeps votes across a host restart, and answers a re-sent replica with pending again', async () => {
    const store = new MemoryHostStore();
    const one = { ...job, units: 1 };
    const core = await open(one, store);
    const aKey = await newIdentity();
    const a = await volunteer(core, 'a', aKey);
    const unit = await a.lease();
    expect(await submit(a, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending' });
    const again = await open(one, store);
    const a2 = await volunteer(again, 'a2', aKey);
    expect(await submit(a2, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending', reason: expect.stringMatching(/on file/) });
    const b = await volunteer(again, 'b');
    expect((await b.lease()).unitId).toBe(unit.unitId);
    expect(await submit(b, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
    expect(again.volunteer((await nextVerdicts(a2))[0]!.receipt!.volunteer)?.credit).toBe(16);
  });

  it('does not count the vote of a key banned since it voted', async () => {
    const core = await open({ ...lucky, units: 2, trust: { banAfter: 1 } });
    const [cheat, h1, h2, h3] = [await volunteer(core, 'c'), await volunteer(core, 'h1'), await volunteer(core, 'h2'), await volunteer(core, 'h3')];
    for (let i = 0; i < 2; i++) {
      const u = await cheat.lease();
      expect(await submit(cheat, u, wrong(u), hash)).toMatchObject({ verdict: 'pending' });
    }
    // h1 holds one of the two (the host draws which) while the other is settled.
    const held = await h1.lease();
    const other = jobUnit({ ...lucky, units: 2 }, held.unitId.endsWith('/0') ? 1 : 0);
    // Two honest keys outvote the cheater on the other unit, which bans it...
    expect((await h2.lease()).unitId).toBe(other.unitId);
    expect(await submit(h2, other, honest(other, hash), hash)).toMatchObject({ verdict: 'pending' });
    expect((await h3.lease()).unitId).toBe(other.unitId);
    expect(await submit(h3, other, honest(other, hash), hash)).toMatchObject({ verdict: 'accepted' });
    expect(reasonOf((await nextVerdicts(cheat))[0]!)).toMatch(/now banned/);
    // ...so on the held unit its vote no longer counts: h1's is the first replica, not a disagreement.
    expect(reasonOf(await submit(h1, held, honest(held, hash), hash))).toMatch(/^pending: replica 1 of 2/);
    expect((await h2.lease()).unitId).toBe(held.unitId);
    expect(await submit(h2, held, honest(held, hash), hash)).toMatchObject({ verdict: 'accepted' });
    expect(core.done).toBe(true);
  });

  it("does not hand a unit waiting for its second replica to whoever asks next (a second key of the first voter's owner)", async () => {
    let partnerGotIt = 0;
    const trials = 30;
    for (let seed = 1; seed <= trials; seed++) {
      const core = await HostCore.open(new MemoryHostStore(), [{ ...job, units: 8 }], {
        hostId: 'h',
        hash,
        identity: hostKey,
        random: seededRandom(seed),
        maxLeases: 1,
      });
      // Four keys each leave one unit waiting for a second replica; the first is the colluder's.
      const voters = [await volunteer(core, 'k0'), await volunteer(core, 'k1'), await volunteer(core, 'k2'), await volunteer(core, 'k3')];
      const units: WorkUnit[] = [];
      for (const v of voters) units.push(await v.lease());
      for (const [i, v] of voters.entries()) expect(await submit(v, units[i]!, honest(units[i]!, hash), hash)).toMatchObject({ verdict: 'pending' });
      const partner = await volunteer(core, 'sybil');
      if ((await partner.lease()).unitId === units[0]!.unitId) partnerGotIt++;
    }
    // One of five candidates (four waiting units and the next fresh one): about 6 of 30, never all.
    expect(partnerGotIt).toBeGreaterThan(0);
    expect(partnerGotIt).toBeLessThan(trials / 2);
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
    const spec: JobSpec = { ...job, units: 8, trust: { warmup: 1, minCheckRate: 1e-9, decay: 1e-9 } };
    const core = await open(spec);
    const [a, b] = [await volunteer(core, 'a'), await volunteer(core, 'b')];
    const valid = (v: TestVolunteer) => core.trustRecords(spec.id).find((t) => t.key === v.me.id)?.valid ?? 0;
    // Settle units between the two, in whatever order the host hands them out, until both are trusted.
    while (valid(a) === 0 || valid(b) === 0) {
      for (const v of [a, b]) {
        const [r] = await v.say({ type: 'request-unit', id: 1, holding: [] });
        if (r?.type === 'unit') expect(reasonOf(await submit(v, r.unit, honest(r.unit, hash), hash))).toMatch(/^(pending|accepted)/);
      }
    }
    const reasons: string[] = [];
    while (!core.done) {
      const [r] = await b.say({ type: 'request-unit', id: 1, holding: [] });
      if (r?.type !== 'unit') break;
      reasons.push(reasonOf(await submit(b, r.unit, honest(r.unit, hash), hash)));
    }
    // A fresh unit is accepted on b's word; one with a's replica on file is compared with it.
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(r).toMatch(/^accepted: (accepted on commitment|verified: 2 keys)/);
    expect(reasons.some((r) => /on commitment/.test(r))).toBe(true);
  });
});
