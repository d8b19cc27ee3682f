import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Consent, clampThrottle, recallConsent, recallCourtesy, rememberConsent, rememberCourtesy } from '../../src/ui/choices';
import { forgetRetired } from '../../src/remembered';

/** A Map-backed localStorage, or one that throws like a sandboxed frame's. */
function fakeStorage(broken = false): Storage {
  const map = new Map<string, string>();
  const fail = () => {
    throw new DOMException('denied', 'SecurityError');
  };
  return {
    get length() {
      return map.size;
    },
    clear: () => map.clear(),
    key: (i: number) => [...map.keys()][i] ?? null,
    getItem: (k: string) => (broken ? fail() : (map.get(k) ?? null)),
    setItem: (k: string, v: string) => (broken ? fail() : void map.set(k, v)),
    removeItem: (k: string) => (broken ? fail() : void map.delete(k)),
  };
}

const g = globalThis as { localStorage?: Storage };
beforeEach(() => {
  g.localStorage = fakeStorage();
});
afterEach(() => {
  delete g.localStorage;
});

describe('consent', () => {
  it('is unasked until remembered, per host list', () => {
    expect(recallConsent('h1')).toBe(Consent.Unasked);
    rememberConsent('h1', Consent.Started);
    expect(recallConsent('h1')).toBe(Consent.Started);
    expect(recallConsent('h2')).toBe(Consent.Unasked);
    rememberConsent('h1', Consent.Paused);
    expect(recallConsent('h1')).toBe(Consent.Paused);
  });

  it('treats a tampered value as unasked', () => {
    g.localStorage!.setItem('tabgrid:consent:h1', 'yes please');
    expect(recallConsent('h1')).toBe(Consent.Unasked);
  });

  it('survives storage that refuses (the choice then lasts for the page only)', () => {
    g.localStorage = fakeStorage(true);
    expect(() => rememberConsent('h1', Consent.Started)).not.toThrow();
    expect(recallConsent('h1')).toBe(Consent.Unasked);
  });
});

describe('courtesy settings', () => {
  it('round-trips, and reads a malformed entry field by field', () => {
    expect(recallCourtesy('h')).toBeUndefined();
    rememberCourtesy('h', { throttle: 40, onlyWhenIdle: true, pauseOnBattery: false });
    expect(recallCourtesy('h')).toEqual({ throttle: 40, onlyWhenIdle: true, pauseOnBattery: false });
    g.localStorage!.setItem('tabgrid:courtesy:h', JSON.stringify({ throttle: 3, onlyWhenIdle: 'yes' }));
    expect(recallCourtesy('h')).toEqual({ throttle: 10, onlyWhenIdle: false, pauseOnBattery: false });
    g.localStorage!.setItem('tabgrid:courtesy:h', '{not json');
    expect(recallCourtesy('h')).toBeUndefined();
  });

  it('clamps the throttle to whole percents within 10–100', () => {
    expect(clampThrottle(55.4)).toBe(55);
    expect(clampThrottle('30')).toBe(30);
    expect(clampThrottle(0)).toBe(10);
    expect(clampThrottle(250)).toBe(100);
    expect(clampThrottle('abc')).toBe(100);
    expect(clampThrottle(undefined)).toBe(100);
  });
});

describe('retired keys', () => {
  it('deletes the old random volunteer id and keeps the choices', () => {
    g.localStorage!.setItem('tabgrid-volunteer-id', '0123456789abcdef0123456789abcdef');
    rememberConsent('h', Consent.Started);
    forgetRetired();
    expect(g.localStorage!.getItem('tabgrid-volunteer-id')).toBeNull();
    expect(recallConsent('h')).toBe(Consent.Started);
    g.localStorage = fakeStorage(true);
    expect(() => forgetRetired()).not.toThrow();
  });
});
