import { describe, expect, it } from 'vitest';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { receiptIsIntact } from '../../src/proof/receipt';
import { backoffMs } from '../../src/net/backoff';
import { NoWork, VolunteerSession, VolunteerState, type VerdictDetail } from '../../src/volunteer/session';
import { ComputeEngine } from '../../src/worker/engine';
import { memoryConnector } from '../helpers/memory-host';
import { newIdentity } from '../helpers/signing';
import { honest, submit, volunteer } from '../helpers/judged';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { until } from '../helpers/until';

let skew = 0;
const clock = () => Date.now() + skew;

const job: JobSpec = { id: 'mem', kernel: 'sha256-batch', units: 6, messagesPerUnit: 300, messageLength: 64, seed: 5, samples: 16 };

async function setup(units = job.units, extra: { prefetch?: number; spec?: JobSpec } = {}) {
  const hash = await createCpuSha256();
  const hostKey = await newIdentity();
  const identity = await newIdentity();
  const core = await HostCore.open(new MemoryHostStore(), [extra.spec ?? { ...job, units }], {
    hostId: 'h',
    hash,
    identity: hostKey,
    heartbeatMs: 200,
    leaseMs: 5_000,
    clock,
  });
  const net = memoryConnector(core);
  const engine = new ComputeEngine(); // Node has no WebGPU: the CPU backend runs
  const session = new VolunteerSession({
    signalUrl: 'ws://unused/',
    hostId: 'h',
    computer: engine,
    connect: net.connect,
    identity,
    prefetch: extra.prefetch,
    backoff: { baseMs: 20, maxMs: 100 },
  });
  return { core, net, engine, session, hash, hostKey, identity };
}

