import { Awaiting, StoredUnitState } from './store';

/** The fields that told what a verifying unit awaited before units had `awaiting`. */
export interface LegacyVerifyingFields {
  readonly state: string;
  readonly holder: string | null;
  readonly challenge: unknown;
  readonly collecting?: string | null;
}

/**
 * What a unit stored before `awaiting` (SQLite schema 8, IndexedDB version 3) awaits, read from
 * the fields that said it then: a challenge open (openings); no holder (the host's own
 * computation); `collecting` 'trusted' or 'verified' (the output, to keep, spared or checked);
 * otherwise the output as the check (Freivalds). Undefined for a unit that is not verifying.
 * The migrations of both stores call it: never change what it returns.
 */
export function legacyAwaiting(u: LegacyVerifyingFields): Awaiting | undefined {
  if (u.state !== StoredUnitState.Verifying) return undefined;
  if (u.challenge !== null && u.challenge !== undefined) return Awaiting.Openings;
  if (u.holder === null) return Awaiting.Recompute;
  if (u.collecting === 'trusted') return Awaiting.RowsTrusted;
  if (u.collecting === 'verified') return Awaiting.RowsToKeep;
  return Awaiting.RowsToCheck;
}
