import type { Peer } from 'peerjs';
import { mainTimers, type TimerHandle, type Timers } from '../timers';
import { backoffMs } from './backoff';

/**
 * Keeps a peer on the signaling server while its data connections live. The server drops a
 * socket it has not heard from for a minute, as it does for a page frozen that long (PeerJS's
 * own keep-alive runs on the page's timers, which stop); PeerJS then says `disconnected` and
 * never comes back by itself, so the page could no longer be found by relay children. This
 * reconnects with the same id, with a backoff on `timers` while the server refuses.
 */
export class SignalingKeeper {
  private attempt = 0;
  private timer?: TimerHandle;
  private stopped = false;

  constructor(
    private readonly peer: Peer,
    private readonly timers: Timers = mainTimers,
  ) {
    peer.on('disconnected', () => this.lost());
    peer.on('open', () => {
      this.attempt = 0;
    });
    // Every signaling error is followed by `disconnected` (or by destroy); the link reports its own errors.
    peer.on('error', () => undefined);
  }

  /** Whether the peer is registered with the signaling server now. */
  get online(): boolean {
    return this.peer.open && !this.peer.disconnected && !this.peer.destroyed;
  }

  /** Reconnects now if the socket dropped (a thawed page, whose timers did not run). */
  now(): void {
    if (this.stopped || !this.peer.disconnected || this.peer.destroyed) return;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.reconnect();
  }

  stop(): void {
    this.stopped = true;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private lost(): void {
    if (this.stopped || this.peer.destroyed || this.timer) return;
    // The first try at once: a server that simply dropped a frozen page's socket takes it back.
    const delay = this.attempt === 0 ? 0 : backoffMs(this.attempt, 1000, 30_000);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.reconnect();
    }, delay);
  }

  private reconnect(): void {
    if (this.stopped || !this.peer.disconnected || this.peer.destroyed) return;
    this.attempt++;
    try {
      this.peer.reconnect();
    } catch (err) {
      console.warn('tabgrid: could not rejoin the signaling server:', (err as Error).message);
    }
  }
}
