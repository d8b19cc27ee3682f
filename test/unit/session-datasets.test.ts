import { describe, expect, it } from 'vitest';
import { gatherSlice, chunkOf, type DatasetSlice } from '../../src/data/dataset';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import { productJob } from '../../src/host/ingest/build';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import type { LinkHandlers } from '../../src/net/link';
import type { WorkUnit } from '../../src/protocol';
import { VolunteerSession } from '../../src/volunteer/session';
import type { UnitComputer } from '../../src/worker/client';
import { ComputeEngine } from '../../src/worker/engine';
import type { ResumeOptions } from '../../src/worker/segments';
import { seededRandom } from '../../src/work/seeded';
import { memoryConnector } from '../helpers/memory-host';
import { newIdentity } from '../helpers/signing';
import { until } from '../helpers/until';

/**
 * A volunteer fetching a unit's dataset inputs through a hostile middle (a relay, say) that
 * tampers with chunks: the chunk proof catches every tampered chunk, the volunteer asks again,
 * and no unit is ever computed on bytes other than the dataset's.
 */
async function setup(tamper: (index: number, body: Uint8Array, nth: number) => Uint8Array) {
  const hash = await createCpuSha256();
  const r = seededRandom(21);
  // B of 200×300 f32: 240 000 bytes, a single chunk; A of 40×200 in two units; a unit's B panel spans chunk 0.
  const [rows, inner, cols] = [40, 200, 300];
  const words = (n: number) => new Uint8Array(Float32Array.from({ length: n }, () => r() * 2 - 1).buffer);
  const job = productJob(
    {
      id: 'hostile-chunks',
      kernel: 'matmul-f32',
      a: { rows, cols: inner, data: words(rows * inner), name: 'A' },
      b: { rows: inner, cols, data: words(inner * cols), name: 'B' },
      m: 20,
      n: 300,
      options: { verify: { policy: 'freivalds' } },
    },
    hash,
  );
  const store = new MemoryHostStore();
  for (const [root, data] of job.datasets) await store.saveDataset({ root, data, createdAt: 0 });
  const core = await HostCore.open(store, [job.spec], { hostId: 'h', hash, identity: await newIdentity(), heartbeatMs: 200, leaseMs: 5_000 });
  const net = memoryConnector(core);
  const served = new Map<string, number>();
  // The hostile middle: sees each chunk the host sends and may change its bytes.
  const connect = (handlers: LinkHandlers, signal: AbortSignal) =>
    net.connect(
      {
        onClose: handlers.onClose,
        onText: (text, body) => {
          if (body === undefined || typeof text !== 'string') return handlers.onText(text, body);
          const meta = JSON.parse(text) as { root: string; index: number };
          const key = `${meta.root}:${meta.index}`;
          const nth = (served.get(key) ?? 0) + 1;
          served.set(key, nth);
          handlers.onText(text, tamper(meta.index, body, nth));
        },
      },
      signal,
    );
  const engine = new ComputeEngine();
  const given: { unit: WorkUnit; inputs: ResumeOptions['inputs'] }[] = [];
  const computer: UnitComputer = {
    describe: () => engine.describe(),
    runUnit: (unit, signal, progress, resume) => {
      given.push({ unit, inputs: resume?.inputs });
      return engine.runUnit(unit, signal, progress, resume);
    },
  };
  const session = new VolunteerSession({
    signalUrl: 'ws://unused/',
    hostId: 'h',
    computer,
    connect,
    identity: await newIdentity(),
    backoff: { baseMs: 20, maxMs: 100 },
  });
  const truth = (s: DatasetSlice) => gatherSlice(s, (i) => chunkOf(job.datasets.get(s.root)!, i));
  return { core, session, given, truth, engine };
}

const flipped = (body: Uint8Array) => {
  const copy = body.slice();
  copy[copy.length >> 1]! ^= 0x40;
  return copy;
};

describe('dataset inputs through a hostile middle', { timeout: 60_000 }, () => {
  it('a corrupted chunk is refused and fetched again; every unit runs on the dataset’s own bytes and is accepted', async () => {
    const { core, session, given, truth, engine } = await setup((_, body, nth) => (nth === 1 ? flipped(body) : body));
    session.start();
    await until(() => core.done, 30_000);
    session.close();
    engine.dispose();
    expect(session.inputBytes.refused).toBeGreaterThan(0);
    expect(given.length).toBeGreaterThanOrEqual(2);
    for (const { inputs } of given) {
      expect(inputs).toHaveLength(2);
      for (const { slice, data } of inputs!) expect(data).toEqual(truth(slice));
    }
  });

  it('a middle that corrupts every copy: the unit is never computed, and the volunteer keeps retrying rather than giving up', async () => {
    const { core, session, given, engine } = await setup((_, body) => flipped(body));
    session.start();
    await until(() => session.inputBytes.refused >= 6, 20_000);
    expect(given).toEqual([]);
    expect(core.progress().accepted).toBe(0);
    expect(session.status).toMatch(/inputs|retrying|reconnecting|fetching/);
    session.close();
    engine.dispose();
  });

  it('a short chunk, or zeros in its place, is refused too', async () => {
    const { core, session, given, truth, engine } = await setup((_, body, nth) =>
      nth === 1 ? body.subarray(0, body.length - 4) : nth === 2 ? new Uint8Array(body.length) : body,
    );
    session.start();
    await until(() => core.done, 30_000);
    session.close();
    engine.dispose();
    expect(session.inputBytes.refused).toBeGreaterThanOrEqual(2);
    for (const { inputs } of given) for (const { slice, data } of inputs!) expect(data).toEqual(truth(slice));
  });
});

