import { ErrorCode, TabgridError } from '../../src/errors';
import { seededRandom } from '../../src/work/seeded';

export const FaultKind = {
  /** A volunteer tab closed for good, mid-job. */
  Kill: 'kill',
  /** A volunteer tab reloaded mid-unit (it resumes from its checkpoint or outbox). */
  Reload: 'reload',
  /** The signaling server stopped, and started again on the same port a few seconds later. */
  SignalOutage: 'signal-outage',
  /** The host SIGKILLed and started again on its SQLite file. */
  HostRestart: 'host-restart',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

export interface PlannedFault {
  readonly kind: FaultKind;
  /** When: once this fraction of all units is accepted. */
  readonly at: number;
  /** The page it hits (kill, reload). */
  readonly page?: number;
}

export interface FaultAsk {
  readonly volunteers: number;
  readonly kill: number;
  readonly reload: number;
  readonly dropSignal: boolean;
  readonly restartHost: boolean;
}

/**
 * The faults of a run, drawn from `seed`: each strikes at a random point of the job's progress
 * (between 10% and 75% of units accepted, so there is work before and after it), kills on
 * distinct pages, reloads on pages that are never killed. Progress, not the clock, places them,
 * so a slow machine sees the same faults at the same stage of the job.
 */
export function planFaults(ask: FaultAsk, seed: number): PlannedFault[] {
  if (ask.kill >= ask.volunteers) throw new TabgridError(ErrorCode.BadInput, `--kill ${ask.kill} would leave no volunteer of ${ask.volunteers}`);
  if (ask.reload > 0 && ask.kill >= ask.volunteers) throw new TabgridError(ErrorCode.BadInput, 'no page is left to reload');
  const random = seededRandom(seed);
  const at = () => 0.1 + 0.65 * random();
  const order = Array.from({ length: ask.volunteers }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const killed = order.slice(0, ask.kill);
  const survivors = order.slice(ask.kill);
  const faults: PlannedFault[] = [];
  for (const page of killed) faults.push({ kind: FaultKind.Kill, at: at(), page });
  for (let i = 0; i < ask.reload; i++) faults.push({ kind: FaultKind.Reload, at: at(), page: survivors[i % survivors.length]! });
  if (ask.dropSignal) faults.push({ kind: FaultKind.SignalOutage, at: at() });
  if (ask.restartHost) faults.push({ kind: FaultKind.HostRestart, at: at() });
  return faults.sort((a, b) => a.at - b.at);
}
