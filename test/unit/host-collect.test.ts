import { beforeAll, describe, expect, it } from 'vitest';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import { parseJob, type JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { JobHandle } from '../../src/sdk/job';
import type { HostStore } from '../../src/host/store/store';
import type { Identity } from '../../src/proof/identity';
import type { ChallengedUnit, WorkUnit } from '../../src/protocol';
import { referenceLeaves } from '../../src/host/recompute';
import { rowsMessages, sentResult } from '../../src/volunteer/results';
import { seededRandom } from '../../src/work/seeded';
import { honest, leafBytes, reasonOf, submit, volunteer, honestResult, openingsOf } from '../helpers/judged';
import { newIdentity, resultOf } from '../helpers/signing';

let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

const open = (spec: JobSpec, store: HostStore = new MemoryHostStore()) =>
  HostCore.open(store, [spec], { hostId: 'h', hash, identity: hostKey, random: seededRandom(3), maxLeases: 1 });

const hashing: JobSpec = { id: 'c-sha', kernel: 'sha256-batch', units: 2, messagesPerUnit: 40, messageLength: 20, seed: 5, samples: 4, collect: true };
const modp: JobSpec = { id: 'c-modp', kernel: 'matmul-modp', units: 1, m: 30, n: 17, k: 11, p: 65521, seed: 6, verify: { policy: 'freivalds' }, collect: true };

const rootOf = (unit: WorkUnit, leaves: Uint8Array) => toHex(buildMerkleTreeOfChunks(leaves, leafBytes(unit), hash).root);

describe('jobs that collect output', () => {
  it('validates the collect field', () => {
    expect(() => parseJob(hashing)).not.toThrow();
    expect(() => parseJob({ ...hashing, collect: 'yes' })).toThrow(/collect must be true or false/);
    expect(() =>
      parseJob({
        id: 'p',
        kernel: 'sha256d-pow',
        units: 1,
        seed: 1,
        noncesPerUnit: 4096,
        shareBits: 6,
        targetBits: 12,
        collect: true,
      }),
    ).toThrow(/solutions are always kept/);
    // At most 4 MiB a unit, as for the largest C: 131072 digests.
    expect(() => parseJob({ ...hashing, messagesPerUnit: 131_072 })).not.toThrow();
    expect(() => parseJob({ ...hashing, messagesPerUnit: 131_073 })).toThrow(/messagesPerUnit must be at most 131072 to collect/);
    expect(() => parseJob({ ...hashing, messagesPerUnit: 1 << 20, collect: false })).not.toThrow();
  });

  it('collects a hashing unit whose digests take several rows messages (8192 messages)', async () => {
    const core = await open({ ...hashing, units: 1, messagesPerUnit: 8192, messageLength: 16 });
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const leaves = honest(unit, hash);
    const sent = sentResult(unit, { leaves, leafBytes: 32, backend: 'cpu' }, 1, hash);
    // The volunteer's own chunking: 4096 digests a message, so the second starts at row 4096.
    expect(rowsMessages(unit.unitId, sent).map((m) => m.type === 'rows' && m.first)).toEqual([0, 4096]);
    expect(reasonOf(await submit(v, unit, leaves, hash))).toMatch(/^accepted: verified/);
    expect(await core.output(unit.unitId)).toEqual(referenceLeaves(unit as ChallengedUnit, hash));
  });

  it('asks for the whole output after the challenge passes, and keeps it with the accepted unit', async () => {
    const store = new MemoryHostStore();
    const core = await open(hashing, store);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const leaves = honest(unit, hash);
    const sent = sentResult(unit, { leaves, leafBytes: 32, backend: 'cpu' }, 1, hash);
    const [challenge] = await v.say(await resultOf(v.me, unit, sent.root));
    expect(challenge).toMatchObject({ type: 'challenge' });
    expect(reasonOf(await submit(v, unit, leaves, hash))).toMatch(/^accepted: verified/);
    expect(await core.output(unit.unitId)).toEqual(leaves);
    // Kept in the store, so a restarted host still has it.
    expect(await (await open(hashing, store)).output(unit.unitId)).toEqual(leaves);
    // Not for a unit that is not accepted.
    expect(await core.output('c-sha/1')).toBeUndefined();
  });

  it('rejects an output that does not hash to the committed root, even after a passed challenge', async () => {
    const core = await open({ ...hashing, units: 1 });
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const leaves = honest(unit, hash);
    const sent = sentResult(unit, { leaves, leafBytes: 32, backend: 'cpu' }, 1, hash);
    const [challenge] = await v.say(await resultOf(v.me, unit, sent.root));
    if (challenge?.type !== 'challenge') throw new Error('expected a challenge');
    const openings = openingsOf(challenge.indices, leaves, 32, sent.tree);
    expect((await v.say({ type: 'openings', unitId: unit.unitId, openings }))[0]).toEqual({ type: 'send-rows', unitId: unit.unitId });
    // The digests swapped for others after the challenge: the upload must still match the root.
    const other = { ...sent, leaves: leaves.map((b, i) => (i === 33 ? b ^ 1 : b)) };
    let last: Awaited<ReturnType<typeof v.say>> = [];
    for (const m of rowsMessages(unit.unitId, other)) last = await v.say(m);
    expect(reasonOf(last[0]!)).toBe('rejected: the rows do not hash to the committed root');
    expect(await core.output(unit.unitId)).toBeUndefined();
    expect(core.progress()).toMatchObject({ queued: 1, accepted: 0 });
  });

  it('keeps the C that passed Freivalds (one upload serves both)', async () => {
    const core = await open(modp);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const c = honest(unit, hash);
    expect(reasonOf(await submit(v, unit, c, hash))).toMatch(/^accepted: verified/);
    expect(await core.output(unit.unitId)).toEqual(c);
  });

  it("collects a trusted key's output without checking it", async () => {
    const spec: JobSpec = { ...hashing, units: 3, trust: { warmup: 1, minCheckRate: 1e-9, decay: 1e-9 } };
    const core = await open(spec);
    const v = await volunteer(core, 'a');
    const first = await v.lease();
    expect(reasonOf(await submit(v, first, honest(first, hash), hash))).toMatch(/^accepted: verified/);
    const second = await v.lease();
    const leaves = honest(second, hash);
    const [ask] = await v.say(await resultOf(v.me, second, rootOf(second, leaves)));
    expect(ask).toEqual({ type: 'send-rows', unitId: second.unitId });
    expect(reasonOf(await submit(v, second, leaves, hash))).toMatch(/^accepted: accepted on commitment/);
    expect(await core.output(second.unitId)).toEqual(leaves);
  });

  it('keeps the agreed output of a replicated unit and drops the outvoted one', async () => {
    const { samples: _, ...rest } = hashing;
    const store = new MemoryHostStore();
    const core = await open({ ...rest, units: 1, replicate: true }, store);
    const [cheat, h1, h2] = [await volunteer(core, 'c'), await volunteer(core, 'h1'), await volunteer(core, 'h2')];
    const unit = await cheat.lease();
    const right = honest(unit, hash);
    const wrong = right.map((b, i) => (i === 0 ? b ^ 0xff : b));
    expect(await submit(cheat, unit, wrong, hash)).toMatchObject({ verdict: 'pending' });
    expect(await store.output(unit.unitId, rootOf(unit, wrong))).toEqual(wrong);
    await h1.lease();
    expect(await submit(h1, unit, right, hash)).toMatchObject({ verdict: 'pending' });
    await h2.lease();
    expect(await submit(h2, unit, right, hash)).toMatchObject({ verdict: 'accepted' });
    expect(await core.output(unit.unitId)).toEqual(right);
    expect(await store.output(unit.unitId, rootOf(unit, wrong))).toBeUndefined();
  });

  it('starts an upload over when the volunteer reconnects halfway through it', async () => {
    const core = await open({ ...modp, m: 600, n: 60, k: 5, trust: { banAfter: 1 } });
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const { sent, result } = await honestResult(v.me, unit, hash);
    expect((await v.say(result))[0]).toEqual({ type: 'send-rows', unitId: unit.unitId });
    const rows = rowsMessages(unit.unitId, sent);
    expect(rows.length).toBeGreaterThan(1);
    expect(await v.say(rows[0]!)).toEqual([]);
    // The link drops; the volunteer reconnects, re-sends its result and uploads from the start.
    const w = await volunteer(core, 'a2', v.me);
    // The old connection's MAC is no good here: the result is authenticated again, under the new connection's key.
    expect((await w.say(result))[0]).toMatchObject({ type: 'error', code: 'bad-signature' });
    expect((await w.say(await resultOf(v.me, unit, sent.root)))[0]).toEqual({ type: 'send-rows', unitId: unit.unitId });
    let last: Awaited<ReturnType<typeof w.say>> = [];
    for (const m of rows) last = await w.say(m);
    expect(reasonOf(last[0]!)).toMatch(/^accepted/);
  });

  it('accepts a trusted key alone in a replicated job that collects', async () => {
    const { samples: _, ...rest } = hashing;
    const core = await open({ ...rest, units: 3, replicate: true, trust: { warmup: 1, minCheckRate: 1e-9, decay: 1e-9 } });
    const [a, b] = [await volunteer(core, 'a'), await volunteer(core, 'b')];
    const u0 = await a.lease();
    expect(await submit(a, u0, honest(u0, hash), hash)).toMatchObject({ verdict: 'pending' });
    expect((await b.lease()).unitId).toBe(u0.unitId);
    expect(await submit(b, u0, honest(u0, hash), hash)).toMatchObject({ verdict: 'accepted' });
    const u1 = await b.lease();
    expect(reasonOf(await submit(b, u1, honest(u1, hash), hash))).toMatch(/^accepted: accepted on commitment/);
    expect(await core.output(u1.unitId)).toEqual(honest(u1, hash));
  });

  it('drops the output of a replica whose key was banned before its unit was settled', async () => {
    const { samples: _, ...rest } = hashing;
    const spec: JobSpec = { ...rest, units: 2, replicate: true, trust: { banAfter: 1 } };
    const store = new MemoryHostStore();
    const core = await open(spec, store);
    const [cheat, h1, h2, h3] = [await volunteer(core, 'c'), await volunteer(core, 'h1'), await volunteer(core, 'h2'), await volunteer(core, 'h3')];
    const lies: [WorkUnit, Uint8Array][] = [];
    for (let i = 0; i < 2; i++) {
      const u = await cheat.lease();
      const wrong = honest(u, hash).map((b, j) => (j === 0 ? b ^ 1 : b));
      lies.push([u, wrong]);
      expect(await submit(cheat, u, wrong, hash)).toMatchObject({ verdict: 'pending' });
    }
    const held = await h1.lease();
    const other = lies.find(([u]) => u.unitId !== held.unitId)![0];
    for (const v of [h2, h3]) {
      expect((await v.lease()).unitId).toBe(other.unitId);
      await submit(v, other, honest(other, hash), hash);
    }
    // The cheater is banned now; h1 and h2 settle the held unit without its vote.
    expect(await submit(h1, held, honest(held, hash), hash)).toMatchObject({ verdict: 'pending' });
    expect((await h2.lease()).unitId).toBe(held.unitId);
    expect(await submit(h2, held, honest(held, hash), hash)).toMatchObject({ verdict: 'accepted' });
    for (const [u, wrong] of lies) expect(await store.output(u.unitId, rootOf(u, wrong))).toBeUndefined();
    expect(await core.output(held.unitId)).toEqual(honest(held, hash));
  });

  it("knows after a restart why it awaits an output: a checked result is accepted as verified, a trusted key's only kept", async () => {
    const spec: JobSpec = { ...hashing, units: 2, trust: { warmup: 1, minCheckRate: 1e-9, decay: 1e-9 } };
    const store = new MemoryHostStore();
    const key = await newIdentity();
    const v = await volunteer(await open(spec, store), 'a', key);
    const first = await v.lease();
    const leaves = honest(first, hash);
    const sent = sentResult(first, { leaves, leafBytes: 32, backend: 'cpu' }, 1, hash);
    const [challenge] = await v.say(await resultOf(v.me, first, sent.root));
    if (challenge?.type !== 'challenge') throw new Error('expected a challenge');
    const openings = openingsOf(challenge.indices, leaves, 32, sent.tree);
    expect((await v.say({ type: 'openings', unitId: first.unitId, openings }))[0]).toEqual({ type: 'send-rows', unitId: first.unitId });
    // The host stops before the rows come; the volunteer sends its result again to the new one.
    const w = await volunteer(await open(spec, store), 'b', key);
    expect(reasonOf(await submit(w, first, leaves, hash))).toBe('accepted: verified');
    // Now past its warm-up, the key is spared the next check: its output is only kept, across a restart too.
    const second = await w.lease();
    const [ask] = await w.say(await resultOf(w.me, second, rootOf(second, honest(second, hash))));
    expect(ask).toEqual({ type: 'send-rows', unitId: second.unitId });
    const again = await open(spec, store);
    const x = await volunteer(again, 'c', key);
    expect(reasonOf(await submit(x, second, honest(second, hash), hash))).toMatch(/^accepted: accepted on commitment/);
    expect(await again.output(second.unitId)).toEqual(honest(second, hash));
    expect(again.trustRecords(spec.id)).toMatchObject([{ valid: 1 }]);
  });

  it('asks again for the output when the result is re-sent mid-upload (after a reconnect)', async () => {
    const store = new MemoryHostStore();
    const core = await open(modp, store);
    const key = await newIdentity();
    const v = await volunteer(core, 'a', key);
    const unit = await v.lease();
    const c = honest(unit, hash);
    expect((await v.say(await resultOf(v.me, unit, rootOf(unit, c))))[0]).toEqual({ type: 'send-rows', unitId: unit.unitId });
    const again = await open(modp, store);
    const w = await volunteer(again, 'b', key);
    expect((await w.say(await resultOf(key, unit, rootOf(unit, c))))[0]).toEqual({ type: 'send-rows', unitId: unit.unitId });
    expect(reasonOf(await submit(w, unit, c, hash))).toMatch(/^accepted/);
    expect(await again.output(unit.unitId)).toEqual(c);
  });

  it('keeps the backend and adapter a result reports: while it is judged, with the accepted unit, across a restart; a rejection forgets them', async () => {
    const store = new MemoryHostStore();
    const core = await open(hashing, store);
    const v = await volunteer(core, 'a');
    const first = await v.lease();
    const leaves = honest(first, hash);
    const sent = sentResult(first, { leaves, leafBytes: 32, backend: 'webgpu' }, 1, hash);
    const [challenge] = await v.say(await resultOf(v.me, first, sent.root, { backend: 'webgpu', adapter: 'NVIDIA H200 (vulkan)' }));
    expect(challenge).toMatchObject({ type: 'challenge' });
    expect(core.units(hashing.id)[0]).toMatchObject({ state: 'verifying', backend: 'webgpu', adapter: 'NVIDIA H200 (vulkan)' });
    // submit() sends the result again (the same challenge comes back), then the openings.
    expect(reasonOf(await submit(v, first, leaves, hash, { backend: 'webgpu', adapter: 'NVIDIA H200 (vulkan)' }))).toMatch(/^accepted: verified/);
    const made = { state: 'accepted', holder: v.me.id, backend: 'webgpu', adapter: 'NVIDIA H200 (vulkan)' };
    expect((await store.load()).units[0]).toMatchObject(made);
    expect((await open(hashing, store)).units(hashing.id)[0]).toMatchObject(made);
    expect(core.results(hashing.id)).toEqual([
      { unitId: first.unitId, volunteer: v.me.id, root: sent.root, backend: 'webgpu', adapter: 'NVIDIA H200 (vulkan)' },
    ]);
    // Every digest wrong: the challenge catches it, and the unit goes back to the queue without what computed the rejected result.
    const second = await v.lease();
    const bad = honest(second, hash).map((b) => b ^ 1);
    expect(reasonOf(await submit(v, second, bad, hash, { backend: 'cpu', adapter: '8 CPU threads' }))).toMatch(/^rejected/);
    const requeued = core.units(hashing.id)[1]!;
    expect(requeued.state).toBe('queued');
    expect(requeued.backend).toBeUndefined();
    expect(requeued.adapter).toBeUndefined();
  });
});

describe('the SDK job handle’s output', () => {
  /** A memory store whose commits take 200 ms: a unit is accepted in memory well before the store has it. */
  class SlowStore extends MemoryHostStore {
    get groupsCommits(): boolean {
      return true;
    }
    override async commit(...args: Parameters<MemoryHostStore['commit']>): Promise<void> {
      await new Promise((r) => setTimeout(r, 200));
      return super.commit(...args);
    }
  }

  it('lists as missing every unit whose block of C it leaves zero, even one accepted in memory whose commit is on its way', async () => {
    const hash = await createCpuSha256();
    const store = new SlowStore();
    const spec = parseJob({ id: 'slow-f32', kernel: 'matmul-f32', units: 1, m: 4, n: 9, k: 3, seed: 2, verify: { policy: 'freivalds' }, collect: true });
    const core = await HostCore.open(store, [spec], { hostId: 'h', hash, identity: await store.hostIdentity(), random: seededRandom(3), maxLeases: 1 });
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    const sent = sentResult(unit, { leaves: honest(unit, hash), leafBytes: leafBytes(unit), backend: 'cpu' }, 1, hash);
    await v.say(await resultOf(v.me, unit, sent.root));
    const rows = [...rowsMessages(unit.unitId, sent)];
    for (const m of rows.slice(0, -1)) await v.say(m);
    const last = v.say(rows.at(-1)!);
    await new Promise((r) => setTimeout(r, 20));
    expect(core.results(spec.id)).toHaveLength(1); // accepted in memory, not yet in the store
    const job = new JobHandle(spec, core, store);
    const early = await job.output({ partial: true });
    if (early.kind !== 'matrix') throw new Error(`expected a matrix, got ${early.kind}`);
    expect(early.data.every((x) => x === 0)).toBe(true);
    expect(early.missing).toEqual([unit.unitId]);
    expect((await last)[0]).toMatchObject({ type: 'verdict', verdict: 'accepted' });
    const later = await job.output({ partial: true });
    if (later.kind !== 'matrix') throw new Error(`expected a matrix, got ${later.kind}`);
    expect(later.missing).toEqual([]);
    expect(later.data.some((x) => x !== 0)).toBe(true);
  });
});
