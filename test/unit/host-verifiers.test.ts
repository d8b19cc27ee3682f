import { beforeAll, describe, expect, it } from 'vitest';
import { buildMerkleTreeOfChunks, merklePath, type MerkleTree } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { fromHex, toHex } from '../../src/hex';
import { HostState, type Tx, type UnitRecord } from '../../src/host/host-state';
import { jobUnit, type JobSpec } from '../../src/host/job';
import { referenceLeaves } from '../../src/host/recompute';
import { Awaiting } from '../../src/host/store/store';
import { policyOf } from '../../src/host/verifiers/policy';
import { verifierFor } from '../../src/host/verifiers/registry';
import { StepKind, type Court, type Step, type Verifier } from '../../src/host/verifiers/verifier';
import { sharesRoot } from '../../src/kernels/sha256d-pow/recheck';
import { powSearchCpuFast } from '../../src/kernels/sha256d-pow/pow';
import { unitLeaves, type ChallengedUnit, type HostMessage, type PowUnit, type WorkUnit } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';

/** Each verifier alone: the steps it asks the Judge for, and what it asks of the Judge's court when it settles a unit. */

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

const hashing: JobSpec = { id: 'h', kernel: 'sha256-batch', units: 2, messagesPerUnit: 64, messageLength: 32, seed: 3, samples: 4 };
const modp: JobSpec = { id: 'm', kernel: 'matmul-modp', units: 1, m: 24, n: 8, k: 16, p: 65521, seed: 4, verify: { policy: 'freivalds', rounds: 2 } };
const pow: JobSpec = { id: 'p', kernel: 'sha256d-pow', units: 1, seed: 5, noncesPerUnit: 4096, shareBits: 6, targetBits: 11 };

const verifier = (spec: JobSpec): Verifier => verifierFor(policyOf(spec), { hash, random: seededRandom(9) });

/** A unit of `spec` as the Judge hands it over: leased to `who`, with the committed root. */
function leased(spec: JobSpec, index: number, root: string, over: Partial<UnitRecord> = {}): UnitRecord {
  return {
    jobId: spec.id,
    unitId: `${spec.id}/${index}`,
    index,
    state: 'leased',
    holder: 'k',
    leaseDeadline: 1000,
    progress: 0,
    root,
    challenge: null,
    rejectedBy: [],
    acceptedAt: null,
    solutions: null,
    ...over,
  };
}

/** An honest (or altered) output of a unit: its leaves, tree and root. */
function output(unit: WorkUnit, alter?: (leaves: Uint8Array) => void) {
  const leaves = referenceLeaves(unit as ChallengedUnit, hash);
  alter?.(leaves);
  const tree = buildMerkleTreeOfChunks(leaves, unitLeaves(unit as ChallengedUnit).bytes, hash);
  return { leaves, tree, root: toHex(tree.root) };
}

function openings(unit: WorkUnit, leaves: Uint8Array, tree: MerkleTree, indices: readonly number[]) {
  const b = unitLeaves(unit as ChallengedUnit).bytes;
  return indices.map((index) => ({ index, leaf: toHex(leaves.subarray(index * b, (index + 1) * b)), path: merklePath(tree, index).map(toHex) }));
}

/** A court that records what the verifier asked of it, over a real Tx. */
function court(tx: Tx) {
  const calls: string[] = [];
  const said = (who: string, what: string): HostMessage => ({ type: 'error', code: 'bad-message', message: `${who}: ${what}` });
  const c: Court = {
    tx,
    now: 5000,
    accept: async (who, record, verified, solutions) => (
      calls.push(`accept ${who} ${record.unitId} ${verified} ${JSON.stringify(solutions ?? null)}`),
      said(who, 'accepted')
    ),
    credit: async (who, accepted, reason) => (calls.push(`credit ${who} ${accepted.state} ${reason}`), said(who, 'credited')),
    penalise: (who, _record, reason) => (calls.push(`penalise ${who} ${reason}`), said(who, 'penalised')),
    verdict: (who, _unitId, verdict, reason) => (calls.push(`${verdict} ${who} ${reason}`), said(who, verdict)),
    isBanned: () => false,
    hasRoom: () => true,
  };
  return { court: c, calls };
}

const emptyTx = () => new HostState({ jobs: [], units: [], volunteers: [], receipts: [], trust: [], teams: [] }).tx();

