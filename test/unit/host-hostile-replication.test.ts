import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import { jobUnit, type JobSpec, type Sha256JobSpec } from '../../src/host/job';
import { threadRecomputer } from '../../src/host/recompute-thread';
import type { Recomputer } from '../../src/host/recomputer';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { Identity } from '../../src/proof/identity';
import type { HostMessage, WorkUnit } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';
import { honest, leafBytes, reasonOf, submit, volunteer, type TestVolunteer } from '../helpers/judged';
import { newIdentity, resultOf } from '../helpers/signing';

/**
 * Replication against keys that cost nothing to make: colluding keys that agree on a made-up
 * result, and keys that force the host to compute units itself.
 */

let hash: Hasher;
let hostKey: Identity;
const recomputers: Recomputer[] = [];
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});
afterAll(() => recomputers.forEach((r) => r.close()));

const job: Sha256JobSpec = { id: 'rep', kernel: 'sha256-batch', units: 1, messagesPerUnit: 16, messageLength: 24, seed: 9, replicate: true };

function open(spec: JobSpec, seed = 1, extra: Partial<Parameters<typeof HostCore.open>[2]> = {}) {
  return HostCore.open(new MemoryHostStore(), [spec], { hostId: 'h', hash, identity: hostKey, random: seededRandom(seed), maxLeases: 1, ...extra });
}

/** `leaves` with the leaves at `which` flipped. */
function corrupt(unit: WorkUnit, which: readonly number[]): Uint8Array {
  const out = honest(unit, hash).slice();
  const b = leafBytes(unit);
  for (const i of which) out[i * b] = out[i * b]! ^ 0xff;
  return out;
}

const verdictsOf = async (v: TestVolunteer) => (await v.say({ type: 'request-unit', id: 1, holding: [] })).filter((r) => r.type === 'verdict');

