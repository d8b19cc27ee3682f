/**
 * How many dataset bytes one connection may ask for, as a token bucket: a volunteer fetching a
 * unit's slices asks for them in bursts, then computes for seconds; a peer asking without pause
 * would make the host read and queue chunks faster than any link drains them. Past its budget a
 * request is answered `busy`, and the volunteer asks again after a backoff.
 */
export const CHUNK_BURST_BYTES = 32 << 20;
export const CHUNK_BYTES_PER_SECOND = 128 << 20;

export interface ChunkBudget {
  tokens: number;
  at: number;
}

/** Takes `bytes` from the connection's budget at time `now` (ms); false, taking nothing, when it has not that many. */
export function spend(budget: ChunkBudget | undefined, bytes: number, now: number): { ok: boolean; budget: ChunkBudget } {
  const b = budget ?? { tokens: CHUNK_BURST_BYTES, at: now };
  const tokens = Math.min(CHUNK_BURST_BYTES, b.tokens + (Math.max(0, now - b.at) * CHUNK_BYTES_PER_SECOND) / 1000);
  if (tokens < bytes) return { ok: false, budget: { tokens, at: now } };
  return { ok: true, budget: { tokens: tokens - bytes, at: now } };
}
