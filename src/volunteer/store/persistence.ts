/**
 * Asks the browser to keep this site's storage under pressure. Without it, storage is
 * "best-effort": the browser may evict the whole origin (checkpoints, outbox, receipts, key)
 * when the disk fills. Chromium grants it silently to sites the user engages with (bookmarked,
 * installed, often visited) and refuses otherwise; Firefox may prompt.
 */

export const Persistence = { Persisted: 'persisted', BestEffort: 'best-effort', Unavailable: 'unavailable' } as const;
export type Persistence = (typeof Persistence)[keyof typeof Persistence];

/** Never throws: a browser without the Storage API, or one that fails the call, is 'unavailable'. */
export async function requestPersistence(): Promise<Persistence> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (typeof storage?.persist !== 'function') return Persistence.Unavailable;
  try {
    // Asking again when already granted could prompt in some browsers; check first.
    if (typeof storage.persisted === 'function' && (await storage.persisted())) return Persistence.Persisted;
    return (await storage.persist()) ? Persistence.Persisted : Persistence.BestEffort;
  } catch {
    return Persistence.Unavailable;
  }
}
