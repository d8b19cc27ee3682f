import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore, JobStatus } from '../../src/host/host-core';
import { productJob } from '../../src/host/ingest/build';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { Identity } from '../../src/proof/identity';
import { receiptIsIntact } from '../../src/proof/receipt';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { seededRandom } from '../../src/work/seeded';
import { honest, submit, volunteer } from '../helpers/judged';
import { newIdentity } from '../helpers/signing';

/** Pause, resume, cancel and delete of a job on a running host (HostCore.setJobStatus, deleteJob). */

const sha = (id: string, units = 3, collect = false): JobSpec => ({
  id,
  kernel: 'sha256-batch',
  units,
  messagesPerUnit: 8,
  messageLength: 32,
  seed: id.length * 7 + units,
  samples: 4,
  ...(collect ? { collect: true } : {}),
});

let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

const open = (store: MemoryHostStore, jobs: readonly JobSpec[]) =>
  HostCore.open(store, jobs, { hostId: 'h', hash, identity: hostKey, random: seededRandom(1), maxLeases: 4 });

describe('job control', () => {
  it('a paused job leases nothing until resumed; a unit leased before the pause still finishes and is credited', async () => {
    const store = new MemoryHostStore();
    const core = await open(store, [sha('a')]);
    const v = await volunteer(core, 'v');
    const first = await v.lease();
    await core.setJobStatus('a', JobStatus.Paused);
    expect(core.jobStatus('a')).toBe(JobStatus.Paused);
    expect((await store.load()).jobs[0]!.status).toBe(JobStatus.Paused);
    const [none] = await v.say({ type: 'request-unit', id: 2, holding: [first.unitId] });
    expect(none).toMatchObject({ type: 'no-work', jobDone: false });
    expect(await submit(v, first, honest(first, hash), hash)).toMatchObject({ type: 'verdict', verdict: 'accepted' });
    await core.setJobStatus('a', JobStatus.Active);
    expect((await v.lease()).jobId).toBe('a');
  });

  it('a cancelled job leases nothing more, counts as done, keeps its receipts valid and cannot be resumed', async () => {
    const store = new MemoryHostStore();
    const core = await open(store, [sha('a'), sha('b', 1)]);
    const v = await volunteer(core, 'v');
    const unit = await v.lease();
    expect(unit.jobId).toBe('a');
    const verdict = await submit(v, unit, honest(unit, hash), hash);
    if (verdict.type !== 'verdict' || !verdict.receipt) throw new Error(`expected a receipt, got ${JSON.stringify(verdict)}`);
    await core.setJobStatus('a', JobStatus.Cancelled);
    // Job b's one unit is all that is left to lease.
    const next = await v.lease();
    expect(next.jobId).toBe('b');
    const [none] = await v.say({ type: 'request-unit', id: 3, holding: [next.unitId] });
    expect(none).toMatchObject({ type: 'no-work' });
    expect(core.done).toBe(false);
    await submit(v, next, honest(next, hash), hash);
    expect(core.done).toBe(true);
    expect(core.receipt(unit.unitId)).toEqual(verdict.receipt);
    expect(receiptIsIntact(verdict.receipt, hash)).toBe(true);
    expect(await verifyReceiptSignature(hostKey.publicKey, verdict.receipt, verdict.receipt.signature!)).toBe(true);
    await expect(core.setJobStatus('a', JobStatus.Active)).rejects.toThrow(/cancelled; it cannot be resumed/);
    await expect(core.setJobStatus('nope', JobStatus.Paused)).rejects.toThrow(/no job nope/);
    // A restarted host still leases nothing of it.
    const again = await open(store, []);
    expect(again.jobStatus('a')).toBe(JobStatus.Cancelled);
    expect(again.done).toBe(true);
  });

  it('deletes a finished or cancelled job with its units and kept outputs; refuses a running one; receipts stay', async () => {
    const store = new MemoryHostStore();
    const core = await open(store, [sha('kept', 2, true), sha('done', 1, true)]);
    const v = await volunteer(core, 'v');
    await expect(core.deleteJob('kept')).rejects.toThrow(/not finished; cancel it/);
    const units = [await v.lease()];
    while (units.length < 3) units.push(await v.lease(units.map((u) => u.unitId)));
    for (const u of units) expect(await submit(v, u, honest(u, hash), hash)).toMatchObject({ verdict: 'accepted' });
    const doneUnit = units.find((u) => u.jobId === 'done')!;
    const receipt = core.receipt(doneUnit.unitId)!;
    expect(await store.output(doneUnit.unitId, receipt.root)).toBeDefined();
    expect(await core.deleteJob('done')).toEqual([]);
    expect(core.jobs().map((j) => j.id)).toEqual(['kept']);
    expect(core.units('done')).toEqual([]);
    const after = await store.load();
    expect(after.jobs.map((j) => j.id)).toEqual(['kept']);
    expect(after.units.every((u) => u.jobId === 'kept')).toBe(true);
    expect(after.receipts.map((r) => r.unitId)).toContain(doneUnit.unitId);
    expect(await store.output(doneUnit.unitId, receipt.root)).toBeUndefined();
    expect(core.receipt(doneUnit.unitId)).toEqual(receipt);
    // A late result for a deleted unit is refused as unknown.
    expect(await submit(v, doneUnit, honest(doneUnit, hash), hash)).toMatchObject({ type: 'error', code: 'unknown-unit' });
  });

  it('deleting a job drops the datasets no other job reads, and keeps those another job reads', async () => {
    const matrix = (rows: number, cols: number, name: string, seed: number) => ({
      rows,
      cols,
      name,
      data: new Uint8Array(Float32Array.from({ length: rows * cols }, (_, i) => i + seed).buffer),
    });
    const a = matrix(4, 4, 'A.npy', 0);
    const one = productJob({ id: 'one', kernel: 'matmul-f32', a, b: matrix(4, 4, 'B.npy', 100), m: 2, n: 2, options: { samples: 2 } }, hash);
    const two = productJob({ id: 'two', kernel: 'matmul-f32', a, b: matrix(4, 4, 'B.npy', 200), m: 2, n: 2, options: { samples: 2 } }, hash);
    const store = new MemoryHostStore();
    for (const { datasets } of [one, two]) for (const [root, data] of datasets) await store.saveDataset({ root, data, createdAt: 0 });
    const shared = [...one.datasets.keys()].filter((r) => two.datasets.has(r));
    const onlyOne = [...one.datasets.keys()].filter((r) => !two.datasets.has(r));
    expect(shared.length).toBeGreaterThan(0);
    expect(onlyOne.length).toBeGreaterThan(0);
    const core = await open(store, [one.spec, two.spec]);
    await core.setJobStatus('one', JobStatus.Cancelled);
    expect([...(await core.deleteJob('one'))].sort()).toEqual(onlyOne.sort());
    expect(await store.datasetRoots()).toEqual([...two.datasets.keys()].sort());
    // The remaining job still opens on the store (its datasets are whole).
    core.close();
    const again = await open(store, []);
    expect(again.jobs().map((j) => j.id)).toEqual(['two']);
    again.close();
  });
});
