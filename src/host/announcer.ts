import { Verdict, type HostMessage } from '../protocol';
import { madeBy, type HostState, type Tx, type UnitRecord } from './host-state';
import type { AcceptedResult, HostCoreOptions } from './host-options';

const OWED_PER_KEY = 64;
const OWED_KEYS = 10_000;

/** What the host reports of an accepted unit. */
export function acceptedResult(u: UnitRecord): AcceptedResult {
  return { unitId: u.unitId, volunteer: u.holder!, root: u.root!, ...(u.solutions ? { solutions: u.solutions } : {}), ...madeBy(u) };
}

/**
 * Hands committed verdicts on: to the shell's callbacks (onVerdict, onAccepted once per unit,
 * onRejected, log), and to volunteers that were not speaking when their unit was settled (the
 * other replicas of a replicated unit), whose verdicts ride on the replies to their next
 * message. Those are kept in memory only: after a host restart the receipts are still on file,
 * and a re-sent result fetches them as a duplicate.
 */
export class Announcer {
  private readonly owed = new Map<string, HostMessage[]>();

  constructor(
    private readonly state: HostState,
    private readonly options: HostCoreOptions,
    private readonly clock: () => number,
  ) {}

  /**
   * After `tx` is committed and applied: announces everything, and returns the speaker's
   * replies plus what it is owed (nothing without a speaker: a settlement the host made itself).
   */
  committed(speaker: string | undefined, replies: HostMessage[], tx: Tx): HostMessage[] {
    const seen = new Set<string>();
    if (speaker !== undefined) this.announce(speaker, replies, seen);
    for (const { to, message } of tx.notices()) {
      this.owe(to, message);
      this.announce(to, [message], seen);
    }
    return speaker === undefined ? [] : [...replies, ...this.take(speaker)];
  }

  /**
   * Bounded, since keys that voted may never come back: the newest OWED_PER_KEY verdicts per key
   * and OWED_KEYS keys, the longest unheard dropped first. What is dropped is not lost: the
   * receipts are on file, and a re-sent result fetches its verdict as a duplicate.
   */
  owe(to: string, message: HostMessage): void {
    const list = [...(this.owed.get(to) ?? []), message].slice(-OWED_PER_KEY);
    this.owed.delete(to);
    this.owed.set(to, list);
    if (this.owed.size > OWED_KEYS) this.owed.delete(this.owed.keys().next().value!);
  }

  /** The verdicts owed to `volunteer`, now handed over. */
  take(volunteer: string): HostMessage[] {
    const owed = this.owed.get(volunteer) ?? [];
    this.owed.delete(volunteer);
    return owed;
  }

  private announce(who: string, replies: HostMessage[], seen: Set<string>): void {
    for (const r of replies) {
      if (r.type !== 'verdict') continue;
      this.options.onVerdict?.({ at: this.clock(), unitId: r.unitId, volunteer: who, verdict: r.verdict, reason: r.reason, credit: r.credit });
      if (r.verdict === Verdict.Accepted) {
        // A replicated unit is accepted once, however many keys it credits.
        if (!seen.has(r.unitId)) this.options.onAccepted?.(acceptedResult(this.state.unit(r.unitId)!));
        seen.add(r.unitId);
        const p = this.state.counts();
        this.options.log?.(`accepted ${r.unitId} from ${who} (${p.accepted}/${p.total})`);
      } else if (r.verdict === Verdict.Rejected) {
        this.options.onRejected?.(r.unitId, who, r.reason);
        this.options.log?.(`rejected ${r.unitId} from ${who}: ${r.reason}`);
      }
    }
  }
}
