import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { verifySignature } from '../../src/proof/identity';
import { SQLITE_SCHEMA_VERSION, SqliteHostStore } from '../../src/host/store/sqlite-store';
import { HOST_KEY_TABLE } from '../../src/host/store/sqlite-key';
import type { HostStore } from '../../src/host/store/store';
import { describeHostStore, job, receipt, unit } from '../helpers/store-conformance';

const dir = mkdtempSync(join(tmpdir(), 'tabgrid-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `store-${++files}.sqlite`);

describeHostStore(
  'SqliteHostStore (file)',
  async () => new SqliteHostStore(freshPath()),
  async (store) => {
    await store.close();
    return new SqliteHostStore((store as SqliteHostStore).path);
  },
);
describeHostStore('SqliteHostStore (:memory:)', async () => new SqliteHostStore(':memory:'));

/** Expects `f` to throw TabgridError 'storage' with a message matching `pattern`. */
function expectStorageError(f: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(isTabgridError(caught, 'storage'), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('SqliteHostStore', () => {
  it('writes a WAL-mode file at the current schema version', async () => {
    const path = freshPath();
    await new SqliteHostStore(path).close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('refuses a directory, a missing directory and a file that is not a database', () => {
    expectStorageError(() => new SqliteHostStore(dir), /cannot open host store/);
    expectStorageError(() => new SqliteHostStore(join(dir, 'no-such-dir', 'x.sqlite')), /directory does not exist/);
    const garbage = join(dir, 'garbage.sqlite');
    const bytes = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 131 + 7) & 0xff));
    writeFileSync(garbage, bytes);
    expectStorageError(() => new SqliteHostStore(garbage), /not a database/);
    // Refusing must not have touched the file.
    expect(readFileSync(garbage).equals(bytes)).toBe(true);
  });

  it('refuses a database from a newer schema version, leaving it as it was', () => {
    const path = freshPath();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    raw.close();
    expectStorageError(() => new SqliteHostStore(path), new RegExp(`schema version ${SQLITE_SCHEMA_VERSION + 1}, newer`));
    const after = new Database(path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION + 1);
    after.close();
  });

  it('migrates a version-1 file (before proof-of-work solutions) keeping every row', async () => {
    const path = freshPath();
    const raw = new Database(path);
    // The version-1 units table, as the first migration made it.
    raw.exec(`CREATE TABLE units (unit_id TEXT NOT NULL PRIMARY KEY, job_id TEXT NOT NULL, idx INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'verifying', 'accepted')), holder TEXT, lease_deadline REAL,
      progress REAL NOT NULL, root TEXT, challenge TEXT, rejected_by TEXT NOT NULL, accepted_at REAL) STRICT;
      CREATE INDEX units_order ON units (job_id, idx, unit_id);
      CREATE TABLE jobs (id TEXT NOT NULL PRIMARY KEY, spec TEXT NOT NULL, priority REAL NOT NULL, created_at REAL NOT NULL) STRICT;
      CREATE INDEX jobs_order ON jobs (created_at, id);
      CREATE TABLE volunteers (id TEXT NOT NULL PRIMARY KEY, credit REAL NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL) STRICT;
      CREATE TABLE receipts (receipt_id TEXT NOT NULL PRIMARY KEY, job_id TEXT NOT NULL, unit_id TEXT NOT NULL, volunteer TEXT NOT NULL,
        credit REAL NOT NULL, root TEXT NOT NULL, issued_at REAL NOT NULL) STRICT;
      CREATE INDEX receipts_order ON receipts (issued_at, receipt_id);
      INSERT INTO units VALUES ('j/0', 'j', 0, 'accepted', 'v', NULL, 9, '${'ab'.repeat(32)}', '[1,2]', '["w"]', 77);
      INSERT INTO receipts VALUES ('r', 'j', 'j/0', 'v', 12.5, '${'ab'.repeat(32)}', 5);
      PRAGMA user_version = 1;`);
    raw.close();
    const store = new SqliteHostStore(path);
    const { units, receipts, trust } = await store.load();
    // Receipts from before protocol 4 load unsigned; the trust table starts empty.
    expect(receipts).toEqual([{ ...receipt('r', 5), volunteer: 'v' }]);
    expect(trust).toEqual([]);
    expect(units).toEqual([
      unit('j', 0, { state: 'accepted', holder: 'v', progress: 9, root: 'ab'.repeat(32), challenge: [1, 2], rejectedBy: ['w'], acceptedAt: 77 }),
    ]);
    await store.commit({ units: [{ ...units[0]!, solutions: [3] }] });
    expect((await store.load()).units[0]!.solutions).toEqual([3]);
    await store.close();
    const after = new Database(path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    after.close();
  });

  it('migrates a version-11 file (before donor names and teams) keeping every volunteer, who then loads without a profile', async () => {
    const path = freshPath();
    // A version-11 file is this version's less what migration 12 added.
    await new SqliteHostStore(path).close();
    const raw = new Database(path);
    raw.exec(`DROP TABLE teams;
      ALTER TABLE volunteers DROP COLUMN name; ALTER TABLE volunteers DROP COLUMN team; ALTER TABLE volunteers DROP COLUMN profile_at;
      ALTER TABLE volunteers DROP COLUMN last_seen; ALTER TABLE volunteers DROP COLUMN rac; ALTER TABLE volunteers DROP COLUMN rac_at;
      INSERT INTO volunteers VALUES ('v', 96, 3, 1);
      PRAGMA user_version = 11;`);
    raw.close();
    const store = new SqliteHostStore(path);
    expect((await store.load()).volunteers).toEqual([{ id: 'v', credit: 96, accepted: 3, rejected: 1 }]);
    expect((await store.load()).teams).toEqual([]);
    await store.commit({ volunteers: [{ id: 'v', credit: 96, accepted: 3, rejected: 1, name: 'Ada', team: 'Lab A' }] });
    expect((await store.load()).volunteers).toEqual([{ id: 'v', credit: 96, accepted: 3, rejected: 1, name: 'Ada', team: 'Lab A' }]);
    await store.close();
    const after = new Database(path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(12);
    after.close();
  });

  it('migrates a version-7 file (before holds) keeping every row, and keeps holds after', async () => {
    const path = freshPath();
    const raw = new Database(path);
    // The schema migrations 1–7 made, written out as a file of that version has it.
    raw.exec(`CREATE TABLE jobs (id TEXT NOT NULL PRIMARY KEY, spec TEXT NOT NULL, priority REAL NOT NULL, created_at REAL NOT NULL) STRICT;
      CREATE INDEX jobs_order ON jobs (created_at, id);
      CREATE TABLE units (unit_id TEXT NOT NULL PRIMARY KEY, job_id TEXT NOT NULL, idx INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'verifying', 'accepted')), holder TEXT, lease_deadline REAL,
        progress REAL NOT NULL, root TEXT, challenge TEXT, rejected_by TEXT NOT NULL, accepted_at REAL,
        solutions TEXT, votes TEXT, leased_to TEXT, collecting TEXT) STRICT;
      CREATE INDEX units_order ON units (job_id, idx, unit_id);
      CREATE TABLE volunteers (id TEXT NOT NULL PRIMARY KEY, credit REAL NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL) STRICT;
      CREATE TABLE receipts (receipt_id TEXT NOT NULL PRIMARY KEY, job_id TEXT NOT NULL, unit_id TEXT NOT NULL, volunteer TEXT NOT NULL,
        credit REAL NOT NULL, root TEXT NOT NULL, issued_at REAL NOT NULL, signature TEXT) STRICT;
      CREATE INDEX receipts_order ON receipts (issued_at, receipt_id);
      CREATE TABLE trust (job_id TEXT NOT NULL, key TEXT NOT NULL, streak INTEGER NOT NULL, valid INTEGER NOT NULL, invalid INTEGER NOT NULL,
        banned INTEGER NOT NULL CHECK (banned IN (0, 1)), PRIMARY KEY (job_id, key)) STRICT;
      ${HOST_KEY_TABLE}
      CREATE TABLE outputs (unit_id TEXT NOT NULL, root TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (unit_id, root)) STRICT;
      INSERT INTO units VALUES ('j/0', 'j', 0, 'leased', 'v', 1000, 5, NULL, NULL, '[]', NULL, NULL, NULL, '["w","v"]', NULL);
      INSERT INTO units VALUES ('j/1', 'j', 1, 'verifying', 'w', 2000, 9, '${'ab'.repeat(32)}', NULL, '[]', NULL, NULL, NULL, '["w"]', 'verified');
      INSERT INTO outputs VALUES ('j/1', '${'ab'.repeat(32)}', x'0102');
      PRAGMA user_version = 7;`);
    raw.close();
    const store = new SqliteHostStore(path);
    const leased = unit('j', 0, { state: 'leased', holder: 'v', leaseDeadline: 1000, progress: 5, leasedTo: ['w', 'v'] });
    const collecting = unit('j', 1, {
      state: 'verifying',
      holder: 'w',
      leaseDeadline: 2000,
      progress: 9,
      root: 'ab'.repeat(32),
      leasedTo: ['w'],
      // `collecting: 'verified'` then; what it meant now (migration 9).
      awaiting: 'rows-to-keep',
    });
    // Units leased before holds load without one (the host starts the holder's hold at its next heartbeat).
    expect((await store.load()).units).toEqual([leased, collecting]);
    expect(await store.output('j/1', 'ab'.repeat(32))).toEqual(new Uint8Array([1, 2]));
    await store.commit({ units: [{ ...leased, hold: { key: 'v', since: 1500 } }] });
    expect((await store.load()).units).toEqual([{ ...leased, hold: { key: 'v', since: 1500 } }, collecting]);
    await store.close();
    const after = new Database(path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    after.close();
  });

  it('migrates a version-8 file (collecting) to what each verifying unit awaits, keeping every row', async () => {
    const path = freshPath();
    const raw = new Database(path);
    const root = 'ab'.repeat(32);
    // The schema migrations 1–8 made, written out as a file of that version has it.
    raw.exec(`CREATE TABLE jobs (id TEXT NOT NULL PRIMARY KEY, spec TEXT NOT NULL, priority REAL NOT NULL, created_at REAL NOT NULL) STRICT;
      CREATE INDEX jobs_order ON jobs (created_at, id);
      CREATE TABLE units (unit_id TEXT NOT NULL PRIMARY KEY, job_id TEXT NOT NULL, idx INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'verifying', 'accepted')), holder TEXT, lease_deadline REAL,
        progress REAL NOT NULL, root TEXT, challenge TEXT, rejected_by TEXT NOT NULL, accepted_at REAL,
        solutions TEXT, votes TEXT, leased_to TEXT, collecting TEXT, hold TEXT) STRICT;
      CREATE INDEX units_order ON units (job_id, idx, unit_id);
      CREATE TABLE volunteers (id TEXT NOT NULL PRIMARY KEY, credit REAL NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL) STRICT;
      CREATE TABLE receipts (receipt_id TEXT NOT NULL PRIMARY KEY, job_id TEXT NOT NULL, unit_id TEXT NOT NULL, volunteer TEXT NOT NULL,
        credit REAL NOT NULL, root TEXT NOT NULL, issued_at REAL NOT NULL, signature TEXT) STRICT;
      CREATE INDEX receipts_order ON receipts (issued_at, receipt_id);
      CREATE TABLE trust (job_id TEXT NOT NULL, key TEXT NOT NULL, streak INTEGER NOT NULL, valid INTEGER NOT NULL, invalid INTEGER NOT NULL,
        banned INTEGER NOT NULL CHECK (banned IN (0, 1)), PRIMARY KEY (job_id, key)) STRICT;
      ${HOST_KEY_TABLE}
      CREATE TABLE outputs (unit_id TEXT NOT NULL, root TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (unit_id, root)) STRICT;
      INSERT INTO units VALUES ('j/0', 'j', 0, 'leased', 'v', 1000, 5, NULL, NULL, '[]', NULL, NULL, NULL, '["v"]', NULL, '{"key":"v","since":900}');
      INSERT INTO units VALUES ('j/1', 'j', 1, 'verifying', 'v', 2000, 0, '${root}', '[3,7]', '[]', NULL, NULL, NULL, '["v"]', NULL, NULL);
      INSERT INTO units VALUES ('j/2', 'j', 2, 'verifying', 'v', 2000, 0, '${root}', NULL, '[]', NULL, NULL, NULL, '["v"]', NULL, NULL);
      INSERT INTO units VALUES ('j/3', 'j', 3, 'verifying', 'v', 2000, 0, '${root}', NULL, '[]', NULL, NULL, NULL, '["v"]', 'verified', NULL);
      INSERT INTO units VALUES ('j/4', 'j', 4, 'verifying', 'v', 2000, 0, '${root}', NULL, '[]', NULL, NULL, NULL, '["v"]', 'trusted', NULL);
      INSERT INTO units VALUES ('j/5', 'j', 5, 'verifying', NULL, NULL, 0, NULL, NULL, '[]', NULL, NULL,
        '[{"key":"a","root":"${'aa'.repeat(32)}"},{"key":"b","root":"${'bb'.repeat(32)}"}]', '["a","b"]', NULL, NULL);
      INSERT INTO units VALUES ('j/6', 'j', 6, 'accepted', 'v', NULL, 0, '${root}', NULL, '[]', 99, NULL, NULL, '["v"]', NULL, NULL);
      INSERT INTO outputs VALUES ('j/3', '${root}', x'0102');
      PRAGMA user_version = 8;`);
    raw.close();
    const store = new SqliteHostStore(path);
    const verifying = (i: number, over: Parameters<typeof unit>[2]) =>
      unit('j', i, { state: 'verifying', holder: 'v', leaseDeadline: 2000, root, leasedTo: ['v'], ...over });
    expect((await store.load()).units).toEqual([
      unit('j', 0, { state: 'leased', holder: 'v', leaseDeadline: 1000, progress: 5, leasedTo: ['v'], hold: { key: 'v', since: 900 } }),
      // A challenge open: its openings.
      verifying(1, { challenge: [3, 7], awaiting: 'openings' }),
      // Verifying without a challenge or `collecting`: the output as the check (Freivalds).
      verifying(2, { awaiting: 'rows-to-check' }),
      verifying(3, { awaiting: 'rows-to-keep' }),
      verifying(4, { awaiting: 'rows-trusted' }),
      // No holder: the host's own computation.
      unit('j', 5, {
        state: 'verifying',
        votes: [
          { key: 'a', root: 'aa'.repeat(32) },
          { key: 'b', root: 'bb'.repeat(32) },
        ],
        leasedTo: ['a', 'b'],
        awaiting: 'recompute',
      }),
      unit('j', 6, { state: 'accepted', holder: 'v', root, acceptedAt: 99, leasedTo: ['v'] }),
    ]);
    expect(await store.output('j/3', root)).toEqual(new Uint8Array([1, 2]));
    await store.close();
    const after = new Database(path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(SQLITE_SCHEMA_VERSION).toBe(12);
    // The old column is gone, so nothing can read it as if it still said something.
    expect((after.prepare('SELECT name FROM pragma_table_info(?)').all('units') as { name: string }[]).map((c) => c.name)).not.toContain('collecting');
    after.close();
  });

  it('migrates a version-10 file (before job statuses): its jobs load active, and then keep a status', async () => {
    const path = freshPath();
    const first = new SqliteHostStore(path);
    await first.commit({ jobs: [job('j', 1)], units: [unit('j', 0)] });
    await first.close();
    const raw = new Database(path);
    raw.exec(`DROP TABLE teams; ALTER TABLE volunteers DROP COLUMN name; ALTER TABLE volunteers DROP COLUMN team; ALTER TABLE volunteers DROP COLUMN profile_at;
      ALTER TABLE volunteers DROP COLUMN last_seen; ALTER TABLE volunteers DROP COLUMN rac; ALTER TABLE volunteers DROP COLUMN rac_at;
      ALTER TABLE jobs DROP COLUMN status; PRAGMA user_version = 10;`);
    raw.close();
    const store = new SqliteHostStore(path);
    expect((await store.load()).jobs).toEqual([job('j', 1)]);
    await store.commit({ jobs: [{ ...job('j', 1), status: 'cancelled' }] });
    await store.close();
    const again = new SqliteHostStore(path);
    expect((await again.load()).jobs).toEqual([{ ...job('j', 1), status: 'cancelled' }]);
    await again.close();
  });

  it('migrates a version-9 file (before datasets and backends) keeping every row', async () => {
    const path = freshPath();
    const first = new SqliteHostStore(path);
    const accepted = unit('j', 0, { state: 'accepted', holder: 'v', root: 'ab'.repeat(32), acceptedAt: 5 });
    await first.commit({ units: [accepted], receipts: [receipt('r', 1)] });
    await first.close();
    // What version 9 had: no dataset tables, no backend or adapter on units (and nothing of migrations 11 and 12).
    const raw = new Database(path);
    raw.exec(
      `DROP TABLE teams; ALTER TABLE volunteers DROP COLUMN name; ALTER TABLE volunteers DROP COLUMN team; ALTER TABLE volunteers DROP COLUMN profile_at;
      ALTER TABLE volunteers DROP COLUMN last_seen; ALTER TABLE volunteers DROP COLUMN rac; ALTER TABLE volunteers DROP COLUMN rac_at;
      DROP TABLE datasets; DROP TABLE dataset_chunks; ALTER TABLE units DROP COLUMN backend; ALTER TABLE units DROP COLUMN adapter; ALTER TABLE units DROP COLUMN shares; ALTER TABLE jobs DROP COLUMN status; PRAGMA user_version = 9;`,
    );
    raw.close();
    const store = new SqliteHostStore(path);
    expect((await store.load()).units).toEqual([accepted]);
    expect(await store.datasetRoots()).toEqual([]);
    await store.saveDataset({ root: 'cd'.repeat(32), data: Uint8Array.of(1, 2, 3), createdAt: 1 });
    await store.commit({ units: [{ ...accepted, backend: 'webgpu', adapter: 'Apple M3' }] });
    await store.close();
    const again = new SqliteHostStore(path);
    expect((await again.load()).units).toEqual([{ ...accepted, backend: 'webgpu', adapter: 'Apple M3' }]);
    expect((await again.loadDataset('cd'.repeat(32)))?.data).toEqual(Uint8Array.of(1, 2, 3));
    await again.close();
  });

  it('reads a dataset while another connection writes to the file (a WAL reader beside a running host)', async () => {
    const path = freshPath();
    const host = new SqliteHostStore(path);
    const reader = new SqliteHostStore(path);
    const data = Uint8Array.from({ length: 2 ** 20 }, (_, i) => (i * 13) & 0xff);
    const saving = host.saveDataset({ root: 'ef'.repeat(32), data, createdAt: 3 });
    // Until the dataset's row is written, a reader sees no dataset, never half of one.
    expect(await reader.loadDataset('ef'.repeat(32))).toBeUndefined();
    await saving;
    expect(Buffer.from((await reader.loadDataset('ef'.repeat(32)))!.data).equals(data)).toBe(true);
    await host.close();
    await reader.close();
  });

  it('refuses a dataset whose chunk rows were lost, naming it', async () => {
    const path = freshPath();
    const store = new SqliteHostStore(path);
    await store.saveDataset({ root: 'ab'.repeat(32), data: new Uint8Array(300_000), createdAt: 1 });
    const raw = new Database(path);
    raw.exec(`DELETE FROM dataset_chunks WHERE idx = 1`);
    raw.close();
    await expect(store.loadDataset('ab'.repeat(32))).rejects.toThrow(/dataset a{0}(ab){32} is damaged: its chunks hold 262144 of its 300000 bytes/);
    await store.close();
  });

  it('keeps the host key in the file: a reopened store signs with the same key', async () => {
    const path = freshPath();
    const first = new SqliteHostStore(path);
    const identity = await first.hostIdentity();
    const signature = await identity.sign(new TextEncoder().encode('receipt'));
    expect(await first.hostIdentity()).toMatchObject({ publicKey: identity.publicKey });
    await first.close();
    const again = new SqliteHostStore(path);
    const reloaded = await again.hostIdentity();
    expect(reloaded.publicKey).toBe(identity.publicKey);
    expect(await verifySignature(reloaded.publicKey, new TextEncoder().encode('receipt'), signature)).toBe(true);
    expect(await verifySignature(reloaded.publicKey, new TextEncoder().encode('receipt'), await reloaded.sign(new TextEncoder().encode('receipt')))).toBe(true);
    // Another file, another key.
    expect((await new SqliteHostStore(freshPath()).hostIdentity()).publicKey).not.toBe(identity.publicKey);
    await again.close();
  });

  it('refuses a database that already has other tables by those names', () => {
    const path = freshPath();
    const raw = new Database(path);
    raw.exec('CREATE TABLE jobs (x)');
    raw.close();
    expectStorageError(() => new SqliteHostStore(path), /already exists/);
  });

  it('rejects commits after close with a storage error', async () => {
    const store = new SqliteHostStore(freshPath());
    await store.close();
    await expect(store.commit({ units: [unit('j', 0)] })).rejects.toSatisfy((e) => isTabgridError(e, 'storage'));
  });

  it('loses nothing it reported committed when the process is killed', { timeout: 60_000 }, async () => {
    const path = freshPath();
    const perBatch = 50;
    // The child reports batch i on stdout only after commit(i) resolved.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `
        const { SqliteHostStore } = await import(${JSON.stringify(resolve('src/host/store/sqlite-store.ts'))});
        const store = new SqliteHostStore(process.argv[1]);
        for (let i = 0; ; i++) {
          const units = Array.from({ length: ${perBatch} }, (_, k) => ({ jobId: 'b' + i, unitId: 'b' + i + '/' + k, index: k,
            state: 'queued', holder: null, leaseDeadline: null, progress: 0, root: null, challenge: null, rejectedBy: [], acceptedAt: null, solutions: null }));
          await store.commit({ units, volunteers: [{ id: 'v', credit: i, accepted: 0, rejected: 0 }] });
          process.stdout.write(i + '\\n');
        }`,
        path,
      ],
      { cwd: resolve('.'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let reported = -1;
    const exited = new Promise((done) => child.on('exit', done));
    for await (const line of createInterface({ input: child.stdout })) {
      reported = Number(line);
      if (reported >= 40) {
        child.kill('SIGKILL');
        break;
      }
    }
    expect(await exited).toBeNull(); // a null exit code: it died by the signal
    expect(child.signalCode).toBe('SIGKILL');

    const store: HostStore = new SqliteHostStore(path);
    const { units, volunteers } = await store.load();
    await store.close();
    const sizes = new Map<string, number>();
    for (const u of units) sizes.set(u.jobId, (sizes.get(u.jobId) ?? 0) + 1);
    // Every reported batch whole; anything after it (committed, not yet reported) whole or absent.
    for (let i = 0; i <= reported; i++) expect(sizes.get(`b${i}`), `batch ${i}`).toBe(perBatch);
    for (const size of sizes.values()) expect(size).toBe(perBatch);
    expect(volunteers[0]!.credit).toBeGreaterThanOrEqual(reported);
    expect(sizes.size).toBe(volunteers[0]!.credit + 1);
  });
});
