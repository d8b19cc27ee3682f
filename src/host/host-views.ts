import type { Backend } from '../protocol';
import type { StoredUnitState } from './store/store';

/**
 * Read-only views of a running host, for a dashboard: copies of plain data, never the
 * host's own records, so a view cannot change the host.
 */

/** One unit as a dashboard shows it. */
export interface UnitView {
  readonly unitId: string;
  readonly index: number;
  readonly state: StoredUnitState;
  /** The volunteer holding the lease, or whose result was accepted. */
  readonly holder: string | null;
  /** Items done, as the holder last reported. */
  readonly progress: number;
  /** The committed (verifying) or accepted Merkle root. */
  readonly root: string | null;
  /** Volunteers whose result for this unit was rejected. */
  readonly rejections: number;
  readonly acceptedAt: number | null;
  /** What computed the result under judgement or accepted, as its volunteer reported it (never trusted); absent when unknown. */
  readonly backend?: Backend;
  readonly adapter?: string;
}

/** One verdict the host committed, for a verification log. */
export interface VerdictEvent {
  /** Epoch ms, by the host's clock. */
  readonly at: number;
  readonly unitId: string;
  readonly volunteer: string;
  /** A protocol Verdict value (accepted, rejected, duplicate, and any the protocol adds). */
  readonly verdict: string;
  readonly reason: string;
  readonly credit: number;
}
