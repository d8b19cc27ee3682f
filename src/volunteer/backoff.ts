import { recall, remember } from '../remembered';

/**
 * Delay before reconnect attempt `attempt` (1, 2, …): exponential from `baseMs`, capped at
 * `maxMs`, with ±25 % jitter so many tabs dropped together do not return in lockstep.
 */
export function backoffMs(attempt: number, baseMs = 1000, maxMs = 30_000, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.75 + 0.5 * random()));
}

/** A volunteer id kept in localStorage where there is one, so a reload keeps its leases. */
export function stableVolunteerId(storageKey = 'tabgrid-volunteer-id'): string {
  const known = recall(storageKey);
  if (known && /^[A-Za-z0-9_-]{8,64}$/.test(known)) return known;
  const id = randomId();
  remember(storageKey, id);
  return id;
}

export function randomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
