/**
 * Delay before reconnect attempt `attempt` (1, 2, …): exponential from `baseMs`, capped at
 * `maxMs`, with ±25 % jitter so many tabs dropped together do not return in lockstep.
 */
export function backoffMs(attempt: number, baseMs = 1000, maxMs = 30_000, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.75 + 0.5 * random()));
}