describe('the challenge verifier', () => {
  it('challenges `samples` leaves of an unspared result, and lets a spared one through on its commitment', () => {
    const v = verifier(hashing);
    const unit = jobUnit(hashing, 0);
    const { root } = output(unit);
    const c = { who: 'k', record: leased(hashing, 0, root), unit, shares: undefined };
    expect(v.onResult({ ...c, trusted: true })).toEqual({ kind: StepKind.Trusted });
    const step = v.onResult({ ...c, trusted: false });
    if (step.kind !== StepKind.Challenge) throw new Error(`expected a challenge, got ${step.kind}`);
    expect(step.indices).toHaveLength(4);
    expect(new Set(step.indices).size).toBe(4);
    expect(step.indices.every((i) => i >= 0 && i < 64)).toBe(true);
  });

  it('passes honest openings, fails a wrong leaf, and accepts a passed result as verified', async () => {
    const v = verifier(hashing);
    const unit = jobUnit(hashing, 0);
    const honest = output(unit);
    const record = leased(hashing, 0, honest.root, { state: 'verifying', challenge: [1, 40], awaiting: Awaiting.Openings });
    expect(v.onOpenings!({ who: 'k', record, unit }, openings(unit, honest.leaves, honest.tree, [1, 40]))).toEqual({ kind: StepKind.Passed });
    const lying = output(unit, (leaves) => (leaves[40 * 32]! ^= 1));
    const wrong = v.onOpenings!({ who: 'k', record: { ...record, root: lying.root }, unit }, openings(unit, lying.leaves, lying.tree, [1, 40]));
    expect(wrong).toEqual({ kind: StepKind.Failed, reason: 'leaf 40: digest is wrong' });
    expect(v.onOpenings!({ who: 'k', record, unit }, openings(unit, honest.leaves, honest.tree, [1]))).toMatchObject({ reason: 'expected 2 openings, got 1' });
    const { court: c, calls } = court(emptyTx());
    await v.onPassed({ who: 'k', record, unit }, c, null);
    expect(calls).toEqual(['accept k h/0 true null']);
  });
});

