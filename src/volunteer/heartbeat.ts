import type { Link } from '../net/link';
import { encodeMessage, unitSize, type VolunteerMessage, type WorkUnit } from '../protocol';
import { every, mainTimers, type Timers } from '../timers';

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
 *
 * Silence is counted from our own last heartbeat that went out on time, never across a stretch
 * in which this page did not run (frozen, or its timers throttled): a tick that comes far
 * later than its period, or `beatNow` after a thaw, sends heartbeats at once, and the host's
 * answers to those (a ping and its reply) decide whether the link lives.
 */
export class Heartbeat {
  private stopTicks?: () => void;
  private running?: { readonly link: Link; readonly source: HeartbeatSource; readonly alive: () => boolean; readonly livenessMs: number };
  private lastHeard = 0;
  private lastTick = 0;

  constructor(private readonly timers: Timers = mainTimers) {}

  /** The host said something. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  start(link: Link, periodMs: number, source: HeartbeatSource, alive: () => boolean): void {
    this.stop();
    this.heard();
    this.lastTick = Date.now();
    const livenessMs = Math.max(3 * periodMs, 5_000);
    this.running = { link, source, alive, livenessMs };
    this.stopTicks = every(this.timers, periodMs, () => {
      const now = Date.now();
      // Late by more than a period: this page was not running, so the silence was ours. It counts from these beats.
      if (now - this.lastTick > 2 * periodMs) this.lastHeard = now;
      this.lastTick = now;
      this.tick();
    });
  }

  /**
   * Sends the heartbeats now (after a thaw, or `pausing` before a freeze). Silence is counted
   * from now: whether the host answers these decides whether the link lives, not how long the
   * page slept.
   */
  beatNow(pausing = false): void {
    const r = this.running;
    if (!r || !r.alive()) return this.stop();
    this.lastHeard = this.lastTick = Date.now();
    for (const beat of r.source.beats()) r.link.send(encodeMessage(pausing && beat.type === 'heartbeat' ? { ...beat, pausing: true } : beat));
  }

  private tick(): void {
    const r = this.running;
    if (!r || !r.alive()) return this.stop();
    if (!r.source.expecting()) this.heard();
    else if (Date.now() - this.lastHeard > r.livenessMs) {
      console.warn(`tabgrid: no answer from the host for ${r.livenessMs} ms; reconnecting`);
      r.link.close();
      return;
    }
    for (const beat of r.source.beats()) r.link.send(encodeMessage(beat));
  }

  stop(): void {
    this.stopTicks?.();
    this.stopTicks = undefined;
    this.running = undefined;
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
