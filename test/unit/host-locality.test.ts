import { describe, expect, it } from 'vitest';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { DatasetLibrary, MAX_SERVED_KEYS } from '../../src/host/dataset-library';
import { productJob } from '../../src/host/ingest/build';
import { HostState } from '../../src/host/host-state';
import { jobUnit, parseJob, type JobSpec } from '../../src/host/job';
import { localityRanker, LocalityRank } from '../../src/host/locality';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { StoredUnitState, type StoredUnit } from '../../src/host/store/store';

const hash = await createCpuSha256();

/** A 8×4 A times a 4×8 B in units of 2×2: 4 bands × 4 panels (distinct bytes, so distinct roots), units panel by panel. */
function tiled(): { spec: JobSpec; datasets: ReadonlyMap<string, Uint8Array> } {
  const matrix = (rows: number, cols: number, name: string) => ({
    rows,
    cols,
    name,
    data: new Uint8Array(Float32Array.from({ length: rows * cols }, (_, i) => i).buffer),
  });
  return productJob({ id: 'tiled', kernel: 'matmul-f32', a: matrix(8, 4, 'A.npy'), b: matrix(4, 8, 'B.npy'), m: 2, n: 2, options: { samples: 2 } }, hash);
}

function unit(spec: JobSpec, index: number, state: StoredUnitState = StoredUnitState.Queued, holder: string | null = null): StoredUnit {
  return {
    jobId: spec.id,
    unitId: jobUnit(spec, index).unitId,
    index,
    state,
    holder,
    leaseDeadline: state === StoredUnitState.Leased ? 1e15 : null,
    progress: 0,
    root: null,
    challenge: null,
    rejectedBy: [],
    acceptedAt: null,
    solutions: null,
  };
}

const panelOf = (spec: JobSpec, index: number) => jobUnit(spec, index).kernel === 'matmul-f32' && (jobUnit(spec, index) as { b?: { root: string } }).b!.root;

describe('locality scheduling', () => {
  const { spec } = tiled();
  const specOf = () => spec;
  const data = spec.kernel === 'matmul-f32' ? spec.data! : undefined;

  it('ranks units whose datasets are all held first, then units opening a dataset nobody reads now, then the rest', () => {
    // Nothing held, nothing leased: every unit opens fresh datasets.
    const fresh = localityRanker('v', [], [], specOf);
    expect([0, 5, 15].map((i) => fresh(unit(spec, i), spec))).toEqual([LocalityRank.Fresh, LocalityRank.Fresh, LocalityRank.Fresh]);
    // Another volunteer works on panel 0: its units are crowded, panel 1's are fresh.
    const crowded = localityRanker('v', [], [unit(spec, 0, StoredUnitState.Leased, 'w')], specOf);
    expect(crowded(unit(spec, 1), spec)).toBe(LocalityRank.Any);
    expect(crowded(unit(spec, 4), spec)).toBe(LocalityRank.Fresh);
    // Our own lease on panel 1 counts as held (we will fetch it); a hint of A and panel 2 too.
    const ours = localityRanker('v', [data!.a, data!.panels[2]!], [unit(spec, 4, StoredUnitState.Leased, 'v')], specOf);
    expect(ours(unit(spec, 5), spec)).toBe(LocalityRank.Held);
    expect(ours(unit(spec, 9), spec)).toBe(LocalityRank.Held);
    expect(ours(unit(spec, 13), spec)).toBe(LocalityRank.Fresh);
    // A seeded job reads no dataset: any unit is as good as another.
    const seeded = parseJob({ id: 'seeded', kernel: 'sha256-batch', units: 4, messagesPerUnit: 2, messageLength: 8, seed: 1, samples: 2 });
    expect(fresh(unit(seeded, 2), seeded)).toBe(LocalityRank.Held);
  });

  it('hands each volunteer the units of its own panel, and a newcomer a panel nobody works on', () => {
    const units = Array.from({ length: spec.units }, (_, i) => unit(spec, i));
    const state = new HostState({ jobs: [{ id: spec.id, spec, priority: 0, createdAt: 0 }], units, volunteers: [], receipts: [], trust: [], teams: [] });
    const take = (who: string, hinted: string[] = []) => {
      const u = state.nextQueued(who, undefined, undefined, undefined, localityRanker(who, hinted, state.leasedUnits(), specOf))!;
      const tx = state.tx();
      tx.putUnit({ ...u, state: StoredUnitState.Leased, holder: who });
      tx.apply();
      return u.index;
    };
    // v takes panel 0's first unit, then (holding it) its next; w and x start panels of their own.
    expect(take('v')).toBe(0);
    expect(take('v')).toBe(1);
    expect(panelOf(spec, take('w'))).toBe(data!.panels[1]);
    expect(panelOf(spec, take('x'))).toBe(data!.panels[2]);
    // A volunteer back with panel 3 in its cache goes on with panel 3.
    expect(panelOf(spec, take('y', [data!.a, data!.panels[3]!]))).toBe(data!.panels[3]);
  });
});

describe('dataset bytes served, per key', () => {
  it('counts what was sent to each key and dataset, and keeps at most MAX_SERVED_KEYS keys', async () => {
    const { spec, datasets } = tiled();
    const store = new MemoryHostStore();
    for (const [root, data] of datasets) await store.saveDataset({ root, data, createdAt: 0 });
    const library = new DatasetLibrary(store, hash);
    await library.load([spec]);
    const [a, panel] = [...datasets.keys()];
    library.sent('k1', a!, 100);
    library.sent('k1', a!, 50);
    library.sent('k1', panel!, 7);
    library.sent('k2', panel!, 9);
    expect(library.bytesServed).toBe(166);
    expect(library.servedByKey()).toEqual({ k1: { [a!]: 150, [panel!]: 7 }, k2: { [panel!]: 9 } });
    for (let i = 0; i < MAX_SERVED_KEYS; i++) library.sent(`x${i}`, a!, 1);
    const kept = library.servedByKey();
    expect(Object.keys(kept)).toHaveLength(MAX_SERVED_KEYS);
    expect(kept.k1).toBeUndefined();
    library.close();
  });
});
