import * as v from 'valibot';
import { jobSpecSchema, policiesRefused } from '../job-spec';
import { hexBytes, intIn } from '../spec-fields';
import { list } from '../../protocol/fields';
import { MAX_SHARES } from './unit';

/** The most headers one job lists. */
export const MAX_HEADERS = 1024;

/** Below this many expected shares per unit, skipping part of a range is hard to detect. */
export const MIN_EXPECTED_SHARES = 16;

/**
 * A proof-of-work search: unit i searches nonces [nonceStart + i·noncesPerUnit, …) of `header`
 * (160 hex digits; derived from `seed` when absent) for hashes with `targetBits` leading zero
 * bits (solutions) and reports every hash with `shareBits` (shares). The host rechecks every
 * share, so there is no sampling; noncesPerUnit · 2^-shareBits (the expected shares per unit)
 * must lie in 16..2048, enough for the share-count test to catch a skipped range and few
 * enough to fit one message. With `headers` (a researcher's list of block headers), each
 * header gets its own run of units/headers.length units, each run searching from nonceStart.
 */
export const powSpecSchema = jobSpecSchema(
  'sha256d-pow',
  {
    header: v.optional(hexBytes('header', 80)),
    headers: v.optional(list(hexBytes('each of headers', 80), MAX_HEADERS)),
    nonceStart: v.optional(intIn('nonceStart', 0, 0xffffffff)),
    noncesPerUnit: intIn('noncesPerUnit', 1, 2 ** 32),
    shareBits: intIn('shareBits', 0, 64),
    targetBits: intIn('targetBits (at least shareBits)', 0, 256),
    ...policiesRefused('sha256d-pow', 'every share is rechecked', 'its solutions are always kept'),
  },
  [
    (spec) => (spec.header !== undefined && spec.headers !== undefined ? 'give header or headers, not both' : undefined),
    (spec) =>
      spec.headers !== undefined && (spec.headers.length === 0 || spec.units % spec.headers.length !== 0)
        ? `units must be a multiple of the ${spec.headers.length} headers (each header gets as many units)`
        : undefined,
    (spec) =>
      (spec.nonceStart ?? 0) + unitsPerHeader(spec) * spec.noncesPerUnit > 2 ** 32 ? 'the nonce ranges of all units must end at or before 2^32' : undefined,
    (spec) => (spec.targetBits < spec.shareBits ? `targetBits (at least shareBits) must be an integer in ${spec.shareBits}..256` : undefined),
    (spec) => {
      const expected = spec.noncesPerUnit * 2 ** -spec.shareBits;
      return expected < MIN_EXPECTED_SHARES || expected > MAX_SHARES / 2
        ? `noncesPerUnit · 2^-shareBits = ${expected} expected shares per unit; it must lie in ${MIN_EXPECTED_SHARES}..${MAX_SHARES / 2}`
        : undefined;
    },
  ],
);
/** Units searching each header: all of them for a job of one header. */
export function unitsPerHeader(spec: { readonly units: number; readonly headers?: readonly string[] }): number {
  return spec.headers ? spec.units / spec.headers.length : spec.units;
}

export type PowJobSpec = v.InferOutput<typeof powSpecSchema>;