describe('dataset units through the rest of the machinery', { timeout: 60_000 }, () => {
  it('a unit resumed from its checkpoint after a crash reads its inputs from the cache that survived, and only the rest is computed', async () => {
    const { MemoryVolunteerStore } = await import('../../src/volunteer/store/memory-volunteer-store');
    const { MemoryDatasetCache } = await import('../../src/volunteer/store/memory-dataset-cache');
    const { HeldState } = await import('../../src/volunteer/store/volunteer-store');
    const { recordsJob } = await import('../../src/host/ingest/build');
    const { encodeRecords } = await import('../../src/data/records');
    const hash = await createCpuSha256();
    const r = seededRandom(5);
    const records = Array.from({ length: 20_000 }, (_, i) => Uint8Array.from({ length: 20 + (i % 50) }, () => Math.floor(r() * 256)));
    const job = recordsJob(
      { id: 'resume-recs', records: { data: encodeRecords(records), count: records.length, name: 'r' }, messagesPerUnit: 20_000, options: { samples: 8 } },
      hash,
    );
    const hostStore = new MemoryHostStore();
    for (const [root, data] of job.datasets) await hostStore.saveDataset({ root, data, createdAt: 0 });
    const core = await HostCore.open(hostStore, [job.spec], { hostId: 'h', hash, heartbeatMs: 200, leaseMs: 30_000, identity: await newIdentity() });
    const net = memoryConnector(core);
    const engine = new ComputeEngine();
    const store = new MemoryVolunteerStore();
    // Both "page loads" share the volunteer's store and its dataset cache, as IndexedDB would.
    const cache = new MemoryDatasetCache();
    const calls: number[] = [];
    const runs: Promise<unknown>[] = [];
    const computer = (crash: boolean): UnitComputer => ({
      describe: () => engine.describe(),
      runUnit: (unit, signal, progress, resume) => {
        calls.push(resume?.from ?? 0);
        const run = engine.runUnit(unit, signal, progress, resume);
        runs.push(run.catch(() => undefined));
        return crash ? new Promise(() => undefined) : run;
      },
    });
    const session = (crash: boolean) =>
      new VolunteerSession({
        signalUrl: 'ws://unused/',
        hostId: 'h',
        computer: computer(crash),
        connect: net.connect,
        store,
        datasetCache: cache,
        checkpointMs: 1,
        backoff: { baseMs: 20, maxMs: 100 },
      });
    const a = session(true);
    a.start();
    await until(async () => (await store.held('h')).some((h) => h.state === HeldState.Computing && h.done > 0), 20_000);
    a.close();
    await Promise.all(runs);
    await a.journal.flush();
    const [checkpoint] = await store.held('h');
    expect(a.inputBytes.fetched).toBeGreaterThan(0);

    const b = session(false);
    b.start();
    await until(() => core.done, 30_000);
    expect(calls).toEqual([0, checkpoint!.done]);
    expect(b.inputBytes.fetched).toBe(0);
    expect(b.inputBytes.cached).toBe(job.datasets.values().next().value!.length);
    b.close();
    engine.dispose();
  });

  it('a replicated modp product over datasets: two keys agree and the unit is accepted once', async () => {
    const hash = await createCpuSha256();
    const r = seededRandom(8);
    const residues = (n: number) => new Uint8Array(Uint32Array.from({ length: n }, () => Math.floor(r() * 65521)).buffer);
    const job = productJob(
      {
        id: 'rep-modp',
        kernel: 'matmul-modp',
        p: 65521,
        a: { rows: 16, cols: 24, data: residues(16 * 24), name: 'A' },
        b: { rows: 24, cols: 8, data: residues(24 * 8), name: 'B' },
        m: 8,
        n: 8,
        options: { replicate: true },
      },
      hash,
    );
    const store = new MemoryHostStore();
    for (const [root, data] of job.datasets) await store.saveDataset({ root, data, createdAt: 0 });
    const core = await HostCore.open(store, [job.spec], { hostId: 'h', hash, identity: await newIdentity(), heartbeatMs: 200, leaseMs: 5_000 });
    const net = memoryConnector(core);
    const engine = new ComputeEngine();
    const sessions = [0, 1].map(
      async () =>
        new VolunteerSession({
          signalUrl: 'ws://unused/',
          hostId: 'h',
          computer: engine,
          connect: net.connect,
          identity: await newIdentity(),
          backoff: { baseMs: 20, maxMs: 100 },
        }),
    );
    const [x, y] = await Promise.all(sessions);
    x!.start();
    y!.start();
    await until(() => core.done, 30_000);
    expect(core.results('rep-modp')).toHaveLength(2);
    // Both keys' replicas of both units are credited.
    await until(() => x!.unitsDone + y!.unitsDone === 4, 10_000);
    x!.close();
    y!.close();
    engine.dispose();
  });
});
