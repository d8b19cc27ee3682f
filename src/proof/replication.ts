import { ErrorCode, TabgridError } from '../errors';

/**
 * Quorum for a replicated unit: the same unit computed by different keys, each reporting a
 * value (its commitment digest or its Merkle root) that must agree bit for bit. Only for
 * deterministic kernels (sha256-batch, matmul-modp): f32 results differ between devices and are
 * checked by freivalds-f32.ts instead.
 *
 * Rules, with the default of at most three replicas:
 *  - two replicas from different keys that agree settle the unit (accepted);
 *  - two that disagree call for a third, which decides by majority of three;
 *  - three that all differ leave the unit unresolved: no value has two votes, at least two of
 *    the keys are wrong and we cannot tell which. The set then refuses more replicas; the
 *    caller either verifies the values another way (recompute or Freivalds, then `settle`) or
 *    marks the unit failed and reissues it. A larger `maxReplicas` instead keeps asking for one
 *    more replica until some value has two votes or the limit is reached.
 * The same key twice is refused: a key cannot vote for itself. Different keys of one person can
 * still collude, which is why replication goes with the trust ledger (new keys are always
 * verified) rather than replacing it.
 */

export const QuorumStatus = {
  /** Fewer than two replicas so far. */
  Pending: 'pending',
  /** Replicas disagree and no value has two votes yet: issue another. */
  NeedsReplica: 'needs-replica',
  Accepted: 'accepted',
  /** maxReplicas reached with no two agreeing. */
  Unresolved: 'unresolved',
} as const;
export type QuorumStatus = (typeof QuorumStatus)[keyof typeof QuorumStatus];

export interface QuorumOutcome {
  readonly status: QuorumStatus;
  /** The agreed value, once accepted. */
  readonly value?: string;
  /** Keys that reported the accepted value (empty until accepted). */
  readonly right: readonly string[];
  /** Keys that reported anything else (empty until accepted). */
  readonly wrong: readonly string[];
  /** How many more replicas to issue now (0 when accepted or unresolved). */
  readonly wanted: number;
}

/** Agreeing replicas needed to accept. */
const QUORUM = 2;

export class ReplicaSet {
  private readonly votes = new Map<string, string>();
  private settled?: string;

  constructor(readonly maxReplicas = 3) {
    if (!Number.isInteger(maxReplicas) || maxReplicas < 3)
      throw new TabgridError(ErrorCode.BadInput, `maxReplicas = ${maxReplicas} must be an integer ≥ 3 (a tie needs a third)`);
  }

  has(key: string): boolean {
    return this.votes.has(key);
  }

  get size(): number {
    return this.votes.size;
  }

  /**
   * Records `key`'s value. Throws BadInput for a key already recorded, and for a replica past
   * an unresolved outcome. A replica arriving after acceptance (a late lease) is recorded and
   * judged against the accepted value.
   */
  add(key: string, value: string): QuorumOutcome {
    if (this.votes.has(key)) throw new TabgridError(ErrorCode.BadInput, `key ${key} already reported a replica of this unit`);
    if (this.outcome().status === QuorumStatus.Unresolved)
      throw new TabgridError(ErrorCode.BadInput, `the unit is unresolved after ${this.votes.size} replicas`);
    this.votes.set(key, value);
    return this.outcome();
  }

  /** Settles the unit on `value` established by other means (e.g. a recompute after an unresolved quorum). */
  settle(value: string): QuorumOutcome {
    this.settled = value;
    return this.outcome();
  }

  outcome(): QuorumOutcome {
    const value = this.settled ?? this.winner();
    if (value !== undefined) {
      const right: string[] = [];
      const wrong: string[] = [];
      for (const [key, v] of this.votes) (v === value ? right : wrong).push(key);
      return { status: QuorumStatus.Accepted, value, right, wrong, wanted: 0 };
    }
    const n = this.votes.size;
    if (n < QUORUM) return { status: QuorumStatus.Pending, right: [], wrong: [], wanted: QUORUM - n };
    if (n >= this.maxReplicas) return { status: QuorumStatus.Unresolved, right: [], wrong: [], wanted: 0 };
    return { status: QuorumStatus.NeedsReplica, right: [], wrong: [], wanted: 1 };
  }

  /** The first value (in arrival order of its second vote) to reach QUORUM votes. */
  private winner(): string | undefined {
    const counts = new Map<string, number>();
    for (const v of this.votes.values()) {
      const c = (counts.get(v) ?? 0) + 1;
      if (c >= QUORUM) return v;
      counts.set(v, c);
    }
    return undefined;
  }
}
