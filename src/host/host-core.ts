import { ErrorCode, TabgridError } from '../errors';
import type { Hasher } from '../hash/sha256-cpu';
import {
  PROTOCOL_VERSION,
  Verdict,
  parseVolunteerMessage,
  type HostMessage,
  type VolunteerMessage,
  type WorkUnit,
} from '../protocol';
import { jobUnit, unitWork, validateJob, type JobSpec } from './job';
import { checkSha256Openings, chooseChallenge } from './verify-sha256';

export const UnitState = {
  Queued: 'queued',
  Leased: 'leased',
  /** The volunteer committed to a root; the host is waiting for the challenged openings. */
  Verifying: 'verifying',
  Accepted: 'accepted',
} as const;
export type UnitState = (typeof UnitState)[keyof typeof UnitState];

interface UnitRecord {
  readonly unit: WorkUnit;
  state: UnitState;
  holder?: string;
  root?: string;
  challenge?: number[];
  /** Volunteers whose result for this unit was rejected: never given it again. */
  readonly rejectedBy: Set<string>;
}

interface VolunteerRecord {
  greeted: boolean;
  credit: number;
  accepted: number;
  rejected: number;
}

export interface AcceptedResult {
  readonly unitId: string;
  readonly volunteer: string;
  readonly root: string;
}

export interface HostCoreOptions {
  readonly hostId: string;
  readonly hash: Hasher;
  /** Randomness for challenges; must be unpredictable to volunteers (crypto in production). */
  readonly random?: () => number;
  readonly onAccepted?: (result: AcceptedResult) => void;
  readonly onRejected?: (unitId: string, volunteer: string, reason: string) => void;
  readonly log?: (line: string) => void;
  /** How long a volunteer waits before asking again when every unit is out. */
  readonly retryMs?: number;
}

/**
 * The job host's logic, free of any transport: volunteers are names, messages are JSON texts
 * in and typed replies out. Units go queued → leased → verifying → accepted; a rejected or
 * abandoned unit goes back to the queue. A unit is accepted once; results after that are
 * acknowledged as duplicates and earn nothing.
 */
export class HostCore {
  private readonly units: UnitRecord[];
  private readonly byId = new Map<string, UnitRecord>();
  private readonly volunteers = new Map<string, VolunteerRecord>();
  private readonly random: () => number;

  constructor(
    readonly job: JobSpec,
    private readonly options: HostCoreOptions,
  ) {
    validateJob(job);
    this.random = options.random ?? cryptoRandom;
    this.units = Array.from({ length: job.units }, (_, i) => ({ unit: jobUnit(job, i), state: UnitState.Queued, rejectedBy: new Set<string>() }));
    for (const u of this.units) this.byId.set(u.unit.unitId, u);
  }

  get done(): boolean {
    return this.units.every((u) => u.state === UnitState.Accepted);
  }

  /** Unit counts by state. */
  progress(): Record<UnitState, number> & { total: number } {
    const counts = { total: this.units.length, queued: 0, leased: 0, verifying: 0, accepted: 0 };
    for (const u of this.units) counts[u.state]++;
    return counts;
  }

  /** Accepted roots by unit id, in unit order. */
  results(): AcceptedResult[] {
    return this.units
      .filter((u) => u.state === UnitState.Accepted)
      .map((u) => ({ unitId: u.unit.unitId, volunteer: u.holder!, root: u.root! }));
  }

  volunteer(name: string): Readonly<VolunteerRecord> | undefined {
    return this.volunteers.get(name);
  }

  connect(name: string): void {
    if (!this.volunteers.has(name)) this.volunteers.set(name, { greeted: false, credit: 0, accepted: 0, rejected: 0 });
  }

  /** The volunteer left: whatever it held goes back to the queue. */
  disconnect(name: string): void {
    for (const u of this.units) {
      if (u.holder === name && u.state !== UnitState.Accepted) this.requeue(u);
    }
    const v = this.volunteers.get(name);
    if (v) v.greeted = false;
  }

  /** Handles one raw message from `name`; returns the replies to send back, in order. */
  handle(name: string, raw: unknown): HostMessage[] {
    let message: VolunteerMessage;
    try {
      message = parseVolunteerMessage(raw);
    } catch (err) {
      return [this.error(name, err)];
    }
    try {
      return this.dispatch(name, message);
    } catch (err) {
      return [this.error(name, err)];
    }
  }

