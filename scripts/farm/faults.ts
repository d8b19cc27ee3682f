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
  /** A volunteer tab hidden behind another for the rest of the run, its timers throttled as Chrome's are (background-pages.ts). */
  Hide: 'hide',
  /** A volunteer tab hidden and frozen (Page Lifecycle) for FREEZE_MS, then thawed (background-pages.ts). */
  Freeze: 'freeze',
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
  /** Pages to hide (--hide) and to freeze (--freeze): never the killed or reloaded ones. */
  readonly hide?: number;
  readonly freeze?: number;
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
  faults.push(...backgroundFaults(ask, survivors.slice(Math.min(ask.reload, survivors.length)), at));
  return faults.sort((a, b) => a.at - b.at);
}

/** Pages that background faults strike (they must be opened in a background-capable browser): known before any page opens. */
export function backgroundPages(faults: readonly PlannedFault[]): Set<number> {
  return new Set(faults.filter((f) => f.kind === FaultKind.Hide || f.kind === FaultKind.Freeze).map((f) => f.page!));
}

/** --hide and --freeze on distinct pages among `calm` (neither killed nor reloaded); drawn after every other fault, so those stay as they were for a seed. */
function backgroundFaults(ask: FaultAsk, calm: readonly number[], at: () => number): PlannedFault[] {
  const hide = ask.hide ?? 0;
  const freeze = ask.freeze ?? 0;
  if (hide + freeze > calm.length) {
    throw new TabgridError(
      ErrorCode.BadInput,
      `--hide ${hide} and --freeze ${freeze} need that many pages that are neither killed nor reloaded; there are ${calm.length}`,
    );
  }
  return [
    ...calm.slice(0, hide).map((page) => ({ kind: FaultKind.Hide, at: at(), page })),
    ...calm.slice(hide, hide + freeze).map((page) => ({ kind: FaultKind.Freeze, at: at(), page })),
  ];
}
