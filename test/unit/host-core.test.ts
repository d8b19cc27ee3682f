import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import { jobUnit, unitWork, validateJob, type JobSpec } from '../../src/host/job';
import { chooseChallenge } from '../../src/host/verify-sha256';
import { buildMerkleTreeOfChunks, merklePath } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { seededBatch, sha256BatchCpu } from '../../src/kernels/sha256-batch';
import { encodeMessage, parseHostMessage, type HostMessage, type VolunteerMessage, type WorkUnit } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';

const job: JobSpec = { id: 'test', kernel: 'sha256-batch', units: 3, messagesPerUnit: 37, messageLength: 64, seed: 9, samples: 8 };
let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

function newHost(spec = job) {
  return new HostCore(spec, { hostId: 'h', hash, random: seededRandom(1) });
}

/** Sends a message as volunteer `name`, checks every reply parses as a host message. */
function say(core: HostCore, name: string, m: VolunteerMessage | string): HostMessage[] {
  const replies = core.handle(name, typeof m === 'string' ? m : encodeMessage(m));
  return replies.map((r) => parseHostMessage(encodeMessage(r)));
}

function greet(core: HostCore, name: string) {
  expect(say(core, name, { type: 'hello', protocol: 1, client: 't' })[0]).toMatchObject({ type: 'welcome', jobId: 'test' });
}

function lease(core: HostCore, name: string): WorkUnit {
  const [reply] = say(core, name, { type: 'request-unit' });
  if (reply?.type !== 'unit') throw new Error(`expected a unit, got ${JSON.stringify(reply)}`);
  return reply.unit;
}

function honestDigests(unit: WorkUnit): Uint8Array {
  return sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash);
}

