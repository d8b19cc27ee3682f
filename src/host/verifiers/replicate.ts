import { QuorumStatus } from '../../proof/replication';
import { Verdict, type HostMessage } from '../../protocol';
import { madeBy, requeued, withoutMadeBy, type Tx, type UnitRecord } from '../host-state';
import type { Settlement } from '../settler';
import { Awaiting, StoredUnitState as UnitState, type Vote } from '../store/store';
import { castVote, decideByRecompute, MAX_REPLICAS, MAX_REPLICAS_WITHOUT_HOST, replicaReason, type ReplicaDecision } from '../verify-replicas';
import { challenge, openedRight } from './challenge';
import type { ReplicatePolicy } from './policy';
import { passed, SpotCheck, TRUSTED, type Court, type Verifier, type VerifierTools } from './verifier';

const UNSETTLED = 'replicas all disagree and the host had no room to compute the unit; it starts over with other keys';

/**
 * Replication: a unit is accepted when two keys report the same root; on a disagreement a third
 * decides, and if three all differ the host computes the unit itself (settler.ts), or with no
 * room for that, a fourth and fifth key vote (verify-replicas.ts). Keys cost nothing to make, so
 * a replica from a key without an earned record (any key the spot-check step does not spare) is
 * challenged like a result of the challenge policy before its vote counts: two free keys
 * agreeing on a made-up root would otherwise settle a unit. A trusted key's result is accepted
 * alone, unless a replica is on file (comparing costs nothing).
 */
export function replicateVerifier(policy: ReplicatePolicy, { hash, random }: VerifierTools): Verifier {
  return {
    spotCheck: SpotCheck.WhenDrawn,
    shares: false,
    onResult: (c) => (!c.trusted ? challenge(c, policy.samples, random) : (c.record.votes?.length ?? 0) === 0 ? TRUSTED : passed()),
    onOpenings: (c, openings) => openedRight(c, openings, hash),
    // A replica that passed its challenge (or a trusted key's, with a replica on file) votes now.
    onPassed: (c, court) => vote(c.who, c.record, court),
    onRecomputed: (record, settlement, court) => recomputed(record, settlement, court),
  };
}

/**
 * A replica's vote. Until a quorum the unit goes back to the queue (barred to the keys that
 * voted) and the volunteer hears `pending`; at a quorum every agreeing key is credited and every
 * other key rejected, and the keys not speaking now hear it with their next message. Three
 * different roots are settled by the host computing the unit itself, off the message queue
 * (settler.ts): the unit waits, and every voter hears the outcome later. If the host has no room
 * for that (its budget per job and per key), more keys vote instead.
 */
async function vote(who: string, u: UnitRecord, court: Court): Promise<HostMessage> {
  const { tx } = court;
  const discounted = (key: string) => court.isBanned(u.jobId, key);
  const standing = (u.votes ?? []).filter((v) => v.key !== who && !discounted(v.key));
  const voters = [...standing.map((v) => v.key), who];
  // A third disagreeing vote leaves the unit to the host when it has room; otherwise up to five keys vote.
  const maxReplicas = standing.length < MAX_REPLICAS && court.hasRoom(u.jobId, voters) ? MAX_REPLICAS : MAX_REPLICAS_WITHOUT_HOST;
  const d = castVote(u, who, u.root!, discounted, maxReplicas);
  dropLosingOutputs(u, d.votes, undefined, tx);
  switch (d.status) {
    case QuorumStatus.Pending:
    case QuorumStatus.NeedsReplica:
      tx.putUnit({ ...requeued(u), votes: d.votes });
      return court.verdict(who, u.unitId, Verdict.Pending, replicaReason(d, who));
    case QuorumStatus.Unresolved: {
      if (!court.hasRoom(u.jobId, voters)) {
        // No room even after five votes: the unit starts over with other keys; nobody is blamed, since the host did not check.
        tx.putUnit({ ...requeued(u), votes: [], rejectedBy: [...u.rejectedBy, ...voters] });
        dropLosingOutputs(u, d.votes, null, tx);
        for (const key of voters.filter((k) => k !== who)) tx.notify(key, court.verdict(key, u.unitId, Verdict.Rejected, UNSETTLED));
        return court.verdict(who, u.unitId, Verdict.Rejected, UNSETTLED);
      }
      tx.putUnit({ ...u, state: UnitState.Verifying, holder: null, leaseDeadline: null, challenge: null, votes: d.votes, awaiting: Awaiting.Recompute });
      tx.settle(u.unitId, voters);
      return court.verdict(who, u.unitId, Verdict.Pending, replicaReason(d, who));
    }
    case QuorumStatus.Accepted:
      return (await conclude(who, u, d, court))!;
  }
}

