import type { Hasher } from '../../hash/sha256-cpu';
import type { Random } from '../../proof/random';
import type { HostMessage, Opening, Verdict, WorkUnit } from '../../protocol';
import type { Tx, UnitRecord } from '../host-state';
import type { Settlement } from '../settler';

/**
 * One verifier per policy kind (BOINC's validator plugins): the policy's insides, behind one
 * interface. The Judge (judge.ts) does everything around them: the result's MAC, leases and
 * holders, duplicates and re-sent results, the spot-check step of adaptive trust, keeping the
 * output of jobs that collect it, and the verdicts (credit, receipts, trust, requeueing). A
 * verifier says what a result needs next (a Step); the Judge stores what the unit now awaits
 * (store.ts `Awaiting`) and answers.
 */
export interface Verifier {
  /** How the spot-check step treats this policy's results. */
  readonly spotCheck: SpotCheck;
  /** Whether a result lists shares (read by the policy); a result of any other policy that lists some is refused. */
  readonly shares: boolean;
  /** An authenticated result from the unit's holder, after the spot-check step. */
  onResult(c: ResultCase): Step;
  /** The openings answering this policy's challenge (the unit's `challenge`). */
  onOpenings?(c: Case, openings: readonly Opening[]): Step;
  /** The whole output, when this policy asked for it as its check (a SendRows step). */
  onRows?(c: Case, data: Uint8Array): Step;
  /** A result that passed its check, its output kept if the job collects it: settles the unit (accepts it, or counts its vote). */
  onPassed(c: Case, court: Court, solutions: readonly number[] | null): Promise<HostMessage>;
  /** The host's own computation of a unit this policy left awaiting it (Awaiting.Recompute). */
  onRecomputed?(record: UnitRecord, settlement: Settlement, court: Court): Promise<void>;
}

/**
 * Adaptive trust (proof/trust.ts) is a step every result goes through, whatever the policy: the
 * Judge asks the job's trust ledger whether this key's result is checked or spared ("trusted")
 * before the verifier sees it. It is a step rather than a policy kind because it composes with
 * every check (a challenge, Freivalds, replication) instead of replacing one; what sparing
 * means is the verifier's to say: accepting on the commitment alone, or for replication,
 * comparing with a replica on file.
 */
export const SpotCheck = {
  /** Under the job's `trust`, a key past its warm-up is checked only when the ledger draws it. */
  WhenDrawn: 'when-drawn',
  /** Every result is checked, trust or not (rechecking proof of work costs less than trusting it). */
  Always: 'always',
} as const;
export type SpotCheck = (typeof SpotCheck)[keyof typeof SpotCheck];

/** What a verifier may use besides the case: the host's hash and its randomness (picked after the commitment). */
export interface VerifierTools {
  readonly hash: Hasher;
  readonly random: Random;
}

/** A unit under judgement, as a verifier sees it. */
export interface Case {
  /** The key whose message is being judged. */
  readonly who: string;
  /** The unit's record, with the committed root. */
  readonly record: UnitRecord;
  readonly unit: WorkUnit;
}

export interface ResultCase extends Case {
  /** The shares the result lists (proof of work). */
  readonly shares: readonly number[] | undefined;
  /** The spot-check step spared this result: its key is trusted and was not drawn for a check. */
  readonly trusted: boolean;
}

export const StepKind = {
  /** Ask for the openings of `indices`. */
  Challenge: 'challenge',
  /** Ask for the whole output: it is the check (onRows). */
  SendRows: 'send-rows',
  /** The check passed: the Judge keeps the output if the job collects it, then calls onPassed. */
  Passed: 'passed',
  /** The check was spared (a trusted key): the Judge keeps the output if the job collects it, then accepts on the commitment. */
  Trusted: 'trusted',
  /** The check failed: the result is rejected. */
  Failed: 'failed',
} as const;
export type StepKind = (typeof StepKind)[keyof typeof StepKind];

export type Step =
  | { readonly kind: typeof StepKind.Challenge; readonly indices: number[] }
  | { readonly kind: typeof StepKind.SendRows }
  | { readonly kind: typeof StepKind.Passed; readonly solutions?: readonly number[] }
  | { readonly kind: typeof StepKind.Trusted }
  | { readonly kind: typeof StepKind.Failed; readonly reason: string };

export const passed = (solutions?: readonly number[]): Step => (solutions ? { kind: StepKind.Passed, solutions } : { kind: StepKind.Passed });
export const failed = (reason: string): Step => ({ kind: StepKind.Failed, reason });
export const TRUSTED: Step = { kind: StepKind.Trusted };
export const SEND_ROWS: Step = { kind: StepKind.SendRows };

/**
 * What a verifier may ask of the Judge when it settles a unit: verdicts for any voter, staged
 * in the message's Tx with the unit's new record.
 */
export interface Court {
  readonly tx: Tx;
  readonly now: number;
  /** Accepts the unit on `who`'s result: credit, a signed receipt, and when `verified`, a valid result for its trust. */
  accept(who: string, record: UnitRecord, verified: boolean, solutions?: readonly number[] | null): Promise<HostMessage>;
  /** Credits `who` for the unit `accepted` (already staged as accepted): a signed receipt and a valid result for its trust. */
  credit(who: string, accepted: UnitRecord, reason: string): Promise<HostMessage>;
  /** Counts a rejection against `who`, and an invalid result against its trust (which may ban it). */
  penalise(who: string, record: UnitRecord, reason: string): HostMessage;
  /** A verdict without credit (pending, or a rejection nobody is blamed for). */
  verdict(who: string, unitId: string, verdict: Verdict, reason: string): HostMessage;
  /** Whether `key` is banned from the job: its word no longer counts. */
  isBanned(jobId: string, key: string): boolean;
  /** Whether the host has room to compute a unit itself for these voters (settler.ts). */
  hasRoom(jobId: string, voters: readonly string[]): boolean;
}
