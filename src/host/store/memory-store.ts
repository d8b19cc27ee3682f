import { createKeyPair, identityFromKeyPair, type Identity } from '../../proof/identity';
import type { HostSnapshot, HostStore, StoreBatch, StoredJob, StoredReceipt, StoredTrust, StoredUnit, StoredVolunteer } from './store';

/** A HostStore in memory: for tests, and for hosts that may lose their state. */
export class MemoryHostStore implements HostStore {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly units = new Map<string, StoredUnit>();
  private readonly volunteers = new Map<string, StoredVolunteer>();
  private readonly receipts = new Map<string, StoredReceipt>();
  private readonly trust = new Map<string, StoredTrust>();
  private readonly outputs = new Map<string, Uint8Array>();
  /** Number of batches committed (tests check that a reply waited for its commit). */
  commits = 0;
  private identity?: Promise<Identity>;

  async load(): Promise<HostSnapshot> {
    // Copies, so the caller cannot alter what is "on disk" except through commit().
    return structuredClone({
      jobs: [...this.jobs.values()],
      units: [...this.units.values()],
      volunteers: [...this.volunteers.values()],
      receipts: [...this.receipts.values()],
      trust: [...this.trust.values()],
    });
  }

  async commit(batch: StoreBatch): Promise<void> {
    const copy = structuredClone(batch);
    for (const j of copy.jobs ?? []) this.jobs.set(j.id, j);
    for (const u of copy.units ?? []) this.units.set(u.unitId, u);
    for (const v of copy.volunteers ?? []) this.volunteers.set(v.id, v);
    for (const r of copy.receipts ?? []) this.receipts.set(r.receiptId, r);
    for (const t of copy.trust ?? []) this.trust.set(JSON.stringify([t.jobId, t.key]), t);
    for (const o of copy.outputs ?? []) this.outputs.set(JSON.stringify([o.unitId, o.root]), o.data);
    for (const o of copy.droppedOutputs ?? []) this.outputs.delete(JSON.stringify([o.unitId, o.root]));
    this.commits++;
  }

  async output(unitId: string, root: string): Promise<Uint8Array | undefined> {
    const data = this.outputs.get(JSON.stringify([unitId, root]));
    return data && data.slice();
  }

  hostIdentity(): Promise<Identity> {
    return (this.identity ??= createKeyPair().then(identityFromKeyPair));
  }

  async close(): Promise<void> {}
}
