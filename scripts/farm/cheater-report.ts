import type { Unprompted } from '../../src/volunteer/host-link';
import type { CheatKind } from './cheat-kind';

type Answer = Extract<Unprompted, { type: 'verdict' | 'error' }>;

/** What one cheater did and what the host answered: its log, and counts the farm reports. */
export class CheaterReport {
  readonly lines: string[] = [];
  /** Dishonest results sent. */
  lies = 0;
  /** Lies per key (a colluding pair has two), then per job: a key is banned from a job after that job's banAfter lies there. */
  readonly liesByKey = new Map<string, Map<string, number>>();
  accepted = 0;
  rejected = 0;
  duplicates = 0;
  /** Results refused with an error (never judged, so never counted against the key). */
  refused = 0;
  /** The host told this cheater it is banned (in a verdict's reason or by refusing it). */
  bannedSeen = false;

  constructor(
    readonly kind: CheatKind,
    readonly id: string,
    private readonly log?: (line: string) => void,
  ) {}

  note(what: string): void {
    const line = `[cheater ${this.kind} ${this.id.slice(0, 8)}] ${what}`;
    this.lines.push(line);
    this.log?.(line);
  }

  lie(unitId: string, what: string, key = this.id): void {
    this.lies++;
    const jobId = unitId.slice(0, unitId.lastIndexOf('/'));
    const byJob = this.liesByKey.get(key) ?? new Map<string, number>();
    byJob.set(jobId, (byJob.get(jobId) ?? 0) + 1);
    this.liesByKey.set(key, byJob);
    this.note(`${unitId}: ${what}`);
  }

  answer(unitId: string, a: Answer): void {
    if (a.type === 'error') {
      this.refused++;
      this.note(`${unitId}: refused [${a.code}] ${a.message}`);
      return;
    }
    if (a.verdict === 'accepted') this.accepted++;
    else if (a.verdict === 'rejected') this.rejected++;
    else this.duplicates++;
    if (/now banned/.test(a.reason)) this.bannedSeen = true;
    this.note(`${unitId}: ${a.verdict} (${a.reason}), credit ${a.credit}`);
  }
}
