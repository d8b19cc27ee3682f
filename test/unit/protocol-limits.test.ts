import { beforeAll, describe, expect, it } from 'vitest';
import type { MerkleTree } from '../../src/hash/merkle';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { jobUnit, MAX_COLLECT_BYTES, unitWork, parseJob, type JobSpec } from '../../src/host/job';
import { makeReceipt } from '../../src/proof/receipt';
import { sharesToLeaves } from '../../src/kernels/shares';
import { signReceipt } from '../../src/proof/receipt-signing';
import type { Identity } from '../../src/proof/identity';
import {
  MAC_HEX,
  MAX_CHALLENGE,
  MAX_MESSAGE_CHARS,
  MAX_RELAY_CHARS,
  MAX_SHARES,
  MAX_UNIT_MATRIX_DIM,
  MAX_UNIT_MESSAGE_BYTES,
  MAX_UNIT_MESSAGES,
  encodeMessage,
  unitLeaves,
  unitSize,
  type ChallengedUnit,
  type HostMessage,
  type VolunteerMessage,
  type WorkUnit,
} from '../../src/protocol';
import { parseHostMessage, parseVolunteerMessage } from '../../src/validate';
import { heartbeatsFor } from '../../src/volunteer/heartbeat';
import { leafBytesOf } from '../../src/kernels/units';
import { openingsMessage, resultMessage, rowsMessages, sentResult, type Sent } from '../../src/volunteer/results';
import { newIdentity } from '../helpers/signing';
import { unitInputDigest } from '../../src/proof/commitment';

/**
 * Every message of the largest legal unit of each kernel, built by the code that really sends
 * it (the host's jobUnit, the volunteer's results.ts and heartbeats), must pass the other side's
 * validator and fit one message: a limit the sender can reach and the validator refuses is a
 * job that never finishes.
 */

let hash: Hasher;
let me: Identity;
let host: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  me = await newIdentity();
  host = await newIdentity();
});

/** The longest job id a job file may have, so unit ids are as long as they get. */
const ID = 'j'.repeat(64);
const UNITS = 1_000_000;

const hashing: JobSpec = {
  id: ID,
  kernel: 'sha256-batch',
  units: UNITS,
  messagesPerUnit: MAX_UNIT_MESSAGES,
  messageLength: MAX_UNIT_MESSAGE_BYTES,
  seed: 0xffffffff,
  samples: MAX_CHALLENGE,
};
// Hashing units upload their digests only to be kept, so the largest upload is the largest unit that may collect.
const collecting: JobSpec = { ...hashing, messagesPerUnit: MAX_COLLECT_BYTES / 32, collect: true };
const square = { id: ID, units: UNITS, m: MAX_UNIT_MATRIX_DIM, n: MAX_UNIT_MATRIX_DIM, k: MAX_UNIT_MATRIX_DIM, seed: 0xffffffff, collect: true } as const;
// One unit of every nonce (expected shares 2^32 · 2^-21 = 2048, the most a job may expect).
const pow: JobSpec = { id: ID, kernel: 'sha256d-pow', units: 1, seed: 1, noncesPerUnit: 2 ** 32, shareBits: 21, targetBits: 64 };

/** The most rows of C a matrix job may challenge at n = 1024 (parseJob bounds samples × n). */
function mostSamples(spec: JobSpec): number {
  for (let s = MAX_CHALLENGE; s > 0; s--) {
    try {
      parseJob({ ...spec, samples: s });
      return s;
    } catch {
      // too many for one openings message
    }
  }
  throw new Error('no legal sample count');
}

/**
 * A stand-in for the Merkle tree of a huge unit (2^20 leaves would take seconds to hash): the
 * same level sizes, so the volunteer's merklePath gives audit paths of the real length.
 */
function treeShaped(count: number): MerkleTree {
  const node = new Uint8Array(32).fill(0xab);
  const levels: Uint8Array[][] = [];
  for (let n = count; ; n = Math.ceil(n / 2)) {
    levels.push(new Array<Uint8Array>(n).fill(node));
    if (n === 1) break;
  }
  return { levels, root: node };
}

/** A finished result as the volunteer keeps it. Leaves are bytes of the right count and size; their values do not change any length. */
async function sentFor(unit: WorkUnit): Promise<Sent> {
  if (unit.kernel === 'sha256d-pow') {
    // The most shares a result may list, the largest nonces there are (the most digits).
    const shares = Array.from({ length: MAX_SHARES }, (_, i) => 2 ** 32 - MAX_SHARES + i);
    return sentResult(unit, { leaves: sharesToLeaves(shares), leafBytes: leafBytesOf(unit), backend: 'webgpu' }, unitSize(unit), hash);
  }
  const { count, bytes } = unitLeaves(unit);
  const leaves = new Uint8Array(count * bytes).fill(0x9c);
  if (unit.kernel !== 'sha256-batch') return sentResult(unit, { leaves, leafBytes: bytes, backend: 'webgpu' }, count, hash);
  const tree = treeShaped(count);
  const root = 'ab'.repeat(32);
  return {
    root,
    backend: 'webgpu',
    tree,
    leaves,
    leafBytes: bytes,
    total: count,
    commitment: { jobId: unit.jobId, unitId: unit.unitId, kernel: unit.kernel, inputDigest: unitInputDigest(unit), root },
  };
}

