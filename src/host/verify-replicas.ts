import { QuorumStatus, ReplicaSet } from '../proof/replication';
import { madeBy, type UnitRecord } from './host-state';
import { Awaiting, StoredUnitState as UnitState, type Vote } from './store/store';

/**
 * The host's side of replication: a unit's stored votes plus a new one, judged by the quorum
 * rules of proof/replication.ts. Only one key holds a replicated unit's lease at a time (the
 * unit goes back to the queue between replicas, barred to the keys that already voted), so a
 * unit's votes grow one by one and the unit record is their only home.
 */
export interface ReplicaDecision {
  readonly status: QuorumStatus;
  /** The votes after this one (what to store unless the unit is reset). */
  readonly votes: readonly Vote[];
  /** The agreed root, once accepted. */
  readonly root?: string;
  /** Keys that reported the agreed root, and keys that reported anything else (once accepted). */
  readonly right: readonly string[];
  readonly wrong: readonly string[];
  /** Set when the host settled the unit by computing it itself. */
  readonly recomputed?: boolean;
}

/**
 * Adds `key`'s root to the unit's votes. Votes of keys banned since they voted (`discounted`)
 * no longer count: a banned key's word cannot settle another key's unit.
 */
export function castVote(u: UnitRecord, key: string, root: string, discounted: (key: string) => boolean, maxReplicas = MAX_REPLICAS): ReplicaDecision {
  const set = new ReplicaSet(maxReplicas);
  // The vote keeps what computed its result (the unit's, as judged now): the accepted unit takes its holder's.
  const votes = [...(u.votes ?? []).filter((v) => v.key !== key && !discounted(v.key)), { key, root, ...madeBy(u) }];
  let outcome = set.outcome();
  for (const v of votes) outcome = set.add(v.key, v.root);
  return outcome.value === undefined
    ? { status: outcome.status, votes, right: [], wrong: [] }
    : { status: outcome.status, votes, root: outcome.value, right: outcome.right, wrong: outcome.wrong };
}

/**
 * Replicas that all disagree, settled by the host's own computation of the unit (`root`):
 * the keys that reported it are right, every other key is wrong. Accepted when some key got it
 * right; otherwise every replica was wrong, which is now known rather than merely unresolved.
 */
export function decideByRecompute(d: ReplicaDecision, root: string): ReplicaDecision {
  const right = d.votes.filter((v) => v.root === root).map((v) => v.key);
  const wrong = d.votes.filter((v) => v.root !== root).map((v) => v.key);
  return { status: right.length > 0 ? QuorumStatus.Accepted : QuorumStatus.Unresolved, votes: d.votes, root, right, wrong, recomputed: true };
}

/** Two agreeing keys settle a unit; after a disagreement a third decides. */
export const MAX_REPLICAS = 3;

/**
 * Replicas asked for when three disagree and the host has no room to compute the unit itself
 * (settler.ts): a fourth and fifth key decide by majority instead.
 */
export const MAX_REPLICAS_WITHOUT_HOST = 5;

/**
 * Whether a replicated unit waits for the host's own computation: three replicas disagreed
 * (or five, without room for the host earlier), and the Settler computes it off the message
 * queue. Such a unit is verifying with no holder (its voters' leases ended with their votes).
 */
export function awaitingRecompute(u: UnitRecord): boolean {
  return u.state === UnitState.Verifying && u.awaiting === Awaiting.Recompute;
}

/** Words for a verdict on a replica, for the volunteer and the verification log. */
export function replicaReason(d: ReplicaDecision, key: string): string {
  switch (d.status) {
    case QuorumStatus.Pending:
      return 'replica 1 of 2 on file; credit follows when another key reports the same result';
    case QuorumStatus.NeedsReplica:
      return d.votes.length >= MAX_REPLICAS ? `${d.votes.length} replicas disagree; another key decides` : 'replicas disagree; a third key decides';
    case QuorumStatus.Accepted:
      if (d.recomputed)
        return d.right.includes(key)
          ? `verified: ${d.votes.length} replicas disagreed and the host's own computation matches this one`
          : `${d.votes.length} replicas disagreed and the host's own computation does not match this one`;
      return d.right.includes(key)
        ? `verified: ${d.right.length} keys reported the same result`
        : `the result disagrees with the ${d.right.length} keys that agree on this unit`;
    case QuorumStatus.Unresolved:
      return d.recomputed
        ? `${d.votes.length} replicas all disagree and none matches the host's own computation; the unit goes to other keys`
        : `${d.votes.length} replicas disagree; the host computes the unit to settle them, and every voter hears the outcome with its next message`;
  }
}
