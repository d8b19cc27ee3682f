/**
 * The host store's tables as SQL stores return them (snake_case columns, JSON-valued fields as
 * their text) and the records they hold: one mapping for SQLite and PostgreSQL, which keep the
 * same tables.
 */
import type { Awaiting, JobStatus, StoredJob, StoredReceipt, StoredTeam, StoredTrust, StoredUnit, StoredUnitState, StoredVolunteer } from './store';
import type { Backend } from '../../protocol';

export interface JobRow {
  id: string;
  spec: string;
  priority: number;
  created_at: number;
  status: JobStatus | null;
}
export interface UnitRow {
  unit_id: string;
  job_id: string;
  idx: number;
  state: StoredUnitState;
  holder: string | null;
  lease_deadline: number | null;
  progress: number;
  root: string | null;
  challenge: string | null;
  rejected_by: string;
  accepted_at: number | null;
  solutions: string | null;
  votes: string | null;
  leased_to: string | null;
  awaiting: Awaiting | null;
  hold: string | null;
  backend: Backend | null;
  adapter: string | null;
  shares: string | null;
}
export interface VolunteerRow {
  id: string;
  credit: number;
  accepted: number;
  rejected: number;
  name: string | null;
  team: string | null;
  profile_at: number | null;
  last_seen: number | null;
  rac: number | null;
  rac_at: number | null;
}
export interface ReceiptRow {
  receipt_id: string;
  job_id: string;
  unit_id: string;
  volunteer: string;
  credit: number;
  root: string;
  issued_at: number;
  signature: string | null;
}
export interface TrustRow {
  job_id: string;
  key: string;
  streak: number;
  valid: number;
  invalid: number;
  /** A boolean in PostgreSQL, 0 or 1 in SQLite. */
  banned: boolean | number;
}
export interface TeamRow {
  key: string;
  name: string;
  credit: number;
  accepted: number;
  rac: number;
  rac_at: number;
  last_seen: number;
}

/** A JSON-valued field as its column keeps it: the text, or NULL for null and undefined. */
export const json = (value: unknown) => (value == null ? null : JSON.stringify(value));
const parsed = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export function unitOf(r: UnitRow): StoredUnit {
  return {
    jobId: r.job_id,
    unitId: r.unit_id,
    index: r.idx,
    state: r.state,
    holder: r.holder,
    leaseDeadline: r.lease_deadline,
    progress: r.progress,
    root: r.root,
    challenge: parsed(r.challenge),
    rejectedBy: JSON.parse(r.rejected_by) as string[],
    acceptedAt: r.accepted_at,
    solutions: parsed(r.solutions),
    ...(r.votes === null ? {} : { votes: JSON.parse(r.votes) as StoredUnit['votes'] }),
    ...(r.leased_to === null ? {} : { leasedTo: JSON.parse(r.leased_to) as string[] }),
    ...(r.awaiting === null ? {} : { awaiting: r.awaiting }),
    ...(r.hold === null ? {} : { hold: JSON.parse(r.hold) as StoredUnit['hold'] }),
    ...(r.backend === null ? {} : { backend: r.backend }),
    ...(r.adapter === null ? {} : { adapter: r.adapter }),
    ...(r.shares === null ? {} : { shares: JSON.parse(r.shares) as number[] }),
  };
}

export function volunteerOf(r: VolunteerRow): StoredVolunteer {
  return {
    id: r.id,
    credit: r.credit,
    accepted: r.accepted,
    rejected: r.rejected,
    ...(r.name === null ? {} : { name: r.name }),
    ...(r.team === null ? {} : { team: r.team }),
    ...(r.profile_at === null ? {} : { profileAt: r.profile_at }),
    ...(r.last_seen === null ? {} : { lastSeen: r.last_seen }),
    ...(r.rac === null ? {} : { rac: r.rac }),
    ...(r.rac_at === null ? {} : { racAt: r.rac_at }),
  };
}

export function receiptOf(r: ReceiptRow): StoredReceipt {
  return {
    receiptId: r.receipt_id,
    jobId: r.job_id,
    unitId: r.unit_id,
    volunteer: r.volunteer,
    credit: r.credit,
    root: r.root,
    issuedAt: r.issued_at,
    ...(r.signature === null ? {} : { signature: r.signature }),
  };
}

export const trustOf = (r: TrustRow): StoredTrust => ({
  jobId: r.job_id,
  key: r.key,
  streak: r.streak,
  valid: r.valid,
  invalid: r.invalid,
  banned: r.banned === true || r.banned === 1,
});
export const teamOf = (r: TeamRow): StoredTeam => ({
  key: r.key,
  name: r.name,
  credit: r.credit,
  accepted: r.accepted,
  rac: r.rac,
  racAt: r.rac_at,
  lastSeen: r.last_seen,
});

export const jobOf = (r: JobRow): StoredJob => ({
  id: r.id,
  spec: JSON.parse(r.spec) as StoredJob['spec'],
  priority: r.priority,
  createdAt: r.created_at,
  ...(r.status === null ? {} : { status: r.status }),
});