describe('colluding keys in a replicated job', () => {
  it('cannot get a made-up root accepted: the first key without a record is challenged and cannot open it', async () => {
    const core = await open({ ...job, trust: { banAfter: 1 } });
    const [a, b] = [await volunteer(core, 'a'), await volunteer(core, 'b')];
    const unit = await a.lease();
    // A root of nothing: no tree, no leaves behind it. Two fresh keys report it.
    const madeUp = toHex(hash(new TextEncoder().encode('made up')));
    const [first] = await a.say(await resultOf(a.me, unit, madeUp));
    expect(first).toMatchObject({ type: 'challenge', unitId: unit.unitId });
    const openings = (first as Extract<HostMessage, { type: 'challenge' }>).indices.map((index) => ({ index, leaf: '00'.repeat(32), path: [] }));
    expect(reasonOf((await a.say({ type: 'openings', unitId: unit.unitId, openings }))[0]!)).toMatch(/^rejected: .*now banned/);
    // Its partner cannot second a vote that was never cast.
    expect((await b.lease()).unitId).toBe(unit.unitId);
    expect((await b.say(await resultOf(b.me, unit, madeUp)))[0]).toMatchObject({ type: 'challenge' });
    expect(core.results()).toEqual([]);
  });

  it('cannot get a fully computed wrong tree accepted either (every leaf wrong)', async () => {
    const core = await open({ ...job, units: 1 });
    const [a, b, h1, h2] = [await volunteer(core, 'a'), await volunteer(core, 'b'), await volunteer(core, 'h1'), await volunteer(core, 'h2')];
    const unit = await a.lease();
    const fake = corrupt(unit, [...Array(16).keys()]);
    expect(reasonOf(await submit(a, unit, fake, hash))).toMatch(/^rejected: leaf \d+: digest is wrong/);
    await b.lease();
    expect(reasonOf(await submit(b, unit, fake, hash))).toMatch(/^rejected: leaf \d+: digest is wrong/);
    await h1.lease();
    expect(await submit(h1, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending' });
    await h2.lease();
    expect(await submit(h2, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
    expect(core.results()[0]!.root).toBe(toHex(buildMerkleTreeOfChunks(honest(unit, hash), 32, hash).root));
  });

  /**
   * k colluding fresh keys, each faking the same fraction f of the leaves, and nobody honest:
   * the job's last unit, so the second key surely gets it. Each vote must pass its own
   * challenge of s leaves, so a wrong result is accepted with probability at most
   * C(k, 2)·(1 − f)^(2s) (the README's bound; sampling without replacement does a little better).
   */
  async function collusionRate(k: number, trials: number, f: number, samples: number): Promise<number> {
    let wrongAccepted = 0;
    const spec: JobSpec = { ...job, samples };
    for (let seed = 1; seed <= trials; seed++) {
      const core = await open(spec, seed * 7919);
      const unit = jobUnit(spec, 0);
      const fake = corrupt(unit, [...Array(Math.round(16 * f)).keys()]);
      for (let i = 0; i < k; i++) {
        const v = await volunteer(core, `c${i}`);
        if ((await v.say({ type: 'request-unit', id: 1, holding: [] }))[0]?.type !== 'unit') continue;
        if ((await submit(v, unit, fake, hash)).type === 'verdict' && core.done) break;
      }
      if (core.done) wrongAccepted++;
    }
    return wrongAccepted / trials;
  }

  it('leaves colluding keys a chance no larger than C(k,2)·(1 − f)^(2s): two keys', async () => {
    const trials = 160;
    const bound = (1 - 0.5) ** (2 * 2);
    const rate = await collusionRate(2, trials, 0.5, 2);
    // Exactly: (C(8,2)/C(16,2))² ≈ 0.054 ≤ 0.0625. Allow four standard deviations of sampling noise.
    expect(rate).toBeLessThanOrEqual(bound + 4 * Math.sqrt((bound * (1 - bound)) / trials));
    expect(rate).toBeGreaterThan(0);
  }, 60_000);

  it('leaves colluding keys a chance no larger than C(k,2)·(1 − f)^(2s): three keys', async () => {
    const trials = 120;
    const bound = 3 * (1 - 0.5) ** (2 * 2);
    const rate = await collusionRate(3, trials, 0.5, 2);
    expect(rate).toBeLessThanOrEqual(bound + 4 * Math.sqrt((bound * (1 - bound)) / trials));
  }, 60_000);
});

describe("the host's own computation of disagreeing replicas", () => {
  /** Four units of the README's example shape; a unit's replicas each pass a 1-row challenge (a row of 512 is wrong). */
  const modp: JobSpec = { id: 'mm', kernel: 'matmul-modp', units: 1, m: 512, n: 256, k: 512, p: 65521, seed: 3, replicate: true, samples: 1 };
  /** The bystander's work: another job, leased after the matrix unit. */
  const side: JobSpec = { ...job, id: 'side', units: 4, samples: 2, replicate: undefined, priority: -1 };

  it('runs off the message queue: a bystander is answered promptly while the host computes', async () => {
    const recomputer = threadRecomputer();
    recomputers.push(recomputer);
    const core = await HostCore.open(new MemoryHostStore(), [modp, side], {
      hostId: 'h',
      hash,
      identity: hostKey,
      random: seededRandom(5),
      maxLeases: 1,
      recomputer,
      log: (l) => console.log(l),
    });
    const [x, y, z, bystander] = [await volunteer(core, 'x'), await volunteer(core, 'y'), await volunteer(core, 'z'), await volunteer(core, 'by')];
    const unit = await x.lease();
    const held = await bystander.lease();
    expect(held.jobId).toBe('side');
    const right = honest(unit, hash);
    expect(await submit(x, unit, right, hash)).toMatchObject({ verdict: 'pending' });
    expect((await y.lease()).unitId).toBe(unit.unitId);
    expect(await submit(y, unit, corrupt(unit, [100]), hash)).toMatchObject({ verdict: 'pending' });
    expect((await z.lease()).unitId).toBe(unit.unitId);
    // The third disagreeing vote: the host must compute the unit. The bystander keeps talking meanwhile.
    const started = performance.now();
    let answered = false;
    const third = submit(z, unit, corrupt(unit, [300]), hash).finally(() => (answered = true));
    let worst = 0;
    let pings = 0;
    do {
      const t = performance.now();
      expect((await bystander.say({ type: 'heartbeat', unitId: held.unitId, done: 1, total: 4 }))[0]).toMatchObject({ type: 'lease' });
      worst = Math.max(worst, performance.now() - t);
      pings++;
      await new Promise((r) => setTimeout(r, 10));
    } while (!answered || core.settling() > 0);
    const computing = performance.now() - started;
    expect(reasonOf(await third)).toMatch(/^pending: 3 replicas disagree; the host computes the unit/);
    console.log(
      `third vote to settled (host recomputation of a 512×512·512×256 modp unit on a thread): ${computing.toFixed(0)} ms; a bystander's slowest reply meanwhile: ${worst.toFixed(1)} ms over ${pings} round trips`,
    );
    expect(pings).toBeGreaterThan(3);
    expect(worst).toBeLessThan(computing / 3);
    // Settled: x was right, y and z are rejected, each hears it with its next message.
    expect((await verdictsOf(x)).map(reasonOf)).toEqual([
      expect.stringMatching(/^accepted: verified: 3 replicas disagreed and the host's own computation matches/),
    ]);
    for (const v of [y, z]) expect((await verdictsOf(v)).map(reasonOf)).toEqual([expect.stringMatching(/^rejected: 3 replicas disagreed/)]);
    expect(core.results().map((r) => r.unitId)).toEqual([unit.unitId]);
    core.close();
  }, 60_000);

  it('has a budget per job: past it, more keys vote instead of the host computing', async () => {
    const small: Sha256JobSpec = { ...job, units: 2, messagesPerUnit: 512, samples: 1 };
    const core = await open(small, 3, { maxSettlingPerJob: 1, recomputer: { root: () => new Promise(() => undefined), close: () => undefined } });
    const votes = new Map<string, number>();
    const reasons = new Map<string, string[]>();
    let voters = 0;
    /** A fresh key takes whatever unit the host draws and votes on it, wrongly in its own way unless `right`. */
    const vote = async (right: (u: WorkUnit) => boolean) => {
      const v = await volunteer(core, `v${voters++}`);
      const u = await v.lease();
      const n = (votes.get(u.unitId) ?? 0) + 1;
      votes.set(u.unitId, n);
      const reason = reasonOf(await submit(v, u, right(u) ? honest(u, hash) : corrupt(u, [n]), hash));
      reasons.set(u.unitId, [...(reasons.get(u.unitId) ?? []), reason]);
      return u;
    };
    // Wrong votes until one unit has three different roots: the host's one place for this job is taken (its computation never ends here).
    while (core.settling() === 0) await vote(() => false);
    const waiting = [...votes].find(([, n]) => n === 3)![0];
    expect(reasons.get(waiting)!.at(-1)).toMatch(/^pending: 3 replicas disagree; the host computes/);
    // The other unit: no room for the host, so a fourth key decides, and a fifth, by majority.
    const other = jobUnit(small, waiting.endsWith('/0') ? 1 : 0).unitId;
    while ((votes.get(other) ?? 0) < 3) await vote(() => false);
    expect(reasons.get(other)!.at(-1)).toMatch(/^pending: 3 replicas disagree; another key decides/);
    expect(core.settling()).toBe(1);
    while (!core.results().length) await vote(() => true);
    expect(reasons.get(other)!.slice(3)).toEqual([
      expect.stringMatching(/^pending: 4 replicas disagree; another key decides/),
      expect.stringMatching(/^accepted: verified: 2 keys reported the same result/),
    ]);
    expect(core.results().map((r) => r.unitId)).toEqual([other]);
    core.close();
  });

  it('has a budget per key: a key voting in a unit that waits for the host does not start a second one', async () => {
    const small: Sha256JobSpec = { ...job, units: 2, messagesPerUnit: 512, samples: 1 };
    const core = await open(small, 3, { maxLeases: 2, maxSettlingPerJob: 4, recomputer: { root: () => new Promise(() => undefined), close: () => undefined } });
    const [u0, u1] = [jobUnit(small, 0), jobUnit(small, 1)];
    // One key votes wrongly on both units; so do two others on each.
    const k = await volunteer(core, 'k');
    const first = await k.lease();
    const both = [first, await k.lease([first.unitId])].map((u) => u.unitId).sort();
    expect(both).toEqual([u0.unitId, u1.unitId]);
    for (const u of [u0, u1]) expect(reasonOf(await submit(k, u, corrupt(u, [1]), hash))).toMatch(/^pending/);
    const reasons: string[] = [];
    for (let i = 0; i < 4; i++) {
      const v = await volunteer(core, `o${i}`);
      const u = await v.lease(); // maxLeases 2, but each fresh key leases once here
      reasons.push(`${u.unitId} ${reasonOf(await submit(v, u, corrupt(u, [2 + i]), hash))}`);
    }
    expect(core.settling()).toBe(1);
    expect(reasons.filter((r) => /the host computes/.test(r))).toHaveLength(1);
    expect(reasons.filter((r) => /another key decides/.test(r))).toHaveLength(1);
    core.close();
  });

  it('computes a unit left waiting when the host stopped, after a restart', async () => {
    const store = new MemoryHostStore();
    const spec: JobSpec = { ...job, messagesPerUnit: 512, samples: 1 };
    const never: Recomputer = { root: () => new Promise(() => undefined), close: () => undefined };
    const core = await HostCore.open(store, [spec], { hostId: 'h', hash, identity: hostKey, random: seededRandom(2), maxLeases: 1, recomputer: never });
    const u = jobUnit(spec, 0);
    const keys = [await newIdentity(), await newIdentity(), await newIdentity()];
    for (const [i, key] of keys.entries()) {
      const v = await volunteer(core, `v${i}`, key);
      await v.lease();
      expect(reasonOf(await submit(v, u, i === 0 ? honest(u, hash) : corrupt(u, [i]), hash))).toMatch(/^pending/);
    }
    expect(core.settling()).toBe(1);
    core.close();
    const again = await HostCore.open(store, [spec], { hostId: 'h', hash, identity: hostKey, random: seededRandom(2), maxLeases: 1 });
    await vi.waitFor(() => expect(again.done).toBe(true), { timeout: 10_000, interval: 5 });
    expect(again.receipt(u.unitId)).toMatchObject({ root: toHex(buildMerkleTreeOfChunks(honest(u, hash), 32, hash).root) });
    // The voters were not speaking then: a re-sent result fetches the receipt, or the rejection.
    const first = await volunteer(again, 'back', keys[0]);
    expect(await submit(first, u, honest(u, hash), hash)).toMatchObject({ verdict: 'duplicate', receipt: { unitId: u.unitId } });
    again.close();
  });
});

describe('claims on units never leased', () => {
  it('count as an invalid result for a unit nobody has ever leased', async () => {
    const spec: JobSpec = { id: 'c', kernel: 'sha256-batch', units: 3, messagesPerUnit: 4, messageLength: 8, seed: 1, samples: 2, trust: { banAfter: 1 } };
    const core = await open(spec);
    const v = await volunteer(core, 'v');
    // Unit 2 was never leased to anyone: no history of holders at all.
    const never = jobUnit(spec, 2);
    const [reply] = await v.say(await resultOf(v.me, never, toHex(buildMerkleTreeOfChunks(honest(never, hash), 32, hash).root)));
    expect(reply).toMatchObject({ type: 'error', code: 'banned', message: expect.stringMatching(/never leased to you; .*invalid result.*now banned/) });
    expect(core.volunteer(v.me.id)).toMatchObject({ rejected: 1 });
  });
});
