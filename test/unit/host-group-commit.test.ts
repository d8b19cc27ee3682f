import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import { HandVolunteer } from '../helpers/honest-volunteer';
import { newIdentity, sayTo } from '../helpers/signing';

const dir = mkdtempSync(join(tmpdir(), 'tabgrid-host-group-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `host-${++files}.sqlite`);
const hash = await createCpuSha256();
const spec: JobSpec = { id: 'g', kernel: 'sha256-batch', units: 12, messagesPerUnit: 4, messageLength: 32, seed: 3, samples: 2 };

async function openHost(store: SqliteHostStore): Promise<HostCore> {
  return HostCore.open(store, [spec], { hostId: 'h', hash, identity: await newIdentity(), maxLeases: 1 });
}

/** The state of unit `unitId` as another connection reads the file. */
function stateOnDisk(path: string, unitId: string): string | undefined {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[string], { state: string }>('SELECT state FROM units WHERE unit_id = ?').get(unitId)?.state;
  } finally {
    db.close();
  }
}

describe('HostCore under SQLite group commit', () => {
  it('handles the next messages while a commit waits for its group, and replies only once it is on disk', async () => {
    const path = freshPath();
    const store = new SqliteHostStore(path);
    const core = await openHost(store);
    const volunteers = await Promise.all(Array.from({ length: 8 }, async (_, i) => HandVolunteer.greet(core, `v${i}`, await newIdentity(), hash)));
    const before = store.commitCounts();
    // Eight requests at once: each is decided on the state the ones before it left, in memory.
    const units = await Promise.all(
      volunteers.map(async (v) => {
        const unit = await v.lease();
        // Its reply came: its lease is in the file, for any other reader.
        expect(stateOnDisk(path, unit.unitId)).toBe('leased');
        return unit;
      }),
    );
    expect(new Set(units.map((u) => u.unitId)).size).toBe(8);
    const after = store.commitCounts();
    expect(after.batches - before.batches).toBe(8);
    expect(after.transactions - before.transactions).toBeLessThan(8);
    // And the whole trip, judged and credited, with the file to show for it after a reopen.
    const verdicts = await Promise.all(volunteers.map((v, i) => v.submit(units[i]!)));
    for (const v of verdicts) expect(v).toMatchObject({ type: 'verdict', verdict: 'accepted' });
    core.close();
    await store.close();
    const reopened = new SqliteHostStore(path);
    const snapshot = await reopened.load();
    await reopened.close();
    expect(snapshot.receipts).toHaveLength(8);
    expect(snapshot.units.filter((u) => u.state === 'accepted')).toHaveLength(8);
  });

  it('stops taking messages once a commit failed, since its memory is then ahead of its store', async () => {
    const store = new SqliteHostStore(freshPath());
    const core = await openHost(store);
    const v = await HandVolunteer.greet(core, 'v', await newIdentity(), hash);
    await v.lease();
    // The file goes away under the running host: its next commit fails.
    await store.close();
    const [failed] = await sayTo(core, 'v', { type: 'request-unit', id: 2, holding: [] });
    expect(failed).toMatchObject({ type: 'error', code: 'storage', id: 2 });
    const [refused] = await sayTo(core, 'v', { type: 'standing', id: 3 });
    expect(refused).toMatchObject({ type: 'error', code: 'storage', id: 3 });
    expect(refused?.type === 'error' && refused.message).toMatch(/stopped taking messages: a commit to its store failed .*restart it/);
    core.close();
  });
});
