import { ErrorCode, TabgridError } from '../errors';
import { cryptoRandom, type Random } from './random';

/**
 * Adaptive trust, as BOINC's adaptive replication does it: a key's results are always verified
 * until it has returned `warmup` valid results in a row; after that each result is verified
 * with a probability that shrinks by `decay` per further valid result, down to `minCheckRate`.
 * One invalid result resets the streak (back to always verifying), and `banAfter` invalid
 * results within the job ban the key. Fresh keys are free to make, so a new key is worth
 * nothing: it starts where a cheater who was just caught starts.
 *
 * The floor is > 0 on purpose: a cheater who waits out the warm-up is still checked at
 * `minCheckRate`, so cheating on x results goes unnoticed with probability ≤ (1 − minCheckRate)^x.
 * Results accepted unverified are a policy risk the job accepts; the host keeps its cheap
 * checks (the Merkle openings) on every result, and may re-check a banned key's past results.
 */

export interface TrustPolicy {
  /** Consecutive valid results before spot checks start (before that, every result is verified). */
  readonly warmup: number;
  /** The check probability never drops below this, in (0, 1]. */
  readonly minCheckRate: number;
  /** Each valid result past the warm-up multiplies the check probability by this, in (0, 1]. */
  readonly decay: number;
  /** Invalid results (within the job) that ban the key; ≥ 1. */
  readonly banAfter: number;
}

export const DEFAULT_TRUST_POLICY: TrustPolicy = { warmup: 10, minCheckRate: 0.05, decay: 0.9, banAfter: 3 };

export const TrustLevel = { New: 'new', Trusted: 'trusted', Suspect: 'suspect', Banned: 'banned' } as const;
export type TrustLevel = (typeof TrustLevel)[keyof typeof TrustLevel];

/** One key's record; plain data, so a ledger serializes as JSON. */
export interface TrustState {
  /** Valid results since the last invalid one. */
  readonly streak: number;
  readonly valid: number;
  readonly invalid: number;
  readonly banned: boolean;
}

export interface TrustSnapshot {
  readonly version: 1;
  readonly entries: readonly (readonly [string, TrustState])[];
}

const FRESH: TrustState = { streak: 0, valid: 0, invalid: 0, banned: false };

/**
 * A policy from a job file: missing fields take DEFAULT_TRUST_POLICY's values; unknown fields
 * and out-of-range values are refused (a typo must not silently weaken checking).
 */
export function validateTrustPolicy(raw: unknown): TrustPolicy {
  if (raw === undefined) return DEFAULT_TRUST_POLICY;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('trust policy must be an object');
  const fields = raw as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!(name in DEFAULT_TRUST_POLICY)) throw bad(`trust policy has an unknown field "${name}" (known: ${Object.keys(DEFAULT_TRUST_POLICY).join(', ')})`);
  }
  const pick = (name: keyof TrustPolicy, ok: (v: number) => boolean, range: string): number => {
    const v = fields[name] ?? DEFAULT_TRUST_POLICY[name];
    if (typeof v !== 'number' || !ok(v)) throw bad(`trust policy ${name} = ${JSON.stringify(v)} must be ${range}`);
    return v;
  };
  return {
    warmup: pick('warmup', (v) => Number.isInteger(v) && v >= 0 && v <= 1_000_000, 'an integer in 0..1000000'),
    minCheckRate: pick('minCheckRate', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    decay: pick('decay', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    banAfter: pick('banAfter', (v) => Number.isInteger(v) && v >= 1 && v <= 1_000_000, 'an integer in 1..1000000'),
  };
}

/** Trust per key (volunteer identity), for one job. */
export class TrustLedger {
  private readonly states = new Map<string, TrustState>();

  constructor(readonly policy: TrustPolicy = DEFAULT_TRUST_POLICY) {}

  state(key: string): TrustState {
    return this.states.get(key) ?? FRESH;
  }

  /** Records a verified result (valid or not) and returns the key's new state. */
  record(key: string, valid: boolean): TrustState {
    const s = this.state(key);
    const next: TrustState = valid
      ? { ...s, streak: s.streak + 1, valid: s.valid + 1 }
      : { ...s, streak: 0, invalid: s.invalid + 1, banned: s.banned || s.invalid + 1 >= this.policy.banAfter };
    this.states.set(key, next);
    return next;
  }

  isBanned(key: string): boolean {
    return this.state(key).banned;
  }

  /** The probability that this key's next result is verified: 1 during the warm-up and when banned. */
  checkProbability(key: string): number {
    const { streak, banned } = this.state(key);
    const { warmup, minCheckRate, decay } = this.policy;
    if (banned || streak < warmup) return 1;
    return Math.max(minCheckRate, decay ** (streak - warmup + 1));
  }

  /** Whether to verify this key's next result; `random` must be unpredictable to volunteers. */
  shouldVerify(key: string, random: Random = cryptoRandom): boolean {
    const p = this.checkProbability(key);
    return p >= 1 || random() < p;
  }

  /** For display: banned; suspect (an invalid result, warm-up not yet redone); new (warming up); trusted. */
  level(key: string): TrustLevel {
    const { streak, invalid, banned } = this.state(key);
    if (banned) return TrustLevel.Banned;
    if (streak >= this.policy.warmup) return TrustLevel.Trusted;
    return invalid > 0 ? TrustLevel.Suspect : TrustLevel.New;
  }

  snapshot(): TrustSnapshot {
    return { version: 1, entries: [...this.states] };
  }

  /** A ledger from a snapshot (e.g. parsed JSON), checked field by field. */
  static restore(policy: TrustPolicy, snapshot: unknown): TrustLedger {
    const s = snapshot as Partial<TrustSnapshot> | null;
    if (typeof s !== 'object' || s === null || s.version !== 1 || !Array.isArray(s.entries)) throw bad('not a version-1 trust snapshot');
    const ledger = new TrustLedger(policy);
    for (const entry of s.entries as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw bad('a trust snapshot entry is not [key, state]');
      ledger.states.set(entry[0], checkState(entry[0], entry[1]));
    }
    return ledger;
  }
}

function checkState(key: string, raw: unknown): TrustState {
  const s = raw as Record<string, unknown> | null;
  const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (typeof s !== 'object' || s === null || !count(s.streak) || !count(s.valid) || !count(s.invalid) || typeof s.banned !== 'boolean') {
    throw bad(`trust state of ${key} is malformed`);
  }
  if ((s.streak as number) > (s.valid as number)) throw bad(`trust state of ${key} has a streak longer than its valid count`);
  return { streak: s.streak as number, valid: s.valid as number, invalid: s.invalid as number, banned: s.banned };
}

function bad(message: string): TabgridError {
  return new TabgridError(ErrorCode.BadInput, message);
}
