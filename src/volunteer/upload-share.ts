/**
 * The visitor's upload share (issue 18: "share inputs with other volunteers: up to N MB/s"): a
 * token bucket, in bytes per second, shared by every downloader this tab serves. A send takes
 * its bytes first; when the bucket is short the send waits until the rate has refilled it, so
 * over any window the bytes sent stay within rate × window plus one burst. Reservations may
 * run the bucket below zero (the next send waits for that debt too), which keeps concurrent
 * downloaders fair and the rate exact. A wait longer than `maxWaitMs` is refused as busy, so a
 * downloader moves on instead of stalling; a rate of 0 serves nothing.
 */
import { sleep } from '../async';
import { DATASET_CHUNK_BYTES } from '../data/dataset';
import { ErrorCode, TabgridError } from '../errors';

/** MB as the widget says it: 10^6 bytes. */
export const MB = 1_000_000;
/** The share a visitor starts with, MB/s: a few chunks a second, a small part of a home uplink. */
export const DEFAULT_UPLOAD_MBPS = 2;
/** The most the widget offers, MB/s. */
export const MAX_UPLOAD_MBPS = 10;
/** The longest a send waits for the bucket before it is refused as busy. */
export const MAX_UPLOAD_WAIT_MS = 4000;

export class UploadShare {
  private tokens: number;
  private at: number;
  private bytesPerSecond: number;
  private sent = 0;

  constructor(
    bytesPerSecond: number,
    private readonly clock: () => number = () => performance.now(),
    /** What the bucket holds at most: one chunk, so the rate holds over short windows too. */
    private readonly burst = DATASET_CHUNK_BYTES,
  ) {
    this.bytesPerSecond = checkRate(bytesPerSecond);
    this.tokens = burst;
    this.at = clock();
  }

  /** Bytes per second allowed now. */
  get rate(): number {
    return this.bytesPerSecond;
  }

  set rate(bytesPerSecond: number) {
    this.refill();
    this.bytesPerSecond = checkRate(bytesPerSecond);
  }

  /** Bytes handed out since the share was made. */
  get bytesSent(): number {
    return this.sent;
  }

  /**
   * Waits until `bytes` may go, and counts them as sent. Throws busy (taking nothing) when the
   * share is 0 or the wait would pass `maxWaitMs`, aborted on `signal`.
   */
  async take(bytes: number, signal: AbortSignal, maxWaitMs = MAX_UPLOAD_WAIT_MS): Promise<void> {
    if (this.bytesPerSecond <= 0) throw new TabgridError(ErrorCode.Busy, 'this volunteer shares no upload now');
    this.refill();
    const waitMs = this.tokens >= bytes ? 0 : ((bytes - this.tokens) / this.bytesPerSecond) * 1000;
    if (waitMs > maxWaitMs) throw new TabgridError(ErrorCode.Busy, `this volunteer's upload share is in use (a ${Math.round(waitMs)} ms wait)`);
    this.tokens -= bytes;
    this.sent += bytes;
    if (waitMs <= 0) return;
    try {
      await sleep(waitMs, signal);
    } catch (err) {
      // Not sent: the reservation goes back.
      this.tokens += bytes;
      this.sent -= bytes;
      throw err;
    }
  }

  private refill(): void {
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.at) * this.bytesPerSecond) / 1000);
    this.at = now;
  }
}

function checkRate(bytesPerSecond: number): number {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0)
    throw new TabgridError(ErrorCode.BadInput, `an upload share of ${bytesPerSecond} bytes/s is not ≥ 0`);
  return bytesPerSecond;
}
