import { describe, expect, it } from 'vitest';
import { ErrorCode, TabgridError } from '../../src/errors';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { Link, LinkHandlers } from '../../src/net/link';
import type { WorkUnit } from '../../src/protocol';
import { VolunteerSession } from '../../src/volunteer/session';
import { MemoryVolunteerStore } from '../../src/volunteer/store/memory-volunteer-store';
import { HeldState } from '../../src/volunteer/store/volunteer-store';
import type { UnitComputer } from '../../src/worker/client';
import { ComputeEngine, type Progress } from '../../src/worker/engine';
import type { ResumeOptions } from '../../src/worker/segments';
import { memoryConnector } from '../helpers/memory-host';
import { newIdentity } from '../helpers/signing';
import { until } from '../helpers/until';

const job: JobSpec = { id: 'resume', kernel: 'sha256-batch', units: 1, messagesPerUnit: 20_000, messageLength: 64, seed: 8, samples: 16 };

/** A computer that runs the engine and records each call's resume point. */
function spy(inner: UnitComputer, freezeAfterCheckpoint = false) {
  const calls: { unitId: string; from: number }[] = [];
  const runs: Promise<unknown>[] = [];
  const computer: UnitComputer = {
    describe: () => inner.describe(),
    runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume: ResumeOptions = {}) {
      calls.push({ unitId: unit.unitId, from: resume.from ?? 0 });
      const run = inner.runUnit(unit, signal, onProgress, resume);
      runs.push(run.catch(() => undefined));
      // A tab that crashes after its first checkpoint: the result never comes back.
      return freezeAfterCheckpoint ? new Promise(() => undefined) : run;
    },
  };
  return { computer, calls, runs };
}

async function setup() {
  const hash = await createCpuSha256();
  const core = await HostCore.open(new MemoryHostStore(), [job], { hostId: 'h', hash, heartbeatMs: 200, leaseMs: 30_000, identity: await newIdentity() });
  const net = memoryConnector(core);
  const engine = new ComputeEngine();
  const store = new MemoryVolunteerStore();
  const session = (computer: UnitComputer, connect: (h: LinkHandlers, s: AbortSignal) => Promise<Link> = net.connect) =>
    new VolunteerSession({
      signalUrl: 'ws://unused/',
      hostId: 'h',
      computer,
      connect,
      store,
      checkpointMs: 1,
      backoff: { baseMs: 20, maxMs: 100 },
    });
  return { core, net, engine, store, session };
}

describe('VolunteerSession with a store', () => {
  it('resumes a unit from its last checkpoint after a crash and computes only the rest', async () => {
    const { core, engine, store, session } = await setup();
    const first = spy(engine, true);
    const a = session(first.computer);
    a.start();
    await until(async () => (await store.held('h')).some((h) => h.state === HeldState.Computing && h.done > 0));
    a.close();
    // The crashed run stops at its next abort check; then every checkpoint it made has landed.
    await Promise.all(first.runs);
    await a.journal.flush();
    const [checkpoint] = await store.held('h');
    expect(checkpoint!.data.length).toBe(checkpoint!.done * 32);

    const second = spy(engine);
    const b = session(second.computer);
    b.start();
    await until(() => core.done);
    expect(second.calls).toEqual([{ unitId: 'resume/0', from: checkpoint!.done }]);
    expect(b.resumed).toEqual({ unitId: 'resume/0', from: checkpoint!.done, total: 20_000 });
    expect(b.computed).toBe(20_000 - checkpoint!.done);
    expect(core.results()).toHaveLength(1);
    await until(() => b.unitsDone === 1);
    await b.journal.flush();
    expect(await store.held('h')).toEqual([]);
    expect(await store.receipts('h')).toEqual(b.receipts);
    b.close();
  });

  it('re-sends a finished result from the outbox after a reload, without computing it again', async () => {
    const { core, net, engine, store, session } = await setup();
    // The first page's results never reach the host (it closes before the verdict).
    const deaf = async (h: LinkHandlers): Promise<Link> => {
      const link = await net.connect(h);
      return { ...link, send: (text: string) => (text.includes('"type":"result"') ? undefined : link.send(text)), close: () => link.close() };
    };
    const a = session(spy(engine).computer, deaf);
    a.start();
    await until(async () => (await store.held('h')).some((h) => h.state === HeldState.Sent));
    a.close();
    expect(core.progress().accepted).toBe(0);

    const second = spy(engine);
    const b = session(second.computer);
    b.start();
    await until(() => core.done);
    expect(second.calls).toEqual([]);
    expect(b.computed).toBe(0);
    await until(() => b.unitsDone === 1);
    expect(core.results()).toHaveLength(1);
    b.close();
  });

  it('takes a checkpoint that arrives after its unit finished as stale, not as a storage failure (issue 20, bug 1)', async () => {
    const { core, engine, store, session } = await setup();
    // The worker's checkpoint callback travels on its own Comlink port, so its last calls can land
    // after runUnit's result: here every checkpoint is delivered once the run has resolved.
    const late: (() => void)[] = [];
    let delivered = 0;
    const computer: UnitComputer = {
      describe: () => engine.describe(),
      async runUnit(unit: WorkUnit, signal?: AbortSignal, onProgress?: Progress, resume: ResumeOptions = {}) {
        const held: [number, Uint8Array][] = [];
        const out = await engine.runUnit(unit, signal, onProgress, { ...resume, onCheckpoint: (done, append) => void held.push([done, append.slice()]) });
        expect(held.length).toBeGreaterThan(0);
        late.push(() => {
          for (const [done, append] of held) resume.onCheckpoint?.(done, append);
        });
        return out;
      },
    };
    // They land just after the finished output went into the outbox, as seen in 5 of 6 walk-through runs.
    const finish = store.finish.bind(store);
    store.finish = async (...args) => {
      await finish(...args);
      for (const deliver of late.splice(0)) {
        deliver();
        delivered++;
      }
    };
    const s = session(computer);
    s.start();
    await until(() => core.done);
    await until(() => s.unitsDone === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await s.journal.flush();
    expect(delivered).toBe(1);
    expect(s.journal.problem).toBeUndefined();
    expect(await store.held('h')).toEqual([]);
    s.close();
  });

  it('keeps computing when storage fills up, and says so', async () => {
    const { core, engine, store, session } = await setup();
    store.checkpoint = async () => {
      throw new TabgridError(ErrorCode.StorageFull, 'quota exceeded');
    };
    const s = session(engine);
    const changes: (string | undefined)[] = [];
    s.addEventListener('change', () => changes.push(s.journal.problem?.code));
    s.start();
    await until(() => core.done);
    expect(s.journal.problem?.code).toBe(ErrorCode.StorageFull);
    expect(changes).toContain(ErrorCode.StorageFull);
    s.close();
  });
});
