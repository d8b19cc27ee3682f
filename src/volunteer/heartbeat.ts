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
 * Silence is checked every second (CHECK_MS), beats go every period: a dead host is noticed
 * within the liveness bound of its last answer, not a period later.
 *
 * Silence is counted from our own last heartbeat that went out on time, never across a stretch
 * in which this page did not run (frozen, or its timers throttled): a check that comes seconds
 * late, or `beatNow` after a thaw, sends heartbeats at once, and the host's answers to those (a
 * ping and its reply) decide whether the link lives.
 */
export class Heartbeat {
  private stopTicks?: () => void;
  private running?: { readonly link: Link; readonly source: HeartbeatSource; readonly alive: () => boolean; readonly livenessMs: number };
  private lastHeard = 0;
  private lastBeat = 0;

  constructor(private readonly timers: Timers = mainTimers) {}

  /** The host said something. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  start(link: Link, periodMs: number, source: HeartbeatSource, alive: () => boolean): void {
    this.stop();
    this.heard();
    const livenessMs = Math.max(3 * periodMs, 5_000);
    const checkMs = Math.min(periodMs, CHECK_MS);
    this.running = { link, source, alive, livenessMs };
    let lastTick = Date.now();
    this.lastBeat = lastTick;
    this.stopTicks = every(this.timers, checkMs, () => {
      const now = Date.now();
      const slept = now - lastTick > 2 * checkMs + LATE_MS;
      lastTick = now;
      // Seconds late: this page was not running, so the silence was ours. It counts from these beats.
      if (slept) return this.beatNow();
      if (!this.alive()) return;
      if (now - this.lastBeat < periodMs - checkMs / 2) return;
      this.send(false);
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
    this.lastHeard = Date.now();
    this.send(pausing);
  }

  /** Whether the link still counts as alive; closes it when the host has been silent too long while we wait for it. */
  private alive(): boolean {
    const r = this.running;
    if (!r || !r.alive()) {
      this.stop();
      return false;
    }
    if (!r.source.expecting()) this.heard();
    else if (Date.now() - this.lastHeard > r.livenessMs) {
      console.warn(`tabgrid: no answer from the host for ${r.livenessMs} ms; reconnecting`);
      r.link.close();
      this.stop();
      return false;
    }
    return true;
  }

  private send(pausing: boolean): void {
    const r = this.running;
    if (!r) return;
    this.lastBeat = Date.now();
    for (const beat of r.source.beats()) r.link.send(encodeMessage(pausing && beat.type === 'heartbeat' ? { ...beat, pausing: true } : beat));
  }

  stop(): void {
    this.stopTicks?.();
    this.stopTicks = undefined;
    this.running = undefined;
  }
}

/** How often silence is checked (at most; a shorter heartbeat period checks at each beat). */
const CHECK_MS = 1000;
/** A check this much later than due means the page did not run (frozen, or its timers throttled). */
const LATE_MS = 1000;

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
