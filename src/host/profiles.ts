/**
 * A key's display name and team (protocol `profile`). The wire has already checked both
 * (protocol/display-name.ts). Changes are rate-limited per key, the time of the last kept in
 * the key's record so a restart does not reset it: a name is a label, not a channel, and a key
 * cycling through names (to spam the leaderboard or dodge a moderator's eye) is slowed to one
 * change per PROFILE_CHANGE_MS. Sending the profile a key already has is no change, so a
 * volunteer may send it on every connection.
 */
import { ErrorCode, TabgridError } from '../errors';
import type { StoredVolunteer } from './store/store';

/** The least time between two changes of one key's name or team. */
export const PROFILE_CHANGE_MS = 10_000;

export interface Profile {
  readonly name?: string;
  readonly team?: string;
}

/** `who` with `profile` as of `now`, or `who` itself when nothing changes; throws busy when it changed too recently. */
export function withProfile(who: StoredVolunteer, profile: Profile, now: number): StoredVolunteer {
  if (who.name === profile.name && who.team === profile.team) return who;
  if (who.profileAt !== undefined && now - who.profileAt < PROFILE_CHANGE_MS) {
    const wait = Math.ceil((who.profileAt + PROFILE_CHANGE_MS - now) / 1000);
    throw new TabgridError(ErrorCode.Busy, `this key changed its name or team less than ${PROFILE_CHANGE_MS / 1000} s ago; try again in ${wait} s`);
  }
  const { name: _n, team: _t, ...rest } = who;
  return {
    ...rest,
    ...(profile.name === undefined ? {} : { name: profile.name }),
    ...(profile.team === undefined ? {} : { team: profile.team }),
    profileAt: now,
    lastSeen: now,
  };
}
