import type { Link } from '../net/link';
import { encodeMessage, unitSize, type VolunteerMessage, type WorkUnit } from '../protocol';

export interface HeartbeatSource {
  /** True while we wait for something from the host: only then does silence count. */
  expecting(): boolean;
  /** The heartbeats to send now, one per unit held. */
  beats(): VolunteerMessage[];
}

/**
 * Keeps a volunteer's leases alive and notices a dead host. A host that was killed does not
 * close its data channels; WebRTC notices only after tens of seconds. The host answers every
 * heartbeat and request, so silence for three heartbeats (and at least 5 s) while we wait for
 * something means the link is dead: it is closed, and the session's run loop reconnects.
 */
export class Heartbeat {
  private timer?: ReturnType<typeof setInterval>;
  private lastHeard = 0;

  /** The host said something. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  start(link: Link, periodMs: number, source: HeartbeatSource, alive: () => boolean): void {
    this.stop();
    this.heard();
    const livenessMs = Math.max(3 * periodMs, 5_000);
    this.timer = setInterval(() => {
      if (!alive()) return this.stop();
      if (!source.expecting()) this.heard();
      else if (Date.now() - this.lastHeard > livenessMs) {
        console.warn(`tabgrid: no word from the host for ${livenessMs} ms; reconnecting`);
        link.close();
        return;
      }
      for (const beat of source.beats()) link.send(encodeMessage(beat));
    }, periodMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * One heartbeat per unit held: the one computing (with its progress), those waiting, and the
 * results sent without a verdict yet (reported as done).
 */
export function heartbeatsFor(
  current: { unit: WorkUnit; done: number } | undefined,
  queue: readonly WorkUnit[],
  sent: ReadonlyMap<string, { readonly total: number }>,
): VolunteerMessage[] {
  const beats: VolunteerMessage[] = [];
  if (current) beats.push({ type: 'heartbeat', unitId: current.unit.unitId, done: current.done, total: unitSize(current.unit) });
  for (const u of queue) beats.push({ type: 'heartbeat', unitId: u.unitId, done: 0, total: unitSize(u) });
  for (const [unitId, r] of sent) beats.push({ type: 'heartbeat', unitId, done: r.total, total: r.total });
  return beats;
}
