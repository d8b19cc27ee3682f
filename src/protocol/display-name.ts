/**
 * Donor display names and team names: optional, chosen by the visitor, never unique and never
 * trusted (anyone may call themselves anything; the leaderboard shows each name beside its
 * key's short id). What the wire accepts is bounded and plain: NFC, trimmed, single spaces,
 * 1..MAX_DISPLAY_NAME_CHARS code points of letters, marks, digits, punctuation, symbols and
 * spaces — no control or format characters (no bidi overrides, zero-width joiners or line
 * breaks that could disguise a name or break a table row).
 */

/** Most code points in a display name or team name. */
export const MAX_DISPLAY_NAME_CHARS = 32;

const allowed = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]+$/u;

/** The canonical form of what a visitor typed: NFC, runs of white space as one space, trimmed. */
export function normalizeDisplayName(typed: string): string {
  return typed.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/** Why `name` is not a display name as the wire carries it, or undefined when it is one. */
export function displayNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  const chars = [...name].length;
  if (chars > MAX_DISPLAY_NAME_CHARS) return `must be at most ${MAX_DISPLAY_NAME_CHARS} characters (this one has ${chars})`;
  if (!allowed.test(name)) return 'must be letters, digits, punctuation, symbols and single spaces (no control or invisible characters)';
  if (normalizeDisplayName(name) !== name) return 'must be trimmed, in Unicode NFC, with single spaces';
  return undefined;
}

/**
 * The key a team is kept under: teams are the same whatever their case or compatibility form
 * ("Lab A", "lab a" and "Ｌａｂ Ａ" are one team), so a team cannot be split by a look-alike spelling.
 */
export function teamKeyOf(team: string): string {
  return team.normalize('NFKC').toLowerCase();
}
