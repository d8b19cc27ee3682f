import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore, type AcceptedResult } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { Identity } from '../../src/proof/identity';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import type { HostMessage, Receipt, WorkUnit } from '../../src/protocol';
import { seededRandom } from '../../src/work/seeded';
import { honest, reasonOf, submit, volunteer } from '../helpers/judged';
import { newIdentity } from '../helpers/signing';

/** A matmul-i8 job through a HostCore, message by message: each bit-exact policy, honest results and one wrong element. */

let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

const base = { kernel: 'matmul-i8', units: 2, m: 24, n: 17, k: 39, seed: 11 } as const;
// Every row challenged: a single wrong element cannot slip past the challenge by luck.
const challenge: JobSpec = { ...base, id: 'i8c', samples: 24 };
const replicate: JobSpec = { ...base, id: 'i8r', replicate: true, samples: 24 };
const freivalds: JobSpec = { ...base, id: 'i8f', verify: { policy: 'freivalds', rounds: 2 } };

function open(spec: JobSpec, accepted: AcceptedResult[] = []) {
  return HostCore.open(new MemoryHostStore(), [spec], {
    hostId: 'h',
    hash,
    identity: hostKey,
    random: seededRandom(2),
    maxLeases: 1,
    onAccepted: (r) => accepted.push(r),
  });
}

/** The honest rows of C with element (row, col) one off: a wrong result that still commits and signs properly. */
function oneWrong(unit: WorkUnit, row: number, col: number): Uint8Array {
  const leaves = honest(unit, hash).slice();
  const view = new DataView(leaves.buffer);
  const at = 4 * (row * base.n + col);
  view.setInt32(at, view.getInt32(at, true) + 1, true);
  return leaves;
}

async function expectReceipt(verdict: HostMessage, credit: number) {
  expect(verdict).toMatchObject({ type: 'verdict', verdict: 'accepted', credit });
  const receipt = (verdict as { receipt: Receipt }).receipt;
  expect(await verifyReceiptSignature(hostKey.publicKey, receipt, receipt.signature!)).toBe(true);
}

describe('matmul-i8 jobs on the host', () => {
  const credit = base.m * base.n * base.k;

  it('challenge: accepts honest results with signed receipts (credit = m·n·k), rejects one wrong element', async () => {
    const accepted: AcceptedResult[] = [];
    const core = await open(challenge, accepted);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    expect(unit).toMatchObject({ kernel: 'matmul-i8', m: 24, n: 17, k: 39, p: 0 });
    await expectReceipt(await submit(v, unit, honest(unit, hash), hash), credit);
    const second = await v.lease();
    expect(reasonOf(await submit(v, second, oneWrong(second, 5, 16), hash))).toMatch(/^rejected: .*C\[5\]\[16\] = -?\d+, expected -?\d+/);
    expect(accepted.map((r) => r.unitId)).toEqual([unit.unitId]);
  });

  it('replicate: two keys agreeing on the exact product are both credited; a key reporting a wrong element is caught', async () => {
    const core = await open({ ...replicate, units: 1 });
    const [a, b, liar] = [await volunteer(core, 'a'), await volunteer(core, 'b'), await volunteer(core, 'c')];
    const unit = await liar.lease();
    // The liar's replica is challenged on every row before its vote counts, so it is rejected at once.
    expect(reasonOf(await submit(liar, unit, oneWrong(unit, 23, 0), hash))).toMatch(/^rejected: .*C\[23\]\[0\]/);
    expect((await a.lease()).unitId).toBe(unit.unitId);
    expect(await submit(a, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'pending' });
    expect((await b.lease()).unitId).toBe(unit.unitId);
    const verdict = await submit(b, unit, honest(unit, hash), hash);
    expect(reasonOf(verdict)).toMatch(/^accepted: .*2 keys reported the same result/);
    await expectReceipt(verdict, credit);
    expect(core.done).toBe(true);
  });

  it("freivalds: accepts the exact product and rejects one wrong element, from C's rows alone", async () => {
    const core = await open(freivalds);
    const v = await volunteer(core, 'a');
    const unit = await v.lease();
    await expectReceipt(await submit(v, unit, honest(unit, hash), hash), credit);
    const second = await v.lease();
    expect(reasonOf(await submit(v, second, oneWrong(second, 9, 3), hash))).toMatch(/^rejected: Freivalds' check failed: row 9 of C is wrong/);
  });
});
