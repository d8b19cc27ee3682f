/**
 * A proof-of-work unit's input source: its header and targets as bytes (the unit carries them
 * as hex), and a job's header, derived from the job's seed when the job names none. Every user
 * of them (the compute worker, the host's recheck, the farm) asks here.
 */
import { fromHex, toHex } from '../../hex';
import { seededMessage } from '../../work/seeded';
import { HEADER_BYTES } from './pow';
import type { PowUnit } from './unit';

export interface PowInputs {
  readonly header: Uint8Array;
  readonly target: Uint8Array;
  readonly shareTarget: Uint8Array;
}

export function powInputs(unit: PowUnit): PowInputs {
  // The unit was parsed (or made by the host): its hex is well formed.
  const bytes = (hex: string) => fromHex(hex) ?? new Uint8Array(0);
  return { header: bytes(unit.header), target: bytes(unit.target), shareTarget: bytes(unit.shareTarget) };
}

/** A job's header: the given one, or 80 bytes from the job's seed. */
export function powHeader(spec: { readonly header?: string; readonly seed: number }): string {
  return spec.header ?? toHex(seededMessage(spec.seed, 0, HEADER_BYTES));
}
