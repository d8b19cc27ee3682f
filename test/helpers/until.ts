/**
 * Resolves once `predicate` holds, polling every `intervalMs`; rejects with "timed out" after
 * `timeoutMs`. For conditions reached by other tasks (sessions, workers, timers).
 */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 5): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
