import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Link } from '../../src/net/link';
import { hostAbsent } from '../../src/net/peer-error';
import { TabgridError, ErrorCode } from '../../src/errors';
import { Heartbeat, type HeartbeatSource } from '../../src/volunteer/heartbeat';

/** A link that records what is sent and whether it was closed. */
function recordingLink() {
  const sent: unknown[] = [];
  let closed = 0;
  const link: Link = { peer: 'host', send: (t) => sent.push(JSON.parse(t)), sendData: () => undefined, close: () => closed++ };
  return { link, sent, closed: () => closed };
}
const source: HeartbeatSource = {
  expecting: () => true,
  beats: () => [{ type: 'heartbeat', unitId: 'job/1', done: 5, total: 10 }],
};

describe('Heartbeat', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('closes a link that stays silent for three periods while we wait for the host', () => {
    const { link, sent, closed } = recordingLink();
    const beat = new Heartbeat();
    beat.start(link, 2_000, source, () => true);
    vi.advanceTimersByTime(6_000);
    expect(sent).toHaveLength(3);
    expect(closed()).toBe(0);
    vi.advanceTimersByTime(2_000);
    expect(closed()).toBe(1);
    // Closed once, and no more beats over it.
    vi.advanceTimersByTime(10_000);
    expect(closed()).toBe(1);
    expect(sent).toHaveLength(3);
  });

  it('notices silence within a second of the bound, not a period later', () => {
    const { link, closed } = recordingLink();
    const beat = new Heartbeat();
    beat.start(link, 15_000, source, () => true);
    beat.heard();
    vi.advanceTimersByTime(45_000);
    expect(closed()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(closed()).toBe(1);
  });

  it('does not count a stretch the page did not run (frozen, throttled) as the host’s silence: the beats after it are the ping', () => {
    const { link, sent, closed } = recordingLink();
    const beat = new Heartbeat();
    beat.start(link, 2_000, source, () => true);
    vi.advanceTimersByTime(2_000);
    // Frozen for 90 s: the wall clock moves, no timer runs.
    vi.setSystemTime(Date.now() + 90_000);
    vi.advanceTimersByTime(2_000);
    expect(closed()).toBe(0);
    expect(sent).toHaveLength(2); // beat at once on the late tick
    // The host answers: the link lives.
    beat.heard();
    vi.advanceTimersByTime(4_000);
    expect(closed()).toBe(0);
    // It does not answer the pings: three periods later the link is closed.
    vi.advanceTimersByTime(4_000);
    expect(closed()).toBe(1);
    beat.stop();
  });

  it('beats now on thaw, and with `pausing` as the page freezes; silence counts from the beat', () => {
    const { link, sent, closed } = recordingLink();
    const beat = new Heartbeat();
    beat.start(link, 2_000, source, () => true);
    beat.beatNow(true);
    expect(sent).toEqual([{ type: 'heartbeat', unitId: 'job/1', done: 5, total: 10, pausing: true }]);
    vi.setSystemTime(Date.now() + 120_000);
    beat.beatNow();
    expect(sent[1]).toEqual({ type: 'heartbeat', unitId: 'job/1', done: 5, total: 10 });
    vi.advanceTimersByTime(2_000);
    expect(closed()).toBe(0);
    beat.stop();
    beat.beatNow(); // stopped: sends nothing
    expect(sent).toHaveLength(3);
  });
});

describe('hostAbsent', () => {
  it('knows the signaling server’s “no such peer”, through the causes a connect wraps it in', () => {
    const peerError = Object.assign(new Error('Could not connect to peer h'), { type: 'peer-unavailable' });
    expect(hostAbsent(peerError)).toBe(true);
    expect(hostAbsent(new TabgridError(ErrorCode.Network, 'cannot reach host h', { cause: peerError }))).toBe(true);
    expect(hostAbsent(new TabgridError(ErrorCode.Network, 'cannot reach host h', { cause: Object.assign(new Error('x'), { type: 'network' }) }))).toBe(false);
    expect(hostAbsent(new Error('plain'))).toBe(false);
    expect(hostAbsent(undefined)).toBe(false);
  });
});