  private dispatch(name: string, message: VolunteerMessage): HostMessage[] {
    this.connect(name);
    const volunteer = this.volunteers.get(name)!;
    if (message.type === 'hello') {
      if (message.protocol !== PROTOCOL_VERSION) {
        throw new TabgridError(ErrorCode.ProtocolVersion, `host speaks protocol ${PROTOCOL_VERSION}, volunteer ${message.protocol}`);
      }
      volunteer.greeted = true;
      return [{ type: 'welcome', protocol: PROTOCOL_VERSION, hostId: this.options.hostId, jobId: this.job.id }];
    }
    if (!volunteer.greeted) throw new TabgridError(ErrorCode.BadMessage, `'${message.type}' before 'hello'`);

    switch (message.type) {
      case 'request-unit':
        return [this.lease(name)];
      case 'result': {
        const u = this.byId.get(message.unitId);
        if (u?.state === UnitState.Accepted) return [this.verdict(name, u, Verdict.Duplicate, 'already accepted', 0)];
        if (!u || u.holder !== name || u.state !== UnitState.Leased) {
          throw new TabgridError(ErrorCode.UnknownUnit, `unit ${message.unitId} is not leased to you`);
        }
        u.state = UnitState.Verifying;
        u.root = message.root;
        u.challenge = chooseChallenge(u.unit.count, this.job.samples, this.random);
        return [{ type: 'challenge', unitId: u.unit.unitId, indices: u.challenge }];
      }
      case 'openings': {
        const u = this.byId.get(message.unitId);
        if (!u || u.holder !== name || u.state !== UnitState.Verifying) {
          throw new TabgridError(ErrorCode.UnknownUnit, `no challenge of unit ${message.unitId} is open for you`);
        }
        const failure = checkSha256Openings(u.unit, u.root!, u.challenge!, message.openings, this.options.hash);
        if (failure) {
          volunteer.rejected++;
          u.rejectedBy.add(name);
          const reply = this.verdict(name, u, Verdict.Rejected, failure, 0);
          this.options.onRejected?.(u.unit.unitId, name, failure);
          this.options.log?.(`rejected ${u.unit.unitId} from ${name}: ${failure}`);
          this.requeue(u);
          return [reply];
        }
        u.state = UnitState.Accepted;
        u.challenge = undefined;
        const credit = unitWork(u.unit);
        volunteer.credit += credit;
        volunteer.accepted++;
        this.options.onAccepted?.({ unitId: u.unit.unitId, volunteer: name, root: u.root! });
        this.options.log?.(`accepted ${u.unit.unitId} from ${name} (${this.progress().accepted}/${this.units.length})`);
        return [this.verdict(name, u, Verdict.Accepted, 'verified', credit)];
      }
    }
  }

  private lease(name: string): HostMessage {
    // A volunteer that asks again while holding a unit gets the same unit: asking is idempotent.
    const held = this.units.find((u) => u.holder === name && u.state === UnitState.Leased);
    if (held) return { type: 'unit', unit: held.unit };
    const next = this.units.find((u) => u.state === UnitState.Queued && !u.rejectedBy.has(name));
    if (!next) return { type: 'no-work', retryMs: this.options.retryMs ?? 2000, jobDone: this.done };
    next.state = UnitState.Leased;
    next.holder = name;
    return { type: 'unit', unit: next.unit };
  }

  private requeue(u: UnitRecord): void {
    u.state = UnitState.Queued;
    u.holder = undefined;
    u.root = undefined;
    u.challenge = undefined;
  }

  private verdict(name: string, u: UnitRecord, verdict: Verdict, reason: string, credit: number): HostMessage {
    const totalCredit = this.volunteers.get(name)!.credit;
    return { type: 'verdict', unitId: u.unit.unitId, verdict, reason, credit, totalCredit };
  }

  private error(name: string, err: unknown): HostMessage {
    const code = err instanceof TabgridError ? err.code : ErrorCode.BadMessage;
    const message = err instanceof Error ? err.message : String(err);
    this.options.log?.(`error from ${name}: [${code}] ${message}`);
    return { type: 'error', code, message: message.slice(0, 1024) };
  }
}

function cryptoRandom(): number {
  const word = new Uint32Array(1);
  globalThis.crypto.getRandomValues(word);
  return word[0]! / 2 ** 32;
}
