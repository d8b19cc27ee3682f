import { describe, expect, it } from 'vitest';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import type { AcceptedResult } from '../../src/host/host-options';
import { IdbHostStore } from '../../src/host/store/idb-store';
import { submitToPageHost, type JobProgress, type PageGridHost } from '../../src/sdk/page-grid';
import { VolunteerSession } from '../../src/volunteer/session';
import { ComputeEngine } from '../../src/worker/engine';
import { memoryConnector } from '../helpers/memory-host';
import { exactMatrix, npyFile, product } from '../helpers/npy-file';
import { newIdentity } from '../helpers/signing';

describe('the page SDK, end to end in the page', () => {
  it('submits .npy Files to a host on IndexedDB; an in-page volunteer fetches the chunks and computes; C is assembled from the accepted blocks', async () => {
    const hash = await createCpuSha256();
    const store = await IdbHostStore.open(`tabgrid-page-own-data-${crypto.randomUUID()}`);
    const watchers = new Set<(r: AcceptedResult) => void>();
    const core = await HostCore.open(store, [], {
      hostId: 'page',
      hash,
      identity: await store.hostIdentity(),
      heartbeatMs: 200,
      leaseMs: 10_000,
      onAccepted: (r) => watchers.forEach((w) => w(r)),
    });
    // The page host's parts (host/page-host.ts) without its signaling server.
    const host: PageGridHost = {
      core,
      store,
      hash,
      watchAccepted: (w) => (watchers.add(w), () => watchers.delete(w)),
    };
    const engine = new ComputeEngine();
    const net = memoryConnector(core);
    const session = new VolunteerSession({
      signalUrl: 'ws://unused/',
      hostId: 'page',
      computer: engine,
      connect: (handlers) => net.connect(handlers),
      identity: await newIdentity(),
      backoff: { baseMs: 20, maxMs: 100 },
    });
    try {
      // B spans two chunks (72 × 1000 words = 288 000 bytes); A is cut into bands, B into panels.
      const [rows, inner, cols] = [24, 72, 1000];
      const a = exactMatrix(rows, inner, 1);
      const b = exactMatrix(inner, cols, 2);
      const job = await submitToPageHost(host, {
        id: 'tiled',
        kernel: 'matmul-f32',
        a: npyFile('A.npy', [rows, inner], a),
        b: npyFile('B.npy', [inner, cols], b),
        m: 8,
        n: 500,
        verify: { policy: 'freivalds' },
        collect: true,
      });
      expect(job.spec).toMatchObject({ units: 6, m: 8, n: 500, data: { rows, cols, inner } });
      // Saved in IndexedDB before the job was added: A and two panels.
      expect(await store.datasetRoots()).toHaveLength(3);
      const progress: JobProgress[] = [];
      job.addEventListener('progress', (e) => progress.push((e as CustomEvent<JobProgress>).detail));
      session.start();
      const seen: string[] = [];
      for await (const unit of job.results({ signal: AbortSignal.timeout(60_000) })) seen.push(unit.unitId);
      expect(seen.sort()).toEqual(Array.from({ length: 6 }, (_, i) => `tiled/${i}`));
      expect(progress.at(-1)).toEqual({ accepted: 6, total: 6 });
      // The volunteer fetched the inputs as verified chunks, none refused.
      expect(session.inputBytes.fetched).toBeGreaterThan(0);
      expect(session.inputBytes.refused).toBe(0);
      const out = await job.output();
      if (out.kind !== 'matrix') throw new Error(`expected C, got ${out.kind}`);
      expect(out.shape).toEqual([rows, cols]);
      expect(out.missing).toEqual([]);
      const want = product(a, b, rows, inner, cols);
      expect(want.filter((x, i) => out.data[i] !== x)).toEqual([]);
      job.close();
    } finally {
      session.close();
      engine.dispose();
      core.close();
      await store.close();
    }
  }, 90_000);
});