/** Runs result → challenge → openings with the given digests and root; returns the verdict. */
function submit(core: HostCore, name: string, unit: WorkUnit, digests: Uint8Array, root?: Uint8Array): HostMessage {
  const tree = buildMerkleTreeOfChunks(digests, 32, hash);
  const [challenge] = say(core, name, { type: 'result', unitId: unit.unitId, root: toHex(root ?? tree.root), backend: 'cpu' });
  if (challenge?.type !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(challenge)}`);
  expect(challenge.indices).toHaveLength(job.samples);
  const openings = challenge.indices.map((index) => ({
    index,
    leaf: toHex(digests.subarray(index * 32, index * 32 + 32)),
    path: merklePath(tree, index).map(toHex),
  }));
  const [verdict] = say(core, name, { type: 'openings', unitId: unit.unitId, openings });
  return verdict!;
}

describe('HostCore', () => {
  it('accepts an honest result once, credits its work, and finishes the job', () => {
    const core = newHost();
    greet(core, 'a');
    for (let i = 0; i < job.units; i++) {
      const unit = lease(core, 'a');
      expect(unit).toEqual(jobUnit(job, i));
      const verdict = submit(core, 'a', unit, honestDigests(unit));
      expect(verdict).toMatchObject({ type: 'verdict', verdict: 'accepted', credit: unitWork(unit) });
    }
    expect(core.done).toBe(true);
    expect(core.volunteer('a')).toMatchObject({ accepted: 3, credit: 3 * 37 * 2 });
    expect(say(core, 'a', { type: 'request-unit' })).toEqual([{ type: 'no-work', retryMs: 2000, jobDone: true }]);
    expect(core.results().map((r) => r.unitId)).toEqual(['test/0', 'test/1', 'test/2']);
  });

  it('rejects a wrong root, requeues the unit, and never gives it back to the same volunteer', () => {
    const core = newHost();
    greet(core, 'cheat');
    const unit = lease(core, 'cheat');
    const verdict = submit(core, 'cheat', unit, honestDigests(unit), new Uint8Array(32).fill(7));
    expect(verdict).toMatchObject({ verdict: 'rejected', credit: 0, totalCredit: 0 });
    expect((verdict as { reason: string }).reason).toMatch(/committed root/);
    expect(core.progress()).toMatchObject({ queued: 3, accepted: 0 });
    expect(lease(core, 'cheat').unitId).not.toBe(unit.unitId);
    greet(core, 'honest');
    expect(lease(core, 'honest').unitId).toBe(unit.unitId);
  });

  it('rejects a result whose digests are wrong even though they open to its root', () => {
    const core = newHost();
    greet(core, 'lazy');
    const unit = lease(core, 'lazy');
    const fake = new Uint8Array(unit.count * 32).fill(1); // a self-consistent tree of junk
    const verdict = submit(core, 'lazy', unit, fake);
    expect(verdict).toMatchObject({ verdict: 'rejected' });
    expect((verdict as { reason: string }).reason).toMatch(/digest is wrong/);
  });

  it('catches a unit faked in part with the probability the sample size gives', () => {
    // Fake every other digest: each sampled leaf is fake with probability 1/2, so 8 samples
    // miss with probability 1/256. Over 20 units the expected number of misses is < 0.1.
    const spec = { ...job, units: 20 };
    const core = newHost(spec);
    greet(core, 'half');
    let caught = 0;
    for (let i = 0; i < spec.units; i++) {
      const unit = lease(core, 'half');
      const digests = honestDigests(unit);
      for (let m = 0; m < unit.count; m += 2) digests[m * 32] ^= 0xff;
      if ((submit(core, 'half', unit, digests) as { verdict: string }).verdict === 'rejected') caught++;
    }
    expect(caught).toBeGreaterThanOrEqual(19);
  });

  it('acknowledges a duplicate result without new credit', () => {
    const core = newHost();
    greet(core, 'a');
    const unit = lease(core, 'a');
    const digests = honestDigests(unit);
    expect(submit(core, 'a', unit, digests)).toMatchObject({ verdict: 'accepted' });
    const [dup] = say(core, 'a', { type: 'result', unitId: unit.unitId, root: rootOf(digests), backend: 'cpu' });
    expect(dup).toMatchObject({ type: 'verdict', verdict: 'duplicate', credit: 0, totalCredit: unitWork(unit) });
    expect(core.progress().accepted).toBe(1);
  });

  it('refuses results for units not leased to the sender, and openings without a challenge', () => {
    const core = newHost();
    greet(core, 'a');
    greet(core, 'b');
    const unit = lease(core, 'a');
    expect(say(core, 'b', { type: 'result', unitId: unit.unitId, root: 'ab'.repeat(32), backend: 'cpu' })[0]).toMatchObject({ type: 'error', code: 'unknown-unit' });
    expect(say(core, 'b', { type: 'result', unitId: 'test/999', root: 'ab'.repeat(32), backend: 'cpu' })[0]).toMatchObject({ type: 'error', code: 'unknown-unit' });
    expect(say(core, 'a', { type: 'openings', unitId: unit.unitId, openings: [] })[0]).toMatchObject({ type: 'error', code: 'unknown-unit' });
    // None of that disturbed a's lease.
    expect(submit(core, 'a', unit, honestDigests(unit))).toMatchObject({ verdict: 'accepted' });
  });

  it('answers messages before hello, wrong versions and junk with typed errors', () => {
    const core = newHost();
    expect(say(core, 'x', { type: 'request-unit' })[0]).toMatchObject({ type: 'error', code: 'bad-message' });
    expect(say(core, 'x', { type: 'hello', protocol: 99, client: 't' })[0]).toMatchObject({ type: 'error', code: 'protocol-version' });
    expect(say(core, 'x', '{"type":')[0]).toMatchObject({ type: 'error', code: 'bad-message' });
    expect(core.handle('x', new Uint8Array(3))[0]).toMatchObject({ type: 'error', code: 'bad-message' });
    expect(core.progress().queued).toBe(3);
  });

  it('gives a volunteer that asks twice the unit it holds, and requeues it when it leaves', () => {
    const core = newHost();
    greet(core, 'a');
    const unit = lease(core, 'a');
    expect(lease(core, 'a')).toEqual(unit);
    expect(core.progress()).toMatchObject({ leased: 1, queued: 2 });
    core.disconnect('a');
    expect(core.progress()).toMatchObject({ leased: 0, queued: 3 });
    greet(core, 'b');
    expect(lease(core, 'b')).toEqual(unit);
  });

  it('tells volunteers to wait while every unit is out, and that the job is done at the end', () => {
    const core = newHost({ ...job, units: 1 });
    greet(core, 'a');
    greet(core, 'b');
    const unit = lease(core, 'a');
    expect(say(core, 'b', { type: 'request-unit' })[0]).toEqual({ type: 'no-work', retryMs: 2000, jobDone: false });
    submit(core, 'a', unit, honestDigests(unit));
    expect(say(core, 'b', { type: 'request-unit' })[0]).toEqual({ type: 'no-work', retryMs: 2000, jobDone: true });
  });
});

describe('chooseChallenge', () => {
  it('picks distinct sorted indices in range, all of them when the unit is small', () => {
    const random = seededRandom(3);
    for (const [count, samples] of [[1, 16], [5, 16], [16, 16], [4096, 16], [100, 99]] as const) {
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
    expect(() => validateJob({ ...job, units: 0 })).toThrow(/units/);
    expect(() => validateJob({ ...job, id: 'a b' })).toThrow(/id/);
    expect(() => validateJob({ ...job, kernel: 'matmul' as 'sha256-batch' })).toThrow(/kernel/);
    expect(() => validateJob({ ...job, samples: 1000 })).toThrow(/samples/);
  });
});

function rootOf(digests: Uint8Array): string {
  return toHex(buildMerkleTreeOfChunks(digests, 32, hash).root);
}
