import type * as v from 'valibot';

/**
 * What a unit's result is made of. `leaves`: a fixed number of leaves of a fixed size, known
 * from the unit, which the host can open and check one by one (challenges, replicas, uploads of
 * the whole output). `shares`: proof of work's list of 4-byte nonces, as many as were found,
 * which the result message lists and the host rechecks in full.
 */
export const UnitOutput = { Leaves: 'leaves', Shares: 'shares' } as const;
export type UnitOutput = (typeof UnitOutput)[keyof typeof UnitOutput];

/**
 * A kernel's unit as it travels: its shape on the wire and what its result looks like. The
 * lowest part of a kernel module (kernels/<kernel>/unit.ts): the protocol, the validator, the
 * volunteer and the widget read it, so it pulls in nothing but Valibot.
 */
export interface UnitKernel<U extends { readonly kernel: string }> {
  readonly kernel: U['kernel'];
  /** What a volunteer is told it computes ("SHA-256 hashing"). */
  readonly name: string;
  /** The unit on the wire: every field, its limits, no other field. */
  readonly schema: v.GenericSchema<U>;
  readonly output: UnitOutput;
  /** Bytes of one Merkle leaf of the result. */
  leafBytes(unit: U): number;
  /** Leaves of the result: known from the unit for `leaves`; for `shares`, what was found. */
  leafCount(unit: U): number | undefined;
  /** What a unit's progress counts up to (leaves, or nonces searched). */
  size(unit: U): number;
}
