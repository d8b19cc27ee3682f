import { describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { DEFAULT_TRUST_POLICY, TrustLedger, TrustLevel, validateTrustPolicy, type TrustPolicy } from '../../src/proof/trust';
import { seededRandom } from '../../src/work/seeded';

const policy: TrustPolicy = { warmup: 4, minCheckRate: 0.1, decay: 0.5, banAfter: 2 };

function refused(raw: unknown, pattern: RegExp): void {
  try {
    validateTrustPolicy(raw);
  } catch (e) {
    expect(isTabgridError(e, 'bad-input')).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('trust policy from a job file', () => {
  it('fills missing fields from the defaults and keeps given ones', () => {
    expect(validateTrustPolicy(undefined)).toEqual(DEFAULT_TRUST_POLICY);
    expect(validateTrustPolicy({})).toEqual(DEFAULT_TRUST_POLICY);
    expect(validateTrustPolicy({ warmup: 0, minCheckRate: 1 })).toEqual({ ...DEFAULT_TRUST_POLICY, warmup: 0, minCheckRate: 1 });
    expect(validateTrustPolicy(policy)).toEqual(policy);
  });

  it('refuses typos, wrong types and values that would weaken checking', () => {
    refused(null, /object/);
    refused([1], /object/);
    refused({ warmpu: 3 }, /unknown field "warmpu"/);
    refused({ warmup: -1 }, /warmup = -1/);
    refused({ warmup: 2.5 }, /warmup/);
    refused({ warmup: '5' }, /warmup = "5"/);
    refused({ minCheckRate: 0 }, /minCheckRate = 0 must be a number in \(0, 1\]/);
    refused({ minCheckRate: 1.5 }, /minCheckRate/);
    refused({ decay: 0 }, /decay/);
    refused({ decay: NaN }, /decay/);
    refused({ banAfter: 0 }, /banAfter/);
  });
});

describe('trust ledger', () => {
  it('always verifies a new key until the warm-up, then less and less, down to the floor', () => {
    const ledger = new TrustLedger(policy);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(ledger.checkProbability('k'));
      ledger.record('k', true);
    }
    expect(seen).toEqual([1, 1, 1, 1, 0.5, 0.25, 0.125, 0.1, 0.1, 0.1]);
    expect(ledger.level('k')).toBe(TrustLevel.Trusted);
    // A key never seen is new and always verified, whatever the random draw.
    expect(ledger.level('stranger')).toBe(TrustLevel.New);
    expect(ledger.shouldVerify('stranger', () => 0.999999)).toBe(true);
  });

  it('spot-checks a trusted key at the rate it states (fixed seed)', () => {
    const ledger = new TrustLedger(policy);
    for (let i = 0; i < 20; i++) ledger.record('k', true);
    const random = seededRandom(5);
    let checked = 0;
    for (let i = 0; i < 10_000; i++) if (ledger.shouldVerify('k', random)) checked++;
    expect(checked / 10_000).toBeGreaterThan(0.09);
    expect(checked / 10_000).toBeLessThan(0.11);
  });

  it('sends a key with an invalid result back to always-verified (suspect) until it redoes the warm-up', () => {
    const ledger = new TrustLedger({ ...policy, banAfter: 5 });
    for (let i = 0; i < 8; i++) ledger.record('k', true);
    expect(ledger.level('k')).toBe(TrustLevel.Trusted);
    ledger.record('k', false);
    expect(ledger.level('k')).toBe(TrustLevel.Suspect);
    expect(ledger.state('k')).toEqual({ streak: 0, valid: 8, invalid: 1, banned: false });
    for (let i = 0; i < policy.warmup; i++) {
      expect(ledger.shouldVerify('k', () => 0.999999)).toBe(true);
      ledger.record('k', true);
    }
    expect(ledger.level('k')).toBe(TrustLevel.Trusted);
    expect(ledger.checkProbability('k')).toBe(0.5);
  });

  it('bans a key after banAfter invalid results, however many valid ones are between', () => {
    const ledger = new TrustLedger(policy);
    ledger.record('k', false);
    expect(ledger.isBanned('k')).toBe(false);
    for (let i = 0; i < 50; i++) ledger.record('k', true);
    ledger.record('k', false);
    expect(ledger.isBanned('k')).toBe(true);
    expect(ledger.level('k')).toBe(TrustLevel.Banned);
    ledger.record('k', true);
    expect(ledger.isBanned('k')).toBe(true);
    expect(ledger.checkProbability('k')).toBe(1);
    // Other keys are unaffected.
    expect(ledger.isBanned('other')).toBe(false);
  });

  it('with warmup 0 and decay 1 verifies everything at rate 1', () => {
    const ledger = new TrustLedger(validateTrustPolicy({ warmup: 0, decay: 1 }));
    ledger.record('k', true);
    expect(ledger.checkProbability('k')).toBe(1);
    expect(ledger.level('k')).toBe(TrustLevel.Trusted);
  });

  it('survives a JSON round trip and refuses a malformed snapshot', () => {
    const ledger = new TrustLedger(policy);
    for (let i = 0; i < 6; i++) ledger.record('a', true);
    ledger.record('b', false);
    ledger.record('c', false);
    ledger.record('c', false);
    const restored = TrustLedger.restore(policy, JSON.parse(JSON.stringify(ledger.snapshot())));
    for (const key of ['a', 'b', 'c', 'd']) {
      expect(restored.state(key)).toEqual(ledger.state(key));
      expect(restored.level(key)).toBe(ledger.level(key));
    }
    const bad = [
      null,
      { version: 2, entries: [] },
      { version: 1, entries: [['a']] },
      { version: 1, entries: [['a', { streak: -1, valid: 0, invalid: 0, banned: false }]] },
      { version: 1, entries: [['a', { streak: 3, valid: 2, invalid: 0, banned: false }]] },
      { version: 1, entries: [['a', { streak: 0, valid: 0, invalid: 0, banned: 'no' }]] },
    ];
    for (const s of bad) expect(() => TrustLedger.restore(policy, s), JSON.stringify(s)).toThrow();
  });
});
