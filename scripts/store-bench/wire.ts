/**
 * What the store benchmark's host process (host-process.ts) and its driver (driver.ts) say over
 * Node's IPC channel, and the job they run.
 */
import type { JobSpec } from '../../src/host/job';

/**
 * The README's host-scaling job: sha256-batch units of 16 × 64-byte messages, 4 leaves
 * challenged, every result verified (no trust policy), so each unit costs the host its three
 * messages (request-unit, result, openings) and their three commits.
 */
export function benchJob(units: number): JobSpec {
  return { id: 'bench', kernel: 'sha256-batch', units, messagesPerUnit: 16, messageLength: 64, seed: 17, samples: 4 };
}

export type ToHost =
  | { readonly type: 'message'; readonly seq: number; readonly name: string; readonly text: string }
  | { readonly type: 'disconnect'; readonly name: string }
  | { readonly type: 'stats' }
  | { readonly type: 'stop' };

export interface HostProcessStats {
  /** process.cpuUsage() since the host started serving, user + system. */
  readonly cpuSeconds: number;
  /** The kernel's share of it (system calls: pipe writes, WAL writes, fsync). */
  readonly systemSeconds: number;
  /** Event-loop active time since then: CPU plus the time blocked in synchronous fsyncs. */
  readonly busySeconds: number;
  readonly accepted: number;
  readonly total: number;
  /** Batches committed, and the durable transactions (fsyncs) they took: fewer with group commit. */
  readonly batches: number;
  readonly transactions: number;
}

export type FromHost =
  | { readonly type: 'ready'; readonly publicKey: string }
  | { readonly type: 'replies'; readonly seq: number; readonly texts: readonly string[] }
  | { readonly type: 'stats'; readonly stats: HostProcessStats };
