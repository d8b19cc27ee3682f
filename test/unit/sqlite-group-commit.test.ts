import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { SqliteHostStore } from '../../src/host/store/sqlite-store';
import type { CommitChain, StoredUnit } from '../../src/host/store/store';
import { describeHostStore, unit, volunteer } from '../helpers/store-conformance';

const dir = mkdtempSync(join(tmpdir(), 'tabgrid-group-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `store-${++files}.sqlite`);

// The old path stays covered: every commit its own transaction, written before commit() returns.
describeHostStore(
  'SqliteHostStore (file, group commit off)',
  async () => new SqliteHostStore(freshPath(), { groupCommit: false }),
  async (store) => {
    await store.close();
    return new SqliteHostStore((store as SqliteHostStore).path, { groupCommit: false });
  },
);

/** A unit the units table's CHECK refuses: its batch fails inside SQLite, after its other rows were written. */
const refused = (jobId: string, index: number): StoredUnit => unit(jobId, index, { state: 'lost' as StoredUnit['state'] });

/** Unit ids in the file, read through a connection of its own (what another process would see). */
function unitIdsOnDisk(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[], { unit_id: string }>('SELECT unit_id FROM units ORDER BY unit_id')
      .all()
      .map((r) => r.unit_id);
  } finally {
    db.close();
  }
}

describe('SQLite group commit', () => {
  it('writes the commits of one turn as one transaction, each promise resolving once it is on disk', async () => {
    const path = freshPath();
    const store = new SqliteHostStore(path);
    const before = store.commitCounts();
    const commits = [0, 1, 2, 3, 4].map((i) => store.commit({ units: [unit('g', i)] }));
    // Nothing is written until the group is: another connection sees none of them yet.
    expect(unitIdsOnDisk(path)).toEqual([]);
    const onDiskWhenResolved: string[][] = [];
    await Promise.all(commits.map((c) => c.then(() => onDiskWhenResolved.push(unitIdsOnDisk(path)))));
    for (const seen of onDiskWhenResolved) expect(seen).toEqual(['g/0', 'g/1', 'g/2', 'g/3', 'g/4']);
    const after = store.commitCounts();
    expect(after.batches - before.batches).toBe(5);
    expect(after.transactions - before.transactions).toBe(1);
    await store.close();
  });

  it('gathers the commits made while a group is being synced into the next group', async () => {
    const path = freshPath();
    const store = new SqliteHostStore(path);
    const before = store.commitCounts();
    const first = store.commit({ units: [unit('w', 0)] });
    // The store's turn came first: w/0 is written (visible to readers) and its fsync runs, so it has not resolved.
    await new Promise((r) => setImmediate(r));
    expect(unitIdsOnDisk(path)).toEqual(['w/0']);
    let firstDone = false;
    void first.then(() => (firstDone = true));
    const next = [1, 2, 3].map((i) => store.commit({ units: [unit('w', i)] }));
    await Promise.resolve();
    expect(firstDone).toBe(false);
    await Promise.all([first, ...next]);
    const after = store.commitCounts();
    expect([after.batches - before.batches, after.transactions - before.transactions]).toEqual([4, 2]);
    await store.close();
  });

  it('rolls back a failing batch alone: its caller gets the error, the rest of its group commits', async () => {
    const path = freshPath();
    const store = new SqliteHostStore(path);
    const results = await Promise.allSettled([
      store.commit({ units: [unit('a', 0)] }),
      // Its first row is written before the second fails: the savepoint takes both back.
      store.commit({ units: [unit('b', 0), refused('b', 1)], volunteers: [volunteer('vb', 5)] }),
      store.commit({ units: [unit('c', 0)], volunteers: [volunteer('vc', 7)] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const failure = (results[1] as PromiseRejectedResult).reason;
    expect(isTabgridError(failure, 'storage'), String(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/CHECK constraint/);
    expect(store.commitCounts().transactions).toBe(1);
    await store.close();
    expect(unitIdsOnDisk(path)).toEqual(['a/0', 'c/0']);
    const reopened = new SqliteHostStore(path);
    expect((await reopened.load()).volunteers.map((v) => [v.id, v.credit])).toEqual([['vc', 7]]);
    await reopened.close();
  });

  it('applies none of a chain after its failed commit, in the same group or later, and others go on', async () => {
    const path = freshPath();
    const store = new SqliteHostStore(path);
    const chain: CommitChain = {};
    const results = await Promise.allSettled([
      store.commit({ units: [unit('c', 0)] }, chain),
      store.commit({ units: [refused('c', 1)] }, chain),
      // Built on the failed one (its whole-row upserts could carry the failed one's changes): refused unapplied.
      store.commit({ units: [unit('c', 2)] }, chain),
      store.commit({ units: [unit('other', 0)] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/an earlier commit it builds on failed \(.*CHECK constraint/);
    expect(chain.failure).toBeDefined();
    await expect(store.commit({ units: [unit('c', 3)] }, chain)).rejects.toThrow(/an earlier commit it builds on failed/);
    await store.commit({ units: [unit('other', 1)] });
    await store.close();
    expect(unitIdsOnDisk(path)).toEqual(['c/0', 'other/0', 'other/1']);
  });

  it('fails the whole group when the transaction cannot be written, and marks every chain in it', async () => {
    const store = new SqliteHostStore(freshPath());
    const chain: CommitChain = {};
    // A second writer holds the file's write lock past the store's busy timeout: BEGIN IMMEDIATE fails.
    const other = new Database(store.path);
    other.exec('BEGIN IMMEDIATE');
    (store as unknown as { db: Database.Database }).db.pragma('busy_timeout = 50');
    const results = await Promise.allSettled([store.commit({ units: [unit('x', 0)] }, chain), store.commit({ units: [unit('y', 0)] })]);
    other.exec('ROLLBACK');
    other.close();
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
    expect(chain.failure).toBeDefined();
    // The store itself goes on.
    await store.commit({ units: [unit('z', 0)] });
    expect((await store.load()).units.map((u) => u.unitId)).toEqual(['z/0']);
    await store.close();
  });

  it('reads see commits still waiting for their group, and close writes them', async () => {
    const path = freshPath();
    const store = new SqliteHostStore(path);
    const first = store.commit({ units: [unit('r', 0)] });
    // load() is called before the group's turn: it writes the group first.
    expect((await store.load()).units.map((u) => u.unitId)).toEqual(['r/0']);
    await first;
    const last = store.commit({ units: [unit('r', 1)] });
    await store.close();
    await last;
    expect(unitIdsOnDisk(path)).toEqual(['r/0', 'r/1']);
  });

  it('with group commit off, writes every commit as its own transaction before commit() returns', async () => {
    const path = freshPath();
    const store = new SqliteHostStore(path, { groupCommit: false });
    expect(store.groupsCommits).toBe(false);
    const before = store.commitCounts();
    const commit = store.commit({ units: [unit('s', 0)] });
    expect(unitIdsOnDisk(path)).toEqual(['s/0']);
    await commit;
    await store.commit({ units: [unit('s', 1)] });
    const after = store.commitCounts();
    expect([after.batches - before.batches, after.transactions - before.transactions]).toEqual([2, 2]);
    // A chain is honoured here too.
    const chain: CommitChain = {};
    await expect(store.commit({ units: [refused('s', 2)] }, chain)).rejects.toThrow(/CHECK constraint/);
    await expect(store.commit({ units: [unit('s', 3)] }, chain)).rejects.toThrow(/an earlier commit it builds on failed/);
    await store.close();
  });
});
