/**
 * The widget's donor panel: the name and team the visitor may give (optional, changeable,
 * never required), the visitor's own total and rank as the host reports them, and what credit
 * counts. The signed receipts stay the proof: the panel says so and points at the download.
 */
import { html, nothing } from 'lit';
import { displayNameProblem, MAX_DISPLAY_NAME_CHARS, normalizeDisplayName } from '../protocol/display-name';
import type { Standing } from '../volunteer/session';
import type { DonorProfile } from '../volunteer/store/volunteer-store';
import { formatCount } from './numbers';

export interface DonorView {
  readonly profile?: DonorProfile;
  readonly standing?: Standing;
  /** What happened to the last save, or why it was refused (a bad name, too soon after the last change). */
  readonly profileNote?: string;
  /** The visitor has not pressed Start yet: a name is kept here and stored on Start. */
  readonly beforeStart: boolean;
}

export interface DonorActions {
  saveProfile(profile: DonorProfile): void;
  /** A typed name or team that is not one: the panel says why and sends nothing. */
  refuseProfile(why: string): void;
}

/** The typed field, normalized; undefined when empty; a problem when not a display name. */
function field(form: HTMLFormElement, name: string, label: string): { value?: string; problem?: string } {
  const typed = normalizeDisplayName((form.elements.namedItem(name) as HTMLInputElement).value);
  if (typed === '') return {};
  const problem = displayNameProblem(typed);
  return problem ? { problem: `${label} ${problem}` } : { value: typed };
}

function submitted(e: SubmitEvent, a: DonorActions): void {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  const name = field(form, 'donor-name', 'Name');
  const team = field(form, 'donor-team', 'Team');
  const problem = name.problem ?? team.problem;
  if (problem) return a.refuseProfile(problem);
  a.saveProfile({ ...(name.value === undefined ? {} : { name: name.value }), ...(team.value === undefined ? {} : { team: team.value }) });
}

const n = formatCount;

/** "12,345 points from 4 units, rank 2 of 7; recent average 811 points/day", or "no points yet". */
export function describeStanding(s: Standing): string {
  if (s.credit === 0) return 'no points yet';
  const rank = s.rank === undefined ? '' : `, rank ${n(s.rank)} of ${n(s.ranked)}`;
  return `${n(s.credit)} points from ${n(s.accepted)} ${s.accepted === 1 ? 'unit' : 'units'}${rank}; recent average ${n(s.rac)} points/day`;
}

/** "Lab A: 40,000 points, rank 1 of 3". */
export function describeTeamStanding(s: Standing): string | undefined {
  if (s.team === undefined) return undefined;
  const rank = s.teamRank === undefined ? '' : `, rank ${n(s.teamRank)} of ${n(s.teamsRanked ?? 0)}`;
  return `${s.team}: ${n(s.teamCredit ?? 0)} points${rank}`;
}

export function renderDonor(v: DonorView, a: DonorActions) {
  const s = v.standing;
  const team = s ? describeTeamStanding(s) : undefined;
  return html`<details class="donor" part="donor" ?open=${v.profile?.name !== undefined || v.profile?.team !== undefined}>
      <summary>Name on the leaderboard (optional)</summary>
      <form @submit=${(e: SubmitEvent) => submitted(e, a)}>
        <p class="muted">
          Give a name and a team to appear by them on this host's leaderboard, or leave both empty to stay anonymous. Names are not checked or unique: anyone
          can pick any name. ${v.beforeStart ? 'Kept in this browser once you press Start.' : 'Kept in this browser with your key.'}
        </p>
        <label for="donor-name">Display name</label>
        <input
          id="donor-name"
          name="donor-name"
          data-control="donor-name"
          maxlength=${MAX_DISPLAY_NAME_CHARS * 2}
          autocomplete="nickname"
          .value=${v.profile?.name ?? ''}
        />
        <label for="donor-team">Team</label>
        <input id="donor-team" name="donor-team" data-control="donor-team" maxlength=${MAX_DISPLAY_NAME_CHARS * 2} .value=${v.profile?.team ?? ''} />
        <button part="button" class="secondary" type="submit" data-action="save-profile">Save</button>
        <p class="note" role="status" aria-live="polite" data-field="profile-note">${v.profileNote ?? ''}</p>
      </form>
    </details>
    <dl part="standing">
      <dt>Your total</dt>
      <dd data-field="standing">${s ? describeStanding(s) : 'the host has not said yet'}</dd>
      ${
        team
          ? html`<dt>Your team</dt>
              <dd data-field="team-standing">${team}</dd>`
          : nothing
      }
    </dl>
    <p class="muted" data-field="credit-meaning">
      Points count the work in each result the host accepted (one point per SHA-256 block hashed or matrix multiply-add), nothing else; the rank is by points
      among everyone this host credited. Each accepted result comes with a receipt signed by the host, and "Download proof of credit" saves them for anyone to
      check.
    </p>`;
}
