import type { HostCore } from '../../src/host/host-core';
import type { TrackerStats } from '../../src/host/swarm-tracker';

/** Message types whose handling is judging: the result itself, and the answers to its check. */
export const JUDGING = new Set(['result', 'openings', 'rows']);

/** What a farm host reports about itself, each `statsMs` and when it stops (see host-child.ts). */
export interface HostStats {
  /** process.cpuUsage() of the host process, user + system, seconds. */
  readonly cpuSeconds: number;
  /** Time the single handle queue spent per message type, seconds (see timeHandling). */
  readonly busy: Record<string, number>;
  readonly accepted: number;
  readonly total: number;
  /** Dataset bytes the host served to volunteers (HostCore.datasetBytesServed). */
  readonly inputBytes: number;
  /** The same per volunteer key and dataset root (HostCore.datasetBytesByKey). */
  readonly inputBytesByKey: Record<string, Record<string, number>>;
  /** The swarm tracker's counts (HostCore.swarmStats), of the latest incarnation. */
  readonly swarm?: TrackerStats;
}

export const STATS_PREFIX = 'farm-stats ';
export const ACCEPTED_PREFIX = 'accepted ';

/**
 * Times each message's turn in the core's queue. The core handles one message at a time in
 * call order, so a message's turn runs from when it was handed in (or the previous one ended,
 * if later) to when its replies resolve. That is its share of the host's one handle queue:
 * signature checks, the verification itself and the SQLite commit. Replaces core.handle.
 */
export function timeHandling(core: HostCore): Record<string, number> {
  const busy: Record<string, number> = {};
  const handle = core.handle.bind(core);
  let lastEnd = 0;
  core.handle = async (name, raw) => {
    const called = performance.now();
    try {
      return await handle(name, raw);
    } finally {
      const end = performance.now();
      const type = typeof raw === 'string' ? (/"type":"([\w-]+)"/.exec(raw)?.[1] ?? 'unknown') : 'unknown';
      busy[type] = (busy[type] ?? 0) + (end - Math.max(called, lastEnd)) / 1000;
      lastEnd = end;
    }
  };
  return busy;
}

/** The judging part of a busy table, seconds. */
export function judgingSeconds(busy: Record<string, number>): number {
  return Object.entries(busy).reduce((n, [type, s]) => n + (JUDGING.has(type) ? s : 0), 0);
}
