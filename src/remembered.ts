/**
 * Small settings kept in localStorage: a volunteer's choices. Access is
 * guarded, since storage can be blocked (opaque origins, some private modes) or full: a value
 * that cannot be kept still holds for the page. Nothing touches localStorage at import.
 */

export function rememberedKey(what: string, hosts: string): string {
  return `tabgrid:${what}:${hosts}`;
}

export function recall(key: string): string | undefined {
  try {
    return globalThis.localStorage?.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

export function remember(key: string, value: string): void {
  try {
    globalThis.localStorage?.setItem(key, value);
  } catch {
    // Not kept: the choice still holds for this page.
  }
}

/**
 * Keys earlier versions kept and nothing reads any more: a random volunteer id, from before a
 * volunteer was known by its key (the wire has refused it since protocol 3). Left alone they
 * would stay in the visitor's storage for good.
 */
const RETIRED_KEYS = ['tabgrid-volunteer-id'] as const;

/** Deletes the retired keys where storage allows; never throws. */
export function forgetRetired(): void {
  for (const key of RETIRED_KEYS) {
    try {
      globalThis.localStorage?.removeItem(key);
    } catch {
      // Storage refused: nothing reads the key, so it does no harm where it is.
    }
  }
}

/** A remembered JSON object, or undefined when absent or unreadable. */
export function recallJson(key: string): Record<string, unknown> | undefined {
  const text = recall(key);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
