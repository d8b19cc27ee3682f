import { ErrorCode, TabgridError } from '../../errors';
import { createKeyPair, identityFromKeyPair, type Identity } from '../../proof/identity';
import type {
  HostSnapshot,
  HostStore,
  StoreBatch,
  StoredDataset,
  StoredJob,
  StoredReceipt,
  StoredTeam,
  StoredTrust,
  StoredUnit,
  StoredVolunteer,
} from './store';

/**
 * A HostStore in memory: for tests, and for hosts that may lose their state. It keeps the same
 * contract as the durable stores (store-conformance.ts): a batch applies whole or not at all, a
 * record without its key is refused, and the snapshot comes in the stores' common order.
 */
export class MemoryHostStore implements HostStore {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly units = new Map<string, StoredUnit>();
  private readonly volunteers = new Map<string, StoredVolunteer>();
  private readonly receipts = new Map<string, StoredReceipt>();
  private readonly trust = new Map<string, StoredTrust>();
  private readonly teams = new Map<string, StoredTeam>();
  private readonly outputs = new Map<string, Uint8Array>();
  private readonly datasets = new Map<string, StoredDataset>();
  /** Number of batches committed (tests check that a reply waited for its commit). */
  commits = 0;
  private identity?: Promise<Identity>;

  async load(): Promise<HostSnapshot> {
    const by =
      <T>(key: (t: T) => readonly (string | number)[]) =>
      (a: T, b: T) =>
        compare(key(a), key(b));
    // Copies, so the caller cannot alter what is "on disk" except through commit().
    return structuredClone({
      jobs: [...this.jobs.values()].sort(by((j) => [j.createdAt, j.id])),
      units: [...this.units.values()].sort(by((u) => [u.jobId, u.index, u.unitId])),
      volunteers: [...this.volunteers.values()].sort(by((v) => [v.id])),
      receipts: [...this.receipts.values()].sort(by((r) => [r.issuedAt, r.receiptId])),
      trust: [...this.trust.values()].sort(by((t) => [t.jobId, t.key])),
      teams: [...this.teams.values()].sort(by((t) => [t.key])),
    });
  }

  async commit(batch: StoreBatch): Promise<void> {
    const copy = structuredClone(batch);
    // Every key checked before anything changes: a batch that would fail midway changes nothing.
    const jobs = (copy.jobs ?? []).map((j) => [keyOf('job', j.id), j] as const);
    const units = (copy.units ?? []).map((u) => [keyOf('unit', u.unitId), u] as const);
    const volunteers = (copy.volunteers ?? []).map((v) => [keyOf('volunteer', v.id), v] as const);
    const receipts = (copy.receipts ?? []).map((r) => [keyOf('receipt', r.receiptId), r] as const);
    const trust = (copy.trust ?? []).map((t) => [JSON.stringify([keyOf('trust job', t.jobId), keyOf('trust key', t.key)]), t] as const);
    const teams = (copy.teams ?? []).map((t) => [keyOf('team', t.key), t] as const);
    const outputs = (copy.outputs ?? []).map((o) => [JSON.stringify([keyOf('output unit', o.unitId), keyOf('output root', o.root)]), o.data] as const);
    for (const id of copy.deletedJobs ?? []) this.deleteJob(id);
    for (const root of copy.deletedDatasets ?? []) this.datasets.delete(root);
    for (const [k, j] of jobs) this.jobs.set(k, j);
    for (const [k, u] of units) this.units.set(k, u);
    for (const [k, v] of volunteers) this.volunteers.set(k, v);
    for (const [k, r] of receipts) this.receipts.set(k, r);
    for (const [k, t] of trust) this.trust.set(k, t);
    for (const [k, t] of teams) this.teams.set(k, t);
    for (const [k, data] of outputs) this.outputs.set(k, data);
    for (const o of copy.droppedOutputs ?? []) this.outputs.delete(JSON.stringify([o.unitId, o.root]));
    this.commits++;
  }

  private deleteJob(jobId: string): void {
    this.jobs.delete(jobId);
    for (const [id, u] of this.units) {
      if (u.jobId !== jobId) continue;
      this.units.delete(id);
      for (const k of this.outputs.keys()) if ((JSON.parse(k) as string[])[0] === id) this.outputs.delete(k);
    }
    for (const [k, t] of this.trust) if (t.jobId === jobId) this.trust.delete(k);
  }

  async output(unitId: string, root: string): Promise<Uint8Array | undefined> {
    const data = this.outputs.get(JSON.stringify([unitId, root]));
    return data && data.slice();
  }

  async saveDataset(d: StoredDataset): Promise<void> {
    const root = keyOf('dataset', d.root);
    if (d.data.length === 0) throw new TabgridError(ErrorCode.Storage, `cannot store dataset ${root}: it has no bytes`);
    if (!this.datasets.has(root)) this.datasets.set(root, { root, data: d.data.slice(), createdAt: d.createdAt });
  }

  async loadDataset(root: string): Promise<StoredDataset | undefined> {
    const d = this.datasets.get(root);
    return d && { ...d, data: d.data.slice() };
  }

  async datasetRoots(): Promise<string[]> {
    return [...this.datasets.keys()].sort();
  }

  hostIdentity(): Promise<Identity> {
    return (this.identity ??= createKeyPair().then(identityFromKeyPair));
  }

  async close(): Promise<void> {}
}

/** A record's key, refused when missing (as SQLite's NOT NULL and IndexedDB's key path refuse it). */
function keyOf(what: string, key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new TabgridError(ErrorCode.Storage, `cannot store a ${what} without its key`);
  return key;
}

function compare(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i]!, b[i]!];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
