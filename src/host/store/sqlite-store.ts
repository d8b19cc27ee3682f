/**
 * The Node host's durable HostStore: one SQLite file through better-sqlite3. A commit resolves
 * once its transaction survives a process kill or power loss: WAL with `synchronous = FULL`
 * (each commit fsyncs the WAL) with group commit off; with it on (the default), NORMAL plus one
 * fsync of the WAL per group, run off the event loop (sqlite-group-commit.ts). WAL with NORMAL
 * alone can lose the last commits on power loss, which would break the promise a reply made.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, TabgridError } from '../../errors';
import type { Identity } from '../../proof/identity';
import { DATASET_CHUNK_BYTES } from '../../data/dataset';
import { HOST_KEY_TABLE, loadOrCreateHostIdentity } from './sqlite-key';
import { ChainFailed, GroupCommit } from './sqlite-group-commit';
import { legacyAwaiting } from './legacy-awaiting';
import {
  json,
  jobOf,
  receiptOf,
  teamOf,
  trustOf,
  unitOf,
  volunteerOf,
  type JobRow,
  type ReceiptRow,
  type TeamRow,
  type TrustRow,
  type UnitRow,
  type VolunteerRow,
} from './store-rows';
import type {
  CommitChain,
  HostSnapshot,
  HostStore,
  StoreBatch,
  StoredDataset,
  StoredJob,
  StoredOutput,
  StoredReceipt,
  StoredTeam,
  StoredTrust,
  StoredUnit,
  StoredVolunteer,
} from './store';

/**
 * Migration i takes a database from user_version i to i + 1. Append, never edit: a file on disk
 * was made by some prefix of this list.
 */
