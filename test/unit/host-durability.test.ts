import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import type { HostSnapshot } from '../../src/host/store/store';
import { createKeyPair, identityFromKeyPair } from '../../src/proof/identity';
import { BenchVolunteer, HostGone, HostProcess, computeAll, newAnnounced, type Announced } from '../../scripts/store-bench/driver';

const dir = mkdtempSync(join(tmpdir(), 'tabgrid-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything the volunteers heard announced is in the snapshot: leases, accepted units, receipts. */
function expectAnnouncedKept(snapshot: HostSnapshot, announced: Announced, when: string): void {
  const units = new Map(snapshot.units.map((u) => [u.unitId, u]));
  const receipts = new Map(snapshot.receipts.map((r) => [r.receiptId, r]));
  for (const [unitId, keys] of announced.leases) {
    const u = units.get(unitId);
    for (const key of keys) expect(u?.leasedTo ?? [], `${when}: the lease of ${unitId} to ${key}`).toContain(key);
  }
  for (const r of announced.receipts.values()) {
    expect(receipts.get(r.receiptId), `${when}: receipt ${r.receiptId} for ${r.unitId}`).toEqual(r);
    const u = units.get(r.unitId);
    expect([u?.state, u?.root], `${when}: ${r.unitId} accepted with the announced root`).toEqual(['accepted', r.root]);
  }
}

describe('a host process on SQLite with group commit', () => {
  it('killed with SIGKILL at random moments under load, loses nothing it announced, and finishes the job exactly once', { timeout: 120_000 }, async () => {
    const units = 400;
    const kills = 4;
    const db = join(dir, 'host.sqlite');
    const computed = computeAll(units, await createCpuSha256());
    const identities = await Promise.all(Array.from({ length: 16 }, async () => identityFromKeyPair(await createKeyPair())));
    const announced = newAnnounced();
    const killedAfter: number[] = [];
    let announcedAtKills = 0;
    for (let round = 0; ; round++) {
      // Short leases: units a killed round left verifying lapse back to the queue soon. Under load
      // changes wait for their group most of the time (while the previous group's fsync runs), so a
      // kill finds some: a host that replied before its commit failed this test on every run tried.
      const host = await HostProcess.start({ db, units, groupCommit: true, leaseMs: 1500 });
      const volunteers = identities.map((id, i) => new BenchVolunteer(`v${i}.${round}`, id, computed, announced));
      const work = Promise.allSettled(
        volunteers.map(async (v) => {
          await v.greet(host);
          await v.work(host);
        }),
      );
      if (round === kills) {
        for (const r of await work) if (r.status === 'rejected') throw r.reason;
        await host.stop();
        break;
      }
      const served = announced.receipts.size;
      // A random moment once this round's volunteers are under way, and then the next announcement
      // the parent records: the kill lands right after a reply, when a host that replied before its
      // commit was durable would still hold that change in memory only.
      const delay = 150 + Math.floor(Math.random() * 500);
      await new Promise((r) => setTimeout(r, delay));
      for (let wait = 0; announced.receipts.size === served && wait < 100; wait++) await new Promise((r) => setTimeout(r, 20));
      killedAfter.push(delay);
      announced.onAnnounce = () => {
        announced.onAnnounce = undefined;
        host.child.kill('SIGKILL');
      };
      // Should the job end first, the kill comes all the same.
      void work.then(() => host.child.kill('SIGKILL'));
      expect(await host.exited, 'the host died by the signal').toBe('SIGKILL');
      announced.onAnnounce = undefined;
      // Only the kill may stop a volunteer: any other failure is a broken host.
      for (const r of await work) if (r.status === 'rejected' && !(r.reason instanceof HostGone)) throw r.reason;
      announcedAtKills += announced.receipts.size - served;
      const store = new SqliteHostStore(db);
      try {
        expectAnnouncedKept(await store.load(), announced, `after kill ${round + 1} (${delay} ms into the round)`);
      } finally {
        await store.close();
      }
    }
    expect(announcedAtKills, `receipts announced in the killed rounds (kills after ${killedAfter.join(', ')} ms)`).toBeGreaterThan(0);

    const store = new SqliteHostStore(db);
    const snapshot = await store.load();
    await store.close();
    expectAnnouncedKept(snapshot, announced, 'at the end');
    expect(snapshot.units.filter((u) => u.state === 'accepted')).toHaveLength(units);
    // Exactly once: one receipt per unit, each announced, and credit equal to the receipts.
    expect(new Set(snapshot.receipts.map((r) => r.unitId)).size).toBe(units);
    expect(snapshot.receipts).toHaveLength(units);
    for (const v of snapshot.volunteers) {
      const own = snapshot.receipts.filter((r) => r.volunteer === v.id);
      expect(v.credit, `credit of ${v.id.slice(0, 12)}…`).toBeCloseTo(
        own.reduce((sum, r) => sum + r.credit, 0),
        6,
      );
      expect(v.accepted).toBe(own.length);
    }
  });
});