describe('the Freivalds verifier', () => {
  it('asks for the whole output of an unspared result, and checks it against the root and by Freivalds', () => {
    const v = verifier(modp);
    const unit = jobUnit(modp, 0);
    const honest = output(unit);
    const c = { who: 'k', record: leased(modp, 0, honest.root), unit };
    expect(v.onResult({ ...c, shares: undefined, trusted: false })).toEqual({ kind: StepKind.SendRows });
    expect(v.onResult({ ...c, shares: undefined, trusted: true })).toEqual({ kind: StepKind.Trusted });
    expect(v.onOpenings).toBeUndefined();
    expect(v.onRows!(c, honest.leaves)).toEqual({ kind: StepKind.Passed });
    // A wrong element, committed to: the rows hash to the root, and Freivalds catches the row.
    const lying = output(unit, (leaves) => new DataView(leaves.buffer).setUint32(4 * (17 * 8 + 3), 7, true));
    expect(v.onRows!({ ...c, record: leased(modp, 0, lying.root) }, lying.leaves)).toMatchObject({
      reason: expect.stringMatching(/^Freivalds' check failed: row 17/),
    });
    // Rows that are not what was committed to.
    expect(v.onRows!(c, lying.leaves)).toEqual({ kind: StepKind.Failed, reason: 'the rows do not hash to the committed root' });
  });
});

describe('the recheck-all verifier (proof of work)', () => {
  it('rechecks every share and passes the solutions on to be kept', async () => {
    const v = verifier(pow);
    const unit = jobUnit(pow, 0) as PowUnit;
    const { shares, solutions } = await powSearchCpuFast(
      fromHex(unit.header)!,
      unit.nonceStart,
      unit.nonceCount,
      fromHex(unit.target)!,
      fromHex(unit.shareTarget)!,
    );
    const record = leased(pow, 0, sharesRoot(shares, hash));
    // Whatever trust would say: the spot-check step never spares it, so `trusted` is never true here.
    const step: Step = v.onResult({ who: 'k', record, unit, shares, trusted: false });
    expect(step).toEqual({ kind: StepKind.Passed, solutions });
    expect(v.onResult({ who: 'k', record, unit, shares: undefined, trusted: false })).toEqual({
      kind: StepKind.Failed,
      reason: 'a proof-of-work result must list its shares',
    });
    expect(v.onResult({ who: 'k', record, unit, shares: shares.slice(1), trusted: false })).toMatchObject({ kind: StepKind.Failed });
    const { court: c, calls } = court(emptyTx());
    await v.onPassed({ who: 'k', record, unit }, c, solutions);
    expect(calls).toEqual([`accept k p/0 true ${JSON.stringify(solutions)}`]);
  });
});

describe('the replicate verifier', () => {
  const replicated: JobSpec = { ...hashing, samples: 6, replicate: true };

  it('challenges a key without an earned record; a trusted key is accepted alone, or compared with a replica on file', () => {
    const v = verifier(replicated);
    const unit = jobUnit(replicated, 0);
    const { root } = output(unit);
    const c = { who: 'k', unit, shares: undefined };
    expect(v.onResult({ ...c, record: leased(replicated, 0, root), trusted: false })).toMatchObject({ kind: StepKind.Challenge, indices: expect.any(Array) });
    expect((v.onResult({ ...c, record: leased(replicated, 0, root), trusted: false }) as { indices: number[] }).indices).toHaveLength(6);
    expect(v.onResult({ ...c, record: leased(replicated, 0, root), trusted: true })).toEqual({ kind: StepKind.Trusted });
    const onFile = leased(replicated, 0, root, { votes: [{ key: 'other', root }] });
    expect(v.onResult({ ...c, record: onFile, trusted: true })).toEqual({ kind: StepKind.Passed });
  });

  it('counts votes: the first is pending and goes back to the queue, an agreeing second credits both', async () => {
    const v = verifier(replicated);
    const unit = jobUnit(replicated, 0);
    const { root } = output(unit);
    const first = emptyTx();
    const a = court(first);
    await v.onPassed({ who: 'a', record: leased(replicated, 0, root, { holder: 'a' }), unit }, a.court, null);
    expect(a.calls).toEqual(['pending a replica 1 of 2 on file; credit follows when another key reports the same result']);
    const [queued] = first.batch().units!;
    expect(queued).toMatchObject({ state: 'queued', holder: null, votes: [{ key: 'a', root }] });
    expect(queued!.awaiting).toBeUndefined();
    const second = emptyTx();
    const b = court(second);
    await v.onPassed({ who: 'b', record: { ...queued!, state: 'leased', holder: 'b', root }, unit }, b.court, null);
    expect(b.calls).toEqual(['credit a accepted verified: 2 keys reported the same result', 'credit b accepted verified: 2 keys reported the same result']);
    expect(second.batch().units).toMatchObject([{ state: 'accepted', holder: 'b', root }]);
    // `a` hears it with its next message.
    expect(second.notices().map((n) => n.to)).toEqual(['a']);
  });

  it('leaves three disagreeing replicas to the host, and settles them by its computation', async () => {
    const v = verifier(replicated);
    const unit = jobUnit(replicated, 1);
    const right = output(unit).root;
    const wrong = (i: number) => output(unit, (leaves) => (leaves[i]! ^= 1)).root;
    const votes = [
      { key: 'a', root: wrong(0) },
      { key: 'b', root: right },
    ];
    const tx = emptyTx();
    const c = court(tx);
    await v.onPassed({ who: 'c', record: leased(replicated, 1, wrong(40), { holder: 'c', votes }), unit }, c.court, null);
    expect(c.calls).toEqual([
      'pending c 3 replicas disagree; the host computes the unit to settle them, and every voter hears the outcome with its next message',
    ]);
    const [waiting] = tx.batch().units!;
    // Durable: a restarted host knows this unit waits for its own computation.
    expect(waiting).toMatchObject({ state: 'verifying', holder: null, awaiting: Awaiting.Recompute });
    expect(tx.settlements()).toEqual([{ unitId: 'h/1', voters: ['a', 'b', 'c'] }]);
    const settled = emptyTx();
    const s = court(settled);
    await v.onRecomputed!(waiting!, { root: right }, s.court);
    expect(s.calls).toEqual([
      "credit b accepted verified: 3 replicas disagreed and the host's own computation matches this one",
      "penalise a 3 replicas disagreed and the host's own computation does not match this one",
      "penalise c 3 replicas disagreed and the host's own computation does not match this one",
    ]);
    expect(settled.batch().units).toMatchObject([{ state: 'accepted', holder: 'b', root: right }]);
    expect(settled.batch().units![0]!.awaiting).toBeUndefined();
  });
});
