import { toHex } from '../hex';
import { sha256Ref } from '../hash/sha256-ref';
import { ErrorCode, TabgridError } from '../errors';
import type { Kernel, WorkUnit } from '../protocol';

/**
 * A result commitment: a volunteer's statement "for unit `unitId` of job `jobId`, running
 * `kernel` on the inputs with digest `inputDigest`, my result has Merkle root `root`",
 * authenticated with its connection's result key (result-key.ts). Every field is in the
 * authenticated bytes, so a MAC replayed for another job, unit, kernel, input or root does not
 * verify; and the bytes begin with a domain tag, so they are never mistaken for anything else a
 * key signs or authenticates (receipt-signing.ts and key-proof.ts have their own tags).
 *
 * Encoding: the UTF-8 of a JSON array of strings, [tag, jobId, unitId, kernel, inputDigest,
 * root]. JSON string escaping makes the split into fields unambiguous ("a","bc" ≠ "ab","c").
 */

const COMMITMENT_TAG = 'tabgrid/commitment/v1';
const UNIT_INPUT_TAG = 'tabgrid/unit-input/v1';
const DIGEST_HEX = /^[0-9a-f]{64}$/;

export interface CommitmentFields {
  readonly jobId: string;
  readonly unitId: string;
  readonly kernel: Kernel;
  /** unitInputDigest(unit). */
  readonly inputDigest: string;
  /** The result's Merkle root, hex (32 bytes). */
  readonly root: string;
}

/**
 * SHA-256 (hex) of a canonical encoding of the unit's inputs: every field of the unit except
 * `jobId` and `unitId` (the kernel, its seed, sizes and modulus), as a JSON array of
 * [name, value] pairs sorted by name. The ids are left out because they name the assignment,
 * not what is computed, and the commitment binds them itself; taking every other field (rather
 * than a list per kernel) means a parameter added to a unit later changes the digest without
 * anyone remembering to add it here.
 */
export function unitInputDigest(unit: WorkUnit): string {
  const fields: [string, Canonical][] = [];
  for (const [name, value] of Object.entries(unit)) {
    if (name === 'jobId' || name === 'unitId' || value === undefined) continue;
    fields.push([name, canonical(name, value)]);
  }
  return sha256Hex(JSON.stringify([UNIT_INPUT_TAG, ...sorted(fields)]));
}

type Canonical = string | number | [string, Canonical][];

/**
 * Only plain values have one canonical JSON form (no NaN, which JSON turns to null); a dataset
 * slice (an object of plain values) becomes its [name, value] pairs sorted by name.
 */
function canonical(name: string, value: unknown): Canonical {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return sorted(Object.entries(value).map(([k, v]): [string, Canonical] => [k, canonical(`${name}.${k}`, v)]));
  }
  throw new TabgridError(ErrorCode.BadInput, `unit field ${name} is not a string, a finite number or an object of them`);
}

function sorted(fields: [string, Canonical][]): [string, Canonical][] {
  return fields.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

/** The bytes a commitment's MAC covers. Throws BadInput for a digest or root that is not 32 bytes of hex. */
export function commitmentBytes(f: CommitmentFields): Uint8Array {
  if (!DIGEST_HEX.test(f.inputDigest)) throw new TabgridError(ErrorCode.BadInput, 'inputDigest must be 64 lower-case hex characters');
  if (!DIGEST_HEX.test(f.root)) throw new TabgridError(ErrorCode.BadInput, 'root must be 64 lower-case hex characters');
  for (const [name, value] of [
    ['jobId', f.jobId],
    ['unitId', f.unitId],
    ['kernel', f.kernel],
  ] as const) {
    if (typeof value !== 'string') throw new TabgridError(ErrorCode.BadInput, `${name} must be a string`);
  }
  return new TextEncoder().encode(JSON.stringify([COMMITMENT_TAG, f.jobId, f.unitId, f.kernel, f.inputDigest, f.root]));
}

function sha256Hex(text: string): string {
  return toHex(sha256Ref(new TextEncoder().encode(text)));
}