const MIGRATIONS: readonly ((db: Database.Database) => void)[] = [
  (db) =>
    db.exec(`
      CREATE TABLE jobs (
        id TEXT NOT NULL PRIMARY KEY,
        spec TEXT NOT NULL,
        priority REAL NOT NULL,
        created_at REAL NOT NULL
      ) STRICT;
      CREATE INDEX jobs_order ON jobs (created_at, id);
      CREATE TABLE units (
        unit_id TEXT NOT NULL PRIMARY KEY,
        job_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'verifying', 'accepted')),
        holder TEXT,
        lease_deadline REAL,
        progress REAL NOT NULL,
        root TEXT,
        challenge TEXT,
        rejected_by TEXT NOT NULL,
        accepted_at REAL
      ) STRICT;
      CREATE INDEX units_order ON units (job_id, idx, unit_id);
      CREATE TABLE volunteers (
        id TEXT NOT NULL PRIMARY KEY,
        credit REAL NOT NULL,
        accepted INTEGER NOT NULL,
        rejected INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE receipts (
        receipt_id TEXT NOT NULL PRIMARY KEY,
        job_id TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        volunteer TEXT NOT NULL,
        credit REAL NOT NULL,
        root TEXT NOT NULL,
        issued_at REAL NOT NULL
      ) STRICT;
      CREATE INDEX receipts_order ON receipts (issued_at, receipt_id);
    `),
  // 2: proof-of-work units keep their solutions.
  (db) => db.exec(`ALTER TABLE units ADD COLUMN solutions TEXT;`),
  // 3: receipts are signed by the host; adaptive trust per job and volunteer key.
  (db) =>
    db.exec(`
      ALTER TABLE receipts ADD COLUMN signature TEXT;
      CREATE TABLE trust (
        job_id TEXT NOT NULL,
        key TEXT NOT NULL,
        streak INTEGER NOT NULL,
        valid INTEGER NOT NULL,
        invalid INTEGER NOT NULL,
        banned INTEGER NOT NULL CHECK (banned IN (0, 1)),
        PRIMARY KEY (job_id, key)
      ) STRICT;
    `),
  // 4: the host's signing key, so a restarted host keeps it (sqlite-key.ts).
  (db) => db.exec(HOST_KEY_TABLE),
  // 5: replicated units keep the roots each key reported.
  (db) => db.exec(`ALTER TABLE units ADD COLUMN votes TEXT;`),
  // 6: the keys that have held each unit's lease.
  (db) => db.exec(`ALTER TABLE units ADD COLUMN leased_to TEXT;`),
  // 7: collected output, read one unit at a time (never in the snapshot).
  (db) =>
    db.exec(`
      ALTER TABLE units ADD COLUMN collecting TEXT;
      CREATE TABLE outputs (
        unit_id TEXT NOT NULL,
        root TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (unit_id, root)
      ) STRICT;
    `),
  // 8: whose hold of each unit runs, and since when (the maximum hold, holds.ts).
  (db) => db.exec(`ALTER TABLE units ADD COLUMN hold TEXT;`),
  // 9: what a verifying unit awaits, and why (store.ts `Awaiting`), replaces `collecting`.
  (db) => {
    db.exec(`ALTER TABLE units ADD COLUMN awaiting TEXT;`);
    const verifying = db
      .prepare<[], { unit_id: string; state: string; holder: string | null; challenge: string | null; collecting: string | null }>(
        `SELECT unit_id, state, holder, challenge, collecting FROM units WHERE state = 'verifying'`,
      )
      .all();
    const set = db.prepare<[string | null, string]>('UPDATE units SET awaiting = ? WHERE unit_id = ?');
    for (const u of verifying) set.run(legacyAwaiting(u) ?? null, u.unit_id);
    db.exec(`ALTER TABLE units DROP COLUMN collecting;`);
  },
  // 10: datasets, in rows of one chunk each (a 1 GiB blob passes SQLite's default 10⁹-byte
  // value limit); what computed each result (the backend and adapter it reports); proof-of-work
  // units' shares.
  (db) =>
    db.exec(`
      CREATE TABLE datasets (
        root TEXT NOT NULL PRIMARY KEY,
        bytes INTEGER NOT NULL CHECK (bytes > 0),
        created_at REAL NOT NULL
      ) STRICT;
      CREATE TABLE dataset_chunks (
        root TEXT NOT NULL,
        idx INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (root, idx)
      ) STRICT;
      ALTER TABLE units ADD COLUMN backend TEXT;
      ALTER TABLE units ADD COLUMN adapter TEXT;
      ALTER TABLE units ADD COLUMN shares TEXT;
    `),
  // 11: a job's status (active, paused, cancelled; NULL reads as active).
  (db) => db.exec(`ALTER TABLE jobs ADD COLUMN status TEXT;`),
  // 12: donors' display names and teams, last seen and recent average credit; team totals.
  (db) =>
    db.exec(`
      ALTER TABLE volunteers ADD COLUMN name TEXT;
      ALTER TABLE volunteers ADD COLUMN team TEXT;
      ALTER TABLE volunteers ADD COLUMN profile_at REAL;
      ALTER TABLE volunteers ADD COLUMN last_seen REAL;
      ALTER TABLE volunteers ADD COLUMN rac REAL;
      ALTER TABLE volunteers ADD COLUMN rac_at REAL;
      CREATE TABLE teams (
        key TEXT NOT NULL PRIMARY KEY,
        name TEXT NOT NULL,
        credit REAL NOT NULL,
        accepted INTEGER NOT NULL,
        rac REAL NOT NULL,
        rac_at REAL NOT NULL,
        last_seen REAL NOT NULL
      ) STRICT;
    `),
];

/** Chunks written per transaction when saving a dataset: the event loop runs between them. */
const DATASET_CHUNKS_PER_TRANSACTION = 64;

