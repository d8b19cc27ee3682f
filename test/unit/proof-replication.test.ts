import { describe, expect, it } from 'vitest';
import { QuorumStatus, ReplicaSet } from '../../src/proof/replication';
import { TrustLedger } from '../../src/proof/trust';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

describe('replica quorum', () => {
  it('accepts two agreeing replicas from different keys', () => {
    const set = new ReplicaSet();
    expect(set.outcome()).toEqual({ status: QuorumStatus.Pending, right: [], wrong: [], wanted: 2 });
    expect(set.add('k1', A)).toEqual({ status: QuorumStatus.Pending, right: [], wrong: [], wanted: 1 });
    expect(set.add('k2', A)).toEqual({ status: QuorumStatus.Accepted, value: A, right: ['k1', 'k2'], wrong: [], wanted: 0 });
  });

  it('refuses the same key twice, whether it repeats or changes its answer', () => {
    const set = new ReplicaSet();
    set.add('k1', A);
    expect(() => set.add('k1', A)).toThrow(/already/);
    expect(() => set.add('k1', B)).toThrow(/already/);
    expect(set.outcome().status).toBe(QuorumStatus.Pending);
  });

  it('asks for a third on disagreement, which decides either way', () => {
    for (const [third, winner, right, wrong] of [
      [A, A, ['k1', 'k3'], ['k2']],
      [B, B, ['k2', 'k3'], ['k1']],
    ] as const) {
      const set = new ReplicaSet();
      set.add('k1', A);
      expect(set.add('k2', B)).toEqual({ status: QuorumStatus.NeedsReplica, right: [], wrong: [], wanted: 1 });
      expect(set.add('k3', third)).toEqual({ status: QuorumStatus.Accepted, value: winner, right, wrong, wanted: 0 });
    }
  });

  it('leaves three different answers unresolved, refuses more, and can be settled by a recompute', () => {
    const set = new ReplicaSet();
    set.add('k1', A);
    set.add('k2', B);
    expect(set.add('k3', C)).toEqual({ status: QuorumStatus.Unresolved, right: [], wrong: [], wanted: 0 });
    expect(() => set.add('k4', A)).toThrow(/unresolved/);
    expect(set.settle(B)).toEqual({ status: QuorumStatus.Accepted, value: B, right: ['k2'], wrong: ['k1', 'k3'], wanted: 0 });
    // Settled on a value nobody reported: everyone was wrong.
    expect(set.settle('d'.repeat(64)).wrong).toEqual(['k1', 'k2', 'k3']);
  });

  it('with more replicas allowed keeps asking until two agree', () => {
    const set = new ReplicaSet(5);
    set.add('k1', A);
    set.add('k2', B);
    expect(set.add('k3', C).status).toBe(QuorumStatus.NeedsReplica);
    expect(set.add('k4', C)).toEqual({ status: QuorumStatus.Accepted, value: C, right: ['k3', 'k4'], wrong: ['k1', 'k2'], wanted: 0 });
    expect(() => new ReplicaSet(2)).toThrow(/≥ 3/);
  });

  it('judges a late replica against the accepted value without changing it', () => {
    const set = new ReplicaSet();
    set.add('k1', A);
    set.add('k2', A);
    expect(set.add('k3', B)).toEqual({ status: QuorumStatus.Accepted, value: A, right: ['k1', 'k2'], wrong: ['k3'], wanted: 0 });
  });

  it('feeds right and wrong keys to the trust ledger', () => {
    const ledger = new TrustLedger({ warmup: 2, minCheckRate: 0.1, decay: 0.5, banAfter: 1 });
    const set = new ReplicaSet();
    set.add('honest-1', A);
    set.add('cheat', B);
    const { right, wrong } = set.add('honest-2', A);
    for (const key of right) ledger.record(key, true);
    for (const key of wrong) ledger.record(key, false);
    expect(ledger.isBanned('cheat')).toBe(true);
    expect(ledger.state('honest-1').streak).toBe(1);
    expect(ledger.state('honest-2').streak).toBe(1);
  });
});
