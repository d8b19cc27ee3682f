import { describe, expect, it } from 'vitest';
import { backgroundPages, FaultKind, planFaults } from '../../scripts/farm/faults';

describe('farm --hide and --freeze', () => {
  const ask = { volunteers: 6, kill: 1, reload: 2, dropSignal: true, restartHost: true };

  it('strike distinct pages that are neither killed nor reloaded, and leave the other faults of a seed as they were', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const plain = planFaults(ask, seed);
      const faults = planFaults({ ...ask, hide: 1, freeze: 2 }, seed);
      const others = faults.filter((f) => f.kind !== FaultKind.Hide && f.kind !== FaultKind.Freeze);
      expect(others).toEqual(plain);
      const hidden = faults.filter((f) => f.kind === FaultKind.Hide);
      const frozen = faults.filter((f) => f.kind === FaultKind.Freeze);
      expect(hidden).toHaveLength(1);
      expect(frozen).toHaveLength(2);
      const struck = new Set(plain.filter((f) => f.page !== undefined).map((f) => f.page));
      const background = backgroundPages(faults);
      expect(background.size).toBe(3);
      for (const page of background) expect(struck.has(page)).toBe(false);
      for (const f of [...hidden, ...frozen]) {
        expect(f.at).toBeGreaterThanOrEqual(0.1);
        expect(f.at).toBeLessThan(0.75);
      }
      // In progress order, as every plan is.
      expect(faults.map((f) => f.at)).toEqual([...faults.map((f) => f.at)].sort((a, b) => a - b));
    }
  });

  it('refuses more hidden and frozen pages than there are calm ones, naming the flags', () => {
    expect(() => planFaults({ ...ask, hide: 2, freeze: 2 }, 1)).toThrow(/--hide 2 and --freeze 2 .* there are 3/);
    expect(backgroundPages(planFaults(ask, 1)).size).toBe(0);
  });
});