/** The schema version (PRAGMA user_version) this code writes; newer files are refused. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings `db` to SQLITE_SCHEMA_VERSION in one immediate transaction, so a second process opening
 * the same file waits, then sees the new version instead of migrating twice.
 */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new TabgridError(
        ErrorCode.Storage,
        `host store ${JSON.stringify(db.name)} has schema version ${version}, newer than this tabgrid understands (${SQLITE_SCHEMA_VERSION}); upgrade tabgrid`,
      );
    }
    for (let v = version; v < SQLITE_SCHEMA_VERSION; v++) MIGRATIONS[v]!(db);
    if (version < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

/** One upsert per table: column name → how to get it from a record. */
function upsert<T>(db: Database.Database, table: string, key: string, columns: Record<string, (r: T) => unknown>, fixed: readonly string[] = []) {
  const names = Object.keys(columns);
  // The key's columns (and `fixed` ones, which never change for a row) are left out of the
  // update: setting an indexed column rewrites its index entries even to the same value, which
  // cost a unit's upsert a third more.
  const unchanged = new Set([...key.split(',').map((k) => k.trim()), ...fixed]);
  const updated = names.filter((n) => !unchanged.has(n));
  // Positional parameters: binding by name costs better-sqlite3 a lookup each, a fifth of an upsert.
  const statement = db.prepare(
    `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})
     ON CONFLICT (${key}) ${updated.length > 0 ? `DO UPDATE SET ${updated.map((n) => `${n} = excluded.${n}`).join(', ')}` : 'DO NOTHING'}`,
  );
  const getters = Object.values(columns);
  return (record: T) => {
    // `?? null`: better-sqlite3 rejects undefined, and NOT NULL should be what catches a hole.
    statement.run(getters.map((get) => get(record) ?? null));
  };
}

/**
 * The WAL file of the database at `path`, opened for fsync (made if SQLite has not made it yet:
 * an empty WAL is a valid one), and its directory synced once so the file's name is durable too.
 * SQLite keeps its locks on the database and -shm files, so this descriptor releases none.
 */
function openWal(path: string): number {
  const dir = openSync(dirname(resolve(path)), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return openSync(`${path}-wal`, 'a');
}

/** Rows as SELECT * returns them (store-rows.ts). */
interface Rows {
  jobs: JobRow;
  units: UnitRow;
  volunteers: VolunteerRow;
  teams: TeamRow;
  receipts: ReceiptRow;
  trust: TrustRow;
}

export interface SqliteStoreOptions {
  /**
   * Group commit (sqlite-group-commit.ts): commits made while the event loop was busy share one
   * durable transaction. On by default; off, every commit is its own fsynced transaction,
   * written before commit() returns (the fallback, and the benchmark's baseline).
   */
  readonly groupCommit?: boolean;
}

export class SqliteHostStore implements HostStore {
  private readonly db: Database.Database;
  private readonly apply: (batch: StoreBatch) => void;
  /** Absent with group commit off. */
  readonly group?: GroupCommit;
  /** Commits written each in its own transaction (group commit off). */
  private ungrouped = 0;
  /** The WAL file, which group commit syncs (absent with it off, and for ':memory:'). */
  private walFd?: number;
  private readonly selects: { [T in keyof Rows]: Database.Statement<[], Rows[T]> };
  private identity?: Promise<Identity>;

  /** Opens (creating if need be) the store at `path`, or ':memory:'. Throws TabgridError 'storage'. */
  constructor(
    readonly path: string,
    options: SqliteStoreOptions = {},
  ) {
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      // The first statement that touches the file: a non-database or read-only file fails here.
      db.pragma('journal_mode = WAL');
      const grouped = options.groupCommit ?? true;
      // Group commit syncs the WAL itself, once per group and off the event loop (sqlite-group-commit.ts): NORMAL plus that fsync is FULL.
      db.pragma(`synchronous = ${grouped ? 'NORMAL' : 'FULL'}`);
      migrate(db);
      this.db = db;
      const bare = this.prepareCommit();
      // A transaction function rolls the whole batch back if any statement throws (nested in a group's transaction: a savepoint).
      this.apply = db.transaction(bare);
      if (grouped) {
        this.walFd = db.memory ? undefined : openWal(path);
        this.group = new GroupCommit(db, this.apply, bare, (err) => this.storageError('write', err), this.walFd);
      }
      this.selects = {
        jobs: db.prepare<[], Rows['jobs']>('SELECT * FROM jobs ORDER BY created_at, id'),
        units: db.prepare<[], Rows['units']>('SELECT * FROM units ORDER BY job_id, idx, unit_id'),
        volunteers: db.prepare<[], Rows['volunteers']>('SELECT * FROM volunteers ORDER BY id'),
        receipts: db.prepare<[], Rows['receipts']>('SELECT * FROM receipts ORDER BY issued_at, receipt_id'),
        trust: db.prepare<[], Rows['trust']>('SELECT * FROM trust ORDER BY job_id, key'),
        teams: db.prepare<[], Rows['teams']>('SELECT * FROM teams ORDER BY key'),
      };
    } catch (err) {
      db?.close();
      if (err instanceof TabgridError) throw err;
      throw new TabgridError(ErrorCode.Storage, `cannot open host store ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The statements that write a batch, bare: the caller wraps them in a transaction (or savepoint). */
  private prepareCommit(): (batch: StoreBatch) => void {
    const job = upsert<StoredJob>(this.db, 'jobs', 'id', {
      id: (j) => j.id,
      spec: (j) => json(j.spec),
      priority: (j) => j.priority,
      created_at: (j) => j.createdAt,
      status: (j) => j.status ?? null,
    });
    const unit = upsert<StoredUnit>(
      this.db,
      'units',
      'unit_id',
      {
        unit_id: (u) => u.unitId,
        job_id: (u) => u.jobId,
        idx: (u) => u.index,
        state: (u) => u.state,
        holder: (u) => u.holder,
        lease_deadline: (u) => u.leaseDeadline,
        progress: (u) => u.progress,
        root: (u) => u.root,
        challenge: (u) => json(u.challenge),
        rejected_by: (u) => json(u.rejectedBy),
        accepted_at: (u) => u.acceptedAt,
        solutions: (u) => json(u.solutions),
        votes: (u) => json(u.votes ?? null),
        leased_to: (u) => json(u.leasedTo ?? null),
        awaiting: (u) => u.awaiting ?? null,
        hold: (u) => json(u.hold ?? null),
        backend: (u) => u.backend ?? null,
        adapter: (u) => u.adapter ?? null,
        shares: (u) => json(u.shares ?? null),
      },
      ['job_id', 'idx'],
    );
    const volunteer = upsert<StoredVolunteer>(this.db, 'volunteers', 'id', {
      id: (v) => v.id,
      credit: (v) => v.credit,
      accepted: (v) => v.accepted,
      rejected: (v) => v.rejected,
      name: (v) => v.name,
      team: (v) => v.team,
      profile_at: (v) => v.profileAt,
      last_seen: (v) => v.lastSeen,
      rac: (v) => v.rac,
      rac_at: (v) => v.racAt,
    });
    const team = upsert<StoredTeam>(this.db, 'teams', 'key', {
      key: (t) => t.key,
      name: (t) => t.name,
      credit: (t) => t.credit,
      accepted: (t) => t.accepted,
      rac: (t) => t.rac,
      rac_at: (t) => t.racAt,
      last_seen: (t) => t.lastSeen,
    });
    const receipt = upsert<StoredReceipt>(this.db, 'receipts', 'receipt_id', {
      receipt_id: (r) => r.receiptId,
      job_id: (r) => r.jobId,
      unit_id: (r) => r.unitId,
      volunteer: (r) => r.volunteer,
      credit: (r) => r.credit,
      root: (r) => r.root,
      issued_at: (r) => r.issuedAt,
      signature: (r) => r.signature,
    });
    const trust = upsert<StoredTrust>(this.db, 'trust', 'job_id, key', {
      job_id: (t) => t.jobId,
      key: (t) => t.key,
      streak: (t) => t.streak,
      valid: (t) => t.valid,
      invalid: (t) => t.invalid,
      banned: (t) => (t.banned ? 1 : 0),
    });
    const output = upsert<StoredOutput>(this.db, 'outputs', 'unit_id, root', {
      unit_id: (o) => o.unitId,
      root: (o) => o.root,
      data: (o) => Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength),
    });
    const dropOutput = this.db.prepare<[string, string]>('DELETE FROM outputs WHERE unit_id = ? AND root = ?');
    const dropJob = [
      'DELETE FROM outputs WHERE unit_id IN (SELECT unit_id FROM units WHERE job_id = ?)',
      'DELETE FROM units WHERE job_id = ?',
      'DELETE FROM trust WHERE job_id = ?',
      'DELETE FROM jobs WHERE id = ?',
    ].map((sql) => this.db.prepare<[string]>(sql));
    const dropDataset = ['DELETE FROM dataset_chunks WHERE root = ?', 'DELETE FROM datasets WHERE root = ?'].map((sql) => this.db.prepare<[string]>(sql));
    return (batch: StoreBatch) => {
      for (const id of batch.deletedJobs ?? []) for (const statement of dropJob) statement.run(id);
      for (const root of batch.deletedDatasets ?? []) for (const statement of dropDataset) statement.run(root);
      for (const j of batch.jobs ?? []) job(j);
      for (const u of batch.units ?? []) unit(u);
      for (const v of batch.volunteers ?? []) volunteer(v);
      for (const r of batch.receipts ?? []) receipt(r);
      for (const t of batch.trust ?? []) trust(t);
      for (const t of batch.teams ?? []) team(t);
      for (const o of batch.outputs ?? []) output(o);
      for (const o of batch.droppedOutputs ?? []) dropOutput.run(o.unitId, o.root);
    };
  }

  /** Batches committed, and the durable transactions (fsyncs) they took. */
  commitCounts(): { batches: number; transactions: number } {
    return this.group ? { batches: this.group.batches, transactions: this.group.groups } : { batches: this.ungrouped, transactions: this.ungrouped };
  }

  get groupsCommits(): boolean {
    return this.group !== undefined;
  }

  async load(): Promise<HostSnapshot> {
    return this.guard('read', () => {
      // One read transaction, so the tables come from the same commit.
      return this.db.transaction(() => ({
        jobs: this.selects.jobs.all().map(jobOf),
        units: this.selects.units.all().map(unitOf),
        volunteers: this.selects.volunteers.all().map(volunteerOf),
        receipts: this.selects.receipts.all().map(receiptOf),
        trust: this.selects.trust.all().map(trustOf),
        teams: this.selects.teams.all().map(teamOf),
      }))();
    });
  }

  async commit(batch: StoreBatch, chain?: CommitChain): Promise<void> {
    if (this.group) return this.group.commit(batch, chain);
    if (chain?.failure !== undefined) throw this.storageError('write', new ChainFailed(chain.failure));
    try {
      this.guard('write', () => this.apply(batch));
      this.ungrouped++;
    } catch (err) {
      if (chain) chain.failure = err;
      throw err;
    }
  }

  async output(unitId: string, root: string): Promise<Uint8Array | undefined> {
    return this.guard('read', () => {
      const row = this.db.prepare<[string, string], { data: Buffer }>('SELECT data FROM outputs WHERE unit_id = ? AND root = ?').get(unitId, root);
      return row && new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength).slice();
    });
  }

  /**
   * Writes the chunks in transactions of DATASET_CHUNKS_PER_TRANSACTION, yielding between them
   * so a host saving 1 GiB still answers its volunteers, and the dataset's row last: a save cut
   * short leaves only chunk rows no dataset names, which the next save of the root overwrites.
   */
  async saveDataset(d: StoredDataset): Promise<void> {
    if (d.data.length === 0) throw new TabgridError(ErrorCode.Storage, `cannot store dataset ${d.root}: it has no bytes`);
    const known = this.guard('read', () => this.db.prepare<[string], { root: string }>('SELECT root FROM datasets WHERE root = ?').get(d.root));
    if (known) return;
    const put = this.db.prepare<[string, number, Buffer]>('INSERT OR REPLACE INTO dataset_chunks (root, idx, data) VALUES (?, ?, ?)');
    const count = Math.ceil(d.data.length / DATASET_CHUNK_BYTES);
    for (let first = 0; first < count; first += DATASET_CHUNKS_PER_TRANSACTION) {
      this.guard('write', () =>
        this.db.transaction(() => {
          for (let i = first; i < Math.min(count, first + DATASET_CHUNKS_PER_TRANSACTION); i++) {
            const chunk = d.data.subarray(i * DATASET_CHUNK_BYTES, (i + 1) * DATASET_CHUNK_BYTES);
            put.run(d.root, i, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          }
        })(),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.guard('write', () =>
      this.db.prepare('INSERT OR IGNORE INTO datasets (root, bytes, created_at) VALUES (?, ?, ?)').run(d.root, d.data.length, d.createdAt),
    );
  }

  async loadDataset(root: string): Promise<StoredDataset | undefined> {
    return this.guard('read', () =>
      this.db.transaction(() => {
        const row = this.db.prepare<[string], { bytes: number; created_at: number }>('SELECT bytes, created_at FROM datasets WHERE root = ?').get(root);
        if (!row) return undefined;
        const data = new Uint8Array(row.bytes);
        let at = 0;
        const chunks = this.db.prepare<[string], { idx: number; data: Buffer }>('SELECT idx, data FROM dataset_chunks WHERE root = ? ORDER BY idx');
        for (const c of chunks.iterate(root)) {
          if (c.idx * DATASET_CHUNK_BYTES !== at || at + c.data.length > row.bytes) break;
          data.set(c.data, at);
          at += c.data.length;
        }
        if (at !== row.bytes) throw new Error(`dataset ${root} is damaged: its chunks hold ${at} of its ${row.bytes} bytes`);
        return { root, data, createdAt: row.created_at };
      })(),
    );
  }

  async datasetRoots(): Promise<string[]> {
    return this.guard('read', () =>
      this.db
        .prepare<[], { root: string }>('SELECT root FROM datasets ORDER BY root')
        .all()
        .map((r) => r.root),
    );
  }

  /** The host's signing identity, made on first use and kept in this file (sqlite-key.ts). */
  hostIdentity(): Promise<Identity> {
    // One read and import per store; a failed one is tried again on the next call.
    this.identity ??= loadOrCreateHostIdentity(this.db).catch((err: unknown) => {
      this.identity = undefined;
      throw new TabgridError(ErrorCode.Storage, `cannot read the host key from ${JSON.stringify(this.path)}: ${(err as Error).message}`, { cause: err });
    });
    return this.identity;
  }

  /** Writes the commits still waiting for their group first, so they are not lost. */
  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.group?.drain();
    if (!this.db.open) return;
    this.db.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
  }

  /**
   * Runs `f`, reporting any failure (constraint, disk full, closed store) as 'storage'. Commits
   * waiting for their group are written first, so a read sees every commit made before it.
   */
  private guard<T>(what: 'read' | 'write', f: () => T): T {
    try {
      if (this.group?.pending && this.db.open) this.group.write();
      return f();
    } catch (err) {
      throw this.storageError(what, err);
    }
  }

  private storageError(what: 'read' | 'write', err: unknown): TabgridError {
    if (err instanceof TabgridError) return err;
    return new TabgridError(ErrorCode.Storage, `cannot ${what} host store ${JSON.stringify(this.path)}: ${(err as Error).message}`, { cause: err });
  }
}
