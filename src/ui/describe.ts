import type { VolunteerSession } from '../volunteer/session';
import { Consent } from './choices';
import { CourtesyHold } from './courtesy-watcher';
import { Persistence } from '../volunteer/store/persistence';
import type { EngineInfo } from '../worker/engine';
import { IceRoute } from '../net/ice-route';

/** The status lines in words: the compute backend, the link to the host, where work is kept. */

export function describeEngine(e: EngineInfo | undefined, started: boolean): string {
  if (!e) return started ? 'detecting…' : 'not started';
  if (e.forced === 'webgpu' && !e.adapter) return `WebGPU forced by the page, but there is none (${e.reason ?? 'no adapter'})`;
  const forced = e.forced ? ` (backend forced to ${e.forced} by the page)` : '';
  if (e.forced === 'cpu') return `CPU${forced}`;
  if (e.backend === 'cpu') return `CPU fallback (no usable GPU: ${e.reason ?? 'unknown'})`;
  const a = e.adapter!;
  const name = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ');
  // On a software adapter each kernel runs where it timed faster: say which, once known.
  const cpuKernels = Object.entries(e.choices ?? {})
    .filter(([, c]) => c.backend === 'cpu')
    .map(([k]) => k);
  const note = cpuKernels.length > 0 ? `; on the CPU, faster here: ${cpuKernels.join(', ')}` : '';
  return `WebGPU: ${name || 'unknown adapter'}${a.isFallbackAdapter ? ' (software fallback)' : ''}${note}${forced}`;
}

export function describeConnection(sessions: readonly VolunteerSession[]): string {
  if (sessions.length === 0) return 'not connected';
  const many = sessions.length > 1;
  return sessions
    .map((x) => {
      const link = x.connected
        ? x.relayed
          ? `connected through another volunteer's relay${x.path?.route === IceRoute.Turn ? ' (reached through a TURN server)' : ''}`
          : x.path === undefined
            ? 'connected'
            : x.path.route === IceRoute.Turn
              ? 'connected through a TURN relay server'
              : 'connected directly (peer to peer)'
        : x.state === 'running'
          ? 'connecting…'
          : x.state === 'error'
            ? 'disconnected'
            : 'not connected';
      return many ? `${x.options.hostId}: ${link}` : link;
    })
    .join(' · ');
}

export function describeStorage(sessions: readonly VolunteerSession[], note: string | undefined, persistence: Persistence | undefined): string {
  const problem = sessions.find((x) => x.journal.problem)?.journal.problem;
  if (problem)
    return problem.code === 'storage-full'
      ? 'storage is full: computing goes on, without checkpoints'
      : `storage failed (${problem.message}): computing goes on without resume`;
  if (note) return note;
  if (persistence === Persistence.Persisted) return 'kept in this browser (persistent)';
  if (persistence) return 'kept in this browser (may be evicted when the disk is full)';
  return 'not started';
}

const HOLD_TEXT: Record<CourtesyHold, string> = {
  [CourtesyHold.InUse]: 'you are using this page; work goes on when the tab is hidden or you are idle',
  [CourtesyHold.OnBattery]: 'this device is on battery; work goes on when it is plugged in',
};

export function describeHold(hold: CourtesyHold): string {
  return HOLD_TEXT[hold];
}

/** The live line (announced politely to screen readers): what the widget is doing now. */
export function describeStatus(s: {
  sessions: readonly VolunteerSession[];
  waitingForTab: boolean;
  starting: boolean;
  consent: Consent;
  hold?: CourtesyHold;
}): string {
  if (s.waitingForTab) return 'Another tab of this site is contributing; this one takes over when it closes or pauses.';
  if (s.consent === Consent.Paused && s.sessions.length === 0) return 'Paused, as you chose. Press Start to contribute.';
  if (s.sessions.length === 0) return s.starting ? 'Starting…' : 'Press Start to contribute.';
  if (s.hold) return `Resting: ${HOLD_TEXT[s.hold]}.`;
  const many = s.sessions.length > 1;
  const line = (x: VolunteerSession) => {
    // Replicated jobs: a result on file waits for another volunteer to compute the same unit.
    const pending = x.pendingReplicas.size;
    const status = pending > 0 ? `${x.status} (${pending} result${pending > 1 ? 's' : ''} waiting for a second volunteer to agree)` : x.status;
    return many ? `${x.options.hostId}: ${status}` : status;
  };
  return s.sessions.map(line).join(' · ');
}