describe('VolunteerSession against a HostCore (no network)', () => {
  it('does nothing before start, then completes the job with every unit accepted once', async () => {
    const { core, session, engine, hash, hostKey, identity } = await setup();
    expect((await engine.describe()).backend).toBe('cpu');
    expect(session.state).toBe(VolunteerState.Idle);
    expect(core.progress().leased).toBe(0);
    const verdicts: VerdictDetail[] = [];
    session.addEventListener('verdict', (e) => verdicts.push((e as CustomEvent<VerdictDetail>).detail));
    session.start();
    expect(session.state).toBe(VolunteerState.Running);
    await until(() => core.done);
    await until(() => session.unitsDone === job.units);
    // Running, and says it has nothing to compute: the widget shows no-work, not "running" (issue 20, bug 4).
    await until(() => session.noWork === NoWork.JobDone);
    expect(session.computing).toBe(false);
    expect(verdicts.map((v) => v.verdict)).toEqual(new Array(job.units).fill('accepted'));
    expect(session.credit).toBe(job.units * 300 * 2);
    // All of it earned here, by SHA-256 hashing: what the widget explains credit with.
    expect([...session.creditByKernel]).toEqual([['sha256-batch', session.credit]]);
    expect(session.receipts).toHaveLength(job.units);
    expect(session.receipts.every((r) => receiptIsIntact(r, hash) && r.volunteer === identity.id)).toBe(true);
    // Each receipt carries the host's signature, so the volunteer can prove its credit.
    for (const r of session.receipts) expect(await verifyReceiptSignature(hostKey.publicKey, r, r.signature!)).toBe(true);
    expect(core.volunteer(identity.id)?.credit).toBe(session.credit);
    await until(() => /finished/.test(session.status));
    session.close();
  });

  it('two sessions settle a replicated job: each result is pending, then accepted when the other agrees', async () => {
    const spec: JobSpec = { id: 'rep', kernel: 'sha256-batch', units: 4, messagesPerUnit: 200, messageLength: 64, seed: 8, replicate: true };
    const { core, net, engine, session } = await setup(4, { spec });
    const other = new VolunteerSession({
      signalUrl: 'ws://unused/',
      hostId: 'h',
      computer: engine,
      connect: net.connect,
      identity: await newIdentity(),
      backoff: { baseMs: 20, maxMs: 100 },
    });
    const verdicts: string[] = [];
    for (const s of [session, other]) s.addEventListener('verdict', (e) => verdicts.push((e as CustomEvent<VerdictDetail>).detail.verdict));
    session.start();
    other.start();
    await until(() => core.done);
    // Every unit was computed twice, once by each key, and both are credited for it.
    await until(() => session.unitsDone === 4 && other.unitsDone === 4 && session.pendingReplicas.size === 0 && other.pendingReplicas.size === 0);
    expect(verdicts.filter((v) => v === 'pending')).toHaveLength(4);
    expect(verdicts.filter((v) => v === 'accepted')).toHaveLength(8);
    expect(session.credit).toBe(4 * 200 * 2);
    expect(other.credit).toBe(4 * 200 * 2);
    expect(core.results()).toHaveLength(4);
    session.close();
    other.close();
  });

  it('re-sends a pending replica after a host restart, and gets the verdict the old host owed it', async () => {
    const spec: JobSpec = { id: 'rep-restart', kernel: 'sha256-batch', units: 1, messagesPerUnit: 100, messageLength: 64, seed: 3, replicate: true };
    const hash = await createCpuSha256();
    const hostKey = await newIdentity();
    const store = new MemoryHostStore();
    const open = () => HostCore.open(store, [spec], { hostId: 'h', hash, identity: hostKey, heartbeatMs: 200, leaseMs: 5_000 });
    let core = await open();
    const net = memoryConnector(() => core);
    const session = new VolunteerSession({
      signalUrl: 'ws://unused/',
      hostId: 'h',
      computer: new ComputeEngine(),
      connect: net.connect,
      identity: await newIdentity(),
      backoff: { baseMs: 20, maxMs: 100 },
    });
    session.start();
    await until(() => session.pendingReplicas.size === 1);
    // The host stops answering this volunteer (it is about to die), then a second key agrees:
    // the verdict owed to the first is in the old host's memory only.
    for (const link of net.links.values()) net.mute(link);
    const other = await volunteer(core, 'b');
    const unit = await other.lease();
    expect(await submit(other, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
    core = await open();
    for (const link of net.links.values()) link.close();
    // Reconnected to the new host, the session re-sends its replica and hears it was accepted.
    await until(() => session.unitsDone === 1 && session.pendingReplicas.size === 0);
    expect(session.receipts[0]).toMatchObject({ unitId: unit.unitId, volunteer: session.receipts[0]!.volunteer, credit: 200 });
    expect(session.credit).toBe(200);
    expect(session.awaitingVerdict).toBe(0);
    session.close();
  });

  it('prefetches: holds the next unit while computing one', async () => {
    const { core, session } = await setup(6, { prefetch: 2 });
    let most = 0;
    session.addEventListener('change', () => (most = Math.max(most, core.progress().leased + core.progress().verifying)));
    session.start();
    await until(() => core.done);
    expect(most).toBeGreaterThanOrEqual(2);
    session.close();
  });

  it('lists at most MAX_HOLDING units when it asks for more, however many it prefetches', async () => {
    const hash = await createCpuSha256();
    const spec: JobSpec = { ...job, id: 'many', units: 24, messagesPerUnit: 20 };
    const core = await HostCore.open(new MemoryHostStore(), [spec], {
      hostId: 'h',
      hash,
      identity: await newIdentity(),
      heartbeatMs: 200,
      leaseMs: 5_000,
      maxLeases: 24,
    });
    const net = memoryConnector(core);
    const session = new VolunteerSession({
      signalUrl: 'ws://unused/',
      hostId: 'h',
      computer: new ComputeEngine(),
      connect: net.connect,
      identity: await newIdentity(),
      prefetch: 20,
      backoff: { baseMs: 20, maxMs: 100 },
    });
    session.start();
    await until(() => core.done || session.state === VolunteerState.Error);
    expect(session.error).toBeUndefined();
    expect(core.progress().accepted).toBe(24);
    session.close();
  });

  it('pauses and resumes where the host left it', async () => {
    const { core, session } = await setup();
    session.start();
    await until(() => session.unitsDone >= 1);
    session.pause();
    expect(session.state).toBe(VolunteerState.Paused);
    const doneAtPause = core.progress().accepted;
    await new Promise((r) => setTimeout(r, 100));
    // At most the results already sent are still verified; nothing new is computed.
    expect(core.progress().accepted).toBeLessThanOrEqual(doneAtPause + 2);
    session.start();
    await until(() => core.done);
    session.close();
  });

  it('reconnects by itself after the link drops, keeping its leases, and finishes the job', async () => {
    const { core, net, session } = await setup(4);
    const states: string[] = [];
    session.addEventListener('change', () => states.push(session.state));
    session.start();
    await until(() => session.unitsDone >= 1);
    for (const link of net.links.values()) link.close();
    await until(() => core.done);
    await until(() => session.unitsDone === 4);
    expect(states).toContain('error'); // shown while waiting to reconnect
    expect(session.state).toBe('running');
    expect(core.progress().accepted).toBe(4);
    expect(session.unitsDone).toBe(4);
    session.close();
  });

  it('treats a link that goes silent as dead, and reconnects', async () => {
    const { core, net, session } = await setup(4);
    session.start();
    await until(() => session.unitsDone >= 1);
    for (const link of net.links.values()) net.mute(link);
    await until(() => core.done, 20_000);
    expect(net.links.size).toBeGreaterThan(1);
    session.close();
  }, 30_000);

  it('drops a unit whose lease the host took back, and goes on', async () => {
    const { core, session } = await setup(3);
    session.start();
    await until(() => core.progress().leased > 0);
    // The host forgets the lease (as if it lapsed): the volunteer hears lease-lost or an error.
    skew += 10 * 60_000;
    expect(await core.expireLeases()).toBeGreaterThan(0);
    await until(() => core.done, 15_000);
    session.close();
  });
});

describe('backoffMs', () => {
  it('doubles from the base up to the cap, with jitter of ±25 %', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffMs(a, 1000, 8000, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(backoffMs(1, 1000, 8000, () => 0)).toBe(750);
    expect(backoffMs(1, 1000, 8000, () => 0.999999)).toBe(1250);
  });
});