/**
 * The host's own computation of a unit awaiting it is in: the keys that reported its root are
 * credited, every other voter rejected; all hear it with their next message. If the computation
 * failed, the unit starts over with other keys and nobody is blamed.
 */
async function recomputed(u: UnitRecord, settlement: Settlement, court: Court): Promise<void> {
  const votes = (u.votes ?? []).filter((v) => !court.isBanned(u.jobId, v.key));
  if ('error' in settlement) {
    court.tx.putUnit({ ...requeued(u), votes: [] });
    dropLosingOutputs(u, votes, null, court.tx);
    return;
  }
  const undecided: ReplicaDecision = { status: QuorumStatus.Unresolved, votes, right: [], wrong: [] };
  await conclude(undefined, u, decideByRecompute(undecided, settlement.root), court);
}

/**
 * Credits the keys that agree with a settled unit and rejects the others; `who`, if speaking
 * now, gets its verdict as the reply, the others with their next message. Every replica wrong
 * (the host's computation matches none): the unit starts over with other keys.
 */
async function conclude(who: string | undefined, u: UnitRecord, settled: ReplicaDecision, court: Court): Promise<HostMessage | undefined> {
  const { tx, now } = court;
  const { awaiting: _, ...rest } = u;
  const holder = who !== undefined && settled.right.includes(who) ? who : (settled.right[0] ?? null);
  const accepted: UnitRecord = {
    ...withoutMadeBy(rest),
    // What computed the holder's result, from its vote: the unit's own fields are the last speaker's.
    ...madeBy(settled.votes.find((v) => v.key === holder)),
    state: UnitState.Accepted,
    holder,
    root: settled.root!,
    votes: settled.votes,
    challenge: null,
    leaseDeadline: null,
    acceptedAt: now,
    solutions: null,
  };
  if (settled.status === QuorumStatus.Unresolved) tx.putUnit({ ...requeued(u), votes: [], rejectedBy: [...u.rejectedBy, ...settled.wrong] });
  else tx.putUnit(accepted);
  dropLosingOutputs(u, settled.votes, settled.status === QuorumStatus.Accepted ? settled.root! : null, tx);
  let reply: HostMessage | undefined;
  const tell = (key: string, message: HostMessage) => (key === who ? (reply = message) : tx.notify(key, message));
  for (const key of settled.right) tell(key, await court.credit(key, accepted, replicaReason(settled, key)));
  for (const key of settled.wrong) tell(key, court.penalise(key, accepted, replicaReason(settled, key)));
  return reply;
}

/**
 * Collecting jobs keep one output per root voted for: drop those of votes that no longer
 * count, and once the unit is settled (`keep`: the winning root, or null for none) every other.
 */
function dropLosingOutputs(u: UnitRecord, counted: readonly Vote[], keep: string | null | undefined, tx: Tx): void {
  const roots = new Set(counted.map((v) => v.root));
  for (const r of new Set((u.votes ?? []).map((v) => v.root))) if (!roots.has(r)) tx.dropOutput(u.unitId, r);
  if (keep !== undefined) for (const r of roots) if (r !== keep) tx.dropOutput(u.unitId, r);
}