function fits(m: VolunteerMessage | HostMessage, parse: (raw: unknown) => unknown): void {
  const text = encodeMessage(m);
  expect(text.length, `${m.type} of ${text.length} characters`).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  expect(parse(text)).toEqual(m);
  // Through a relay too: wrapped whole, within the relay's own limit.
  const wrapped = parse === parseVolunteerMessage ? encodeMessage({ type: 'relay', child: 'c8', text }) : encodeMessage({ type: 'relayed', child: 'c8', text });
  expect(wrapped.length).toBeLessThanOrEqual(MAX_RELAY_CHARS);
  expect(parse(wrapped)).toMatchObject({ text });
}

describe('protocol limits: the largest legal unit of every kernel crosses the wire', () => {
  const f32 = () => ({ ...square, kernel: 'matmul-f32', samples: mostSamples({ ...square, kernel: 'matmul-f32', samples: 1 }) }) as const;
  const modp = () =>
    ({ ...square, kernel: 'matmul-modp', p: 65521, samples: mostSamples({ ...square, kernel: 'matmul-modp', p: 65521, samples: 1 }) }) as const;
  /** Each kernel's largest unit, and the largest whose whole output is uploaded (`rows`). */
  const kernels: [string, () => JobSpec, () => JobSpec | undefined][] = [
    ['sha256-batch', () => hashing, () => collecting],
    ['matmul-f32', f32, f32],
    ['matmul-modp', modp, modp],
    ['sha256d-pow', () => pow, () => undefined],
  ];

  it.each(kernels)('%s', async (_, specOf, uploadingOf) => {
    const spec = parseJob(specOf());
    const unit = jobUnit(spec, spec.units - 1);
    const total = unitSize(unit);
    fits({ type: 'unit', id: Number.MAX_SAFE_INTEGER, unit, leaseMs: 86_400_000 }, parseHostMessage);
    const sent = await sentFor(unit);
    for (const beat of heartbeatsFor({ unit, done: total }, [unit], new Map([[unit.unitId, sent]]))) fits(beat, parseVolunteerMessage);
    fits(resultMessage(sent, 'f'.repeat(MAC_HEX)), parseVolunteerMessage);
    if (unit.kernel !== 'sha256d-pow') {
      const { count } = unitLeaves(unit as ChallengedUnit);
      const samples = spec.kernel === 'sha256d-pow' ? 0 : spec.samples!;
      // The challenge at the largest indices, whose audit paths are as long as any.
      const indices = Array.from({ length: samples }, (_, i) => count - samples + i);
      fits({ type: 'challenge', unitId: unit.unitId, indices }, parseHostMessage);
      const openings = openingsMessage(unit.unitId, sent, indices);
      expect(openings.type === 'openings' && openings.openings.map((o) => o.path.length)).toEqual(indices.map(() => Math.ceil(Math.log2(count))));
      fits(openings, parseVolunteerMessage);
    }
    const uploading = uploadingOf();
    if (uploading) {
      const big = jobUnit(parseJob(uploading), uploading.units - 1) as ChallengedUnit;
      const output = await sentFor(big);
      fits({ type: 'send-rows', unitId: big.unitId }, parseHostMessage);
      // The whole output as the volunteer chunks it: every message, the last one included.
      let next = 0;
      for (const m of rowsMessages(big.unitId, output)) {
        if (m.type !== 'rows') throw new Error('expected rows');
        expect(m.first).toBe(next);
        next += m.data.length / (2 * output.leafBytes);
        fits(m, parseVolunteerMessage);
      }
      expect(next).toBe(unitLeaves(big).count);
    }
    const credit = unitWork(unit);
    expect(Number.isSafeInteger(credit * spec.units)).toBe(true);
    const unsigned = makeReceipt({ jobId: unit.jobId, unitId: unit.unitId, volunteer: me.id, credit, root: sent.root, issuedAt: 4_102_444_800_000 }, hash);
    const receipt = { ...unsigned, signature: await signReceipt(host, unsigned) };
    fits(
      { type: 'verdict', unitId: unit.unitId, verdict: 'accepted', reason: 'verified', credit, totalCredit: credit * spec.units, receipt },
      parseHostMessage,
    );
  });
});
