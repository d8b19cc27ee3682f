/**
 * The host store on PostgreSQL (the `pg` package): the snapshot HostStore every store keeps
 * (store-conformance.ts holds it to the same contract as SQLite), and the SharedHostStore port
 * that lets several host processes serve one database (docs/MULTI-HOST.md). A commit is one
 * call of tabgrid_commit (pg-schema.ts): one round trip, one transaction, durable when it
 * resolves (synchronous_commit = on, set on every connection). In shared mode, with group commit
 * (the default), the commits handed over while a round trip is in flight go together as one
 * call of tabgrid_commit_group (pg-group-commit.ts).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ErrorCode, TabgridError } from '../../errors';
import { DATASET_CHUNK_BYTES } from '../../data/dataset';
import type { Identity } from '../../proof/identity';
import { loadOrCreatePgHostIdentity } from './pg-key';
import { FENCED, NOTICE_CHANNEL, PG_MIGRATIONS, PG_SCHEMA_VERSION } from './pg-schema';
import { PgCommitQueue, type GroupOutcome } from './pg-group-commit';
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
import {
  FencedCommit,
  PROCESS_TTL_MS,
  teamNoticeKey,
  type BatchBase,
  type Claimed,
  type SharedHostStore,
  type SharedListener,
  type SharedNotice,
  type UnitCounts,
} from './shared-store';
import type { HostMessage } from '../../protocol';
import type { CommitChain, HostSnapshot, StoreBatch, StoredDataset, StoredTeam, StoredTrust, StoredUnit, StoredUnitState, StoredVolunteer } from './store';

/** Chunks written per transaction when saving a dataset: the event loop runs between them. */
const DATASET_CHUNKS_PER_TRANSACTION = 64;
/** Connections one store holds at most: commits are serial; reads (outputs, datasets, claims) may overlap them. */
const POOL_SIZE = 4;
/** An advisory lock key (any constant): migrations and job creation take it. */
const LOCK_KEY = 0x7ab9_17;

const CHANNEL = NOTICE_CHANNEL;
/** NOTIFY refuses payloads of 8000 bytes or more: keys go in several notices, and a longer owed message is not sent (its volunteer hears it by re-sending). */
const MAX_NOTICE_BYTES = 7900;
/** How soon a dropped listening connection is opened again (meanwhile every key's records are re-read before use). */
const LISTEN_RETRY_MS = 1000;
/** SQLSTATEs after which PostgreSQL rolled the whole statement or transaction back, and running it again may succeed: deadlock_detected, serialization_failure. */
const TRANSIENT = new Set(['40P01', '40001']);
/** Tries of one statement or transaction that fails with those, in all. */
const TRANSIENT_TRIES = 5;

/** A notice as sent: who sent it, and either keys whose records changed or a message owed to a key. */
type NoticeWire = { readonly p: string; readonly k: readonly string[] } | { readonly p: string; readonly to: string; readonly m: HostMessage };

/** The NOTIFY payloads for a shared commit: the keys whose records it changes, then the owed messages that fit. */
function noticesFor(processId: string, keys: readonly string[], owed: readonly { readonly to: string; readonly message: HostMessage }[]): string[] {
  const payloads: string[] = [];
  let group: string[] = [];
  const flush = () => {
    if (group.length > 0) payloads.push(JSON.stringify({ p: processId, k: group } satisfies NoticeWire));
    group = [];
  };
  for (const key of keys) {
    if (JSON.stringify({ p: processId, k: [...group, key] }).length > MAX_NOTICE_BYTES) flush();
    group.push(key);
  }
  flush();
  for (const { to, message } of owed) {
    const payload = JSON.stringify({ p: processId, to, m: message } satisfies NoticeWire);
    if (payload.length <= MAX_NOTICE_BYTES) payloads.push(payload);
  }
  return payloads;
}

/**
 * The keys whose volunteer or trust records a batch changes, and its teams (teamNoticeKey): what
 * its notice names, and what a re-read of a key or team waits for.
 */
const keysOf = (batch: StoreBatch): string[] => [
  ...new Set([...(batch.volunteers ?? []).map((v) => v.id), ...(batch.trust ?? []).map((t) => t.key), ...(batch.teams ?? []).map((t) => teamNoticeKey(t.key))]),
];

/** A unit as tabgrid_commit reads it: JSON-valued fields as the JSON text stored. */
const unitRecord = (u: StoredUnit) => ({
  ...u,
  challenge: json(u.challenge),
  rejectedBy: json(u.rejectedBy),
  solutions: json(u.solutions),
  votes: json(u.votes),
  leasedTo: json(u.leasedTo),
  hold: json(u.hold),
  shares: json(u.shares),
});

/** The batch as tabgrid_commit's JSON argument (outputs apart: their bytes go as bytea). */
function encode(batch: StoreBatch, records: Pick<StoreBatch, 'volunteers' | 'teams' | 'trust'> = batch): string {
  return JSON.stringify({
    ...(batch.deletedJobs?.length ? { deletedJobs: batch.deletedJobs } : {}),
    ...(batch.deletedDatasets?.length ? { deletedDatasets: batch.deletedDatasets } : {}),
    jobs: (batch.jobs ?? []).map((j) => ({ ...j, spec: json(j.spec) })),
    units: (batch.units ?? []).map(unitRecord),
    volunteers: records.volunteers ?? [],
    teams: records.teams ?? [],
    trust: records.trust ?? [],
    receipts: batch.receipts ?? [],
    // Dropped after the batch's outputs are written (as SQLite orders them): see write().
    ...(batch.outputs?.length ? {} : { droppedOutputs: batch.droppedOutputs ?? [] }),
  });
}

/** The shared mode's records: each one's increments over what this process read (`base`). */
function increments(batch: StoreBatch, base: BatchBase): Pick<StoreBatch, 'volunteers' | 'teams' | 'trust'> {
  return {
    volunteers: (batch.volunteers ?? []).map((v) => {
      const b = base.volunteers.get(v.id);
      return {
        ...v,
        credit: v.credit - (b?.credit ?? 0),
        accepted: v.accepted - (b?.accepted ?? 0),
        rejected: v.rejected - (b?.rejected ?? 0),
        ...(v.rac === undefined ? {} : { rac: v.rac - (b?.rac ?? 0) }),
      };
    }),
    teams: (batch.teams ?? []).map((t) => {
      const b = base.teams.get(t.key);
      return { ...t, credit: t.credit - (b?.credit ?? 0), accepted: t.accepted - (b?.accepted ?? 0), rac: t.rac - (b?.rac ?? 0) };
    }),
    trust: (batch.trust ?? []).map((t) => {
      const b = base.trust.get(JSON.stringify([t.jobId, t.key]));
      return { ...t, valid: t.valid - (b?.valid ?? 0), invalid: t.invalid - (b?.invalid ?? 0) };
    }),
  };
}

/** The connection string without its password, for messages. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** Live owner: the SQL condition that a unit's owner is a process that beat within PROCESS_TTL_MS. */
const LIVE_OWNER = `EXISTS (SELECT 1 FROM host_processes p WHERE p.id = units.owner AND p.seen_at > now() - make_interval(secs => ${PROCESS_TTL_MS / 1000}))`;

export interface PgStoreOptions {
  /** Refuse a database no host ever used (readers of an existing host's state). */
  readonly existing?: boolean;
  /** Shared mode: group commit (pg-group-commit.ts), on unless false. */
  readonly groupCommit?: boolean;
}

export class PgHostStore implements SharedHostStore {
  readonly processId = randomUUID();
  private readonly pool: pg.Pool;
  private readonly ready: Promise<void>;
  /** Commits in call order (the pool would let a later one overtake), shared ones grouped (pg-group-commit.ts). */
  private readonly queue = new PgCommitQueue((group) => this.sendGroup(group));
  /** Whether shared commits are grouped (and HostCore pipelines: groupsCommits). */
  private readonly grouping: boolean;
  private identity?: Promise<Identity>;
  private closed?: Promise<void>;
  private beaten = false;
  private listener?: SharedListener;
  /** The connection that LISTENs for other processes' notices (its own, not the pool's: a LISTEN lives on one session). */
  private listenClient?: pg.Client;
  private listenRetry?: ReturnType<typeof setTimeout>;
  private heard = false;
  /** Statements and transactions run again after a deadlock or serialization failure. */
  retried = 0;
  /** Other processes' notices handed on to the listener. */
  noticesHeard = 0;

  /** Connects to `url` (postgres://…) and brings its schema up to date; failures surface on first use, as TabgridError 'storage'. */
  constructor(
    readonly url: string,
    options: PgStoreOptions = {},
  ) {
    this.grouping = options.groupCommit ?? true;
    this.pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
    // A reply goes out once COMMIT returned, durable only while synchronous_commit is on: PostgreSQL's
    // default, but a database or role may turn it off. Queued on the connection before any other query.
    // A connection that cannot set it is ended: its queries fail (as storage errors) rather than commit less durably.
    this.pool.on('connect', (client) => void client.query('SET synchronous_commit = on').catch(() => client.end().catch(() => undefined)));
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.ready = this.migrate(options.existing === true);
    this.ready.catch(() => undefined);
  }

  /** Opens the store and waits until its schema is current; throws TabgridError 'storage' for an unreachable or newer database. */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgHostStore> {
    const store = new PgHostStore(url, options);
    try {
      await store.ready;
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  /** With `existing`, a database no host ever used is refused instead of set up (a reader's fresh, empty store would be a silent wrong answer). */
  private async migrate(existing: boolean): Promise<void> {
    await this.transaction('migrate', async (c) => {
      // One migration at a time across processes; the loser sees the version the winner wrote.
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      await c.query('CREATE TABLE IF NOT EXISTS tabgrid_schema (id integer NOT NULL PRIMARY KEY CHECK (id = 1), version integer NOT NULL)');
      const version = (await c.query<{ version: number }>('SELECT version FROM tabgrid_schema WHERE id = 1')).rows[0]?.version ?? 0;
      if (existing && version === 0) throw new TabgridError(ErrorCode.Storage, `no host database at ${redactedUrl(this.url)}: no host has used it yet`);
      if (version > PG_SCHEMA_VERSION) {
        throw new TabgridError(
          ErrorCode.Storage,
          `host database ${redactedUrl(this.url)} has schema version ${version}, newer than this tabgrid understands (${PG_SCHEMA_VERSION}); upgrade tabgrid`,
        );
      }
      for (let v = version; v < PG_SCHEMA_VERSION; v++) await c.query(PG_MIGRATIONS[v]!);
      await c.query('INSERT INTO tabgrid_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version', [PG_SCHEMA_VERSION]);
    });
  }

  async load(): Promise<HostSnapshot> {
    return this.snapshot(true);
  }

  async loadShared(): Promise<HostSnapshot> {
    return this.snapshot(false);
  }

  private async snapshot(withUnits: boolean): Promise<HostSnapshot> {
    await this.ready;
    await this.queue.flushed();
    // One repeatable-read transaction, so the tables come from the same commit.
    return this.transaction(
      'read',
      async (c) => {
        const rows = async <R extends pg.QueryResultRow>(sql: string) => (await c.query<R>(sql)).rows;
        const jobs = (await rows<JobRow>('SELECT * FROM jobs ORDER BY created_at, id')).map(jobOf);
        const units = withUnits ? (await rows<UnitRow>('SELECT * FROM units ORDER BY job_id, idx, unit_id')).map(unitOf) : [];
        const volunteers = (await rows<VolunteerRow>('SELECT * FROM volunteers ORDER BY id')).map(volunteerOf);
        const receipts = withUnits ? (await rows<ReceiptRow>('SELECT * FROM receipts ORDER BY issued_at, receipt_id')).map(receiptOf) : [];
        const trust = (await rows<TrustRow>('SELECT * FROM trust ORDER BY job_id, key')).map(trustOf);
        const teams = (await rows<TeamRow>('SELECT * FROM teams ORDER BY key')).map(teamOf);
        return { jobs, units, volunteers, receipts, trust, teams };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  /** True in shared mode with group commit: HostCore then applies a message at once and replies once its group committed. */
  get groupsCommits(): boolean {
    return this.grouping;
  }

  /** Commits handed over while a group's round trip was in flight share the next (the bench reports the mean group size). */
  get groupStats(): { readonly groups: number; readonly batches: number } {
    return { groups: this.queue.groups, batches: this.queue.batches };
  }

  /** Commits handed over and not yet settled (committed, fenced or failed). */
  get pendingCommits(): number {
    return this.queue.pending;
  }

  commit(batch: StoreBatch, chain?: CommitChain): Promise<void> {
    return this.queue.alone(() => this.write(batch, encode(batch), null), keysOf(batch), chain);
  }

  commitShared(
    batch: StoreBatch,
    base: BatchBase,
    owed: readonly { readonly to: string; readonly message: HostMessage }[] = [],
    chain?: CommitChain,
  ): Promise<void> {
    // Encoded now: the increments are over `base`, what memory held when the batch was made.
    const encoded = encode(batch, increments(batch, base));
    const keys = keysOf(batch);
    const notices = noticesFor(this.processId, keys, owed);
    const unitIds = (batch.units ?? []).map((u) => u.unitId);
    // A batch with outputs writes their bytes in statements of its own: alone, in its turn.
    if (!this.grouping || (batch.outputs?.length ?? 0) > 0) {
      return this.queue.alone(
        async () => {
          try {
            await this.write(batch, encoded, this.processId, notices);
          } catch (err) {
            if ((err as { cause?: { code?: string } }).cause?.code === FENCED) throw new FencedCommit(unitIds);
            throw err;
          }
        },
        keys,
        chain,
      );
    }
    return this.queue.grouped(`{"b":${encoded},"n":${JSON.stringify(notices)}}`, unitIds, keys, chain);
  }

  /** One group's round trip: tabgrid_commit_group, whose notices ride in the same transaction. */
  private async sendGroup(group: string): Promise<readonly GroupOutcome[]> {
    await this.ready;
    const r = await this.guard('write', () =>
      this.pool.query<{ o: GroupOutcome[] }>('SELECT tabgrid_commit_group($1::jsonb, $2) AS o', [group, this.processId]),
    );
    return r.rows[0]!.o;
  }

  private async write(batch: StoreBatch, encoded: string, owner: string | null, notices: readonly string[] = []): Promise<void> {
    await this.ready;
    const outputs = batch.outputs ?? [];
    // The notices ride in the commit's own statement: one round trip still, and NOTIFY is delivered only if the transaction commits.
    const [sql, params] =
      notices.length === 0
        ? ['SELECT tabgrid_commit($1::jsonb, $2)', [encoded, owner]]
        : [`SELECT tabgrid_commit($1::jsonb, $2), (SELECT count(pg_notify('${CHANNEL}', n)) FROM unnest($3::text[]) n)`, [encoded, owner, notices]];
    if (outputs.length === 0) {
      await this.guard('write', () => this.pool.query(sql, params));
      return;
    }
    await this.transaction('write', async (c) => {
      await c.query(sql, params);
      for (const o of outputs) {
        await c.query('INSERT INTO outputs (unit_id, root, data) VALUES ($1, $2, $3) ON CONFLICT (unit_id, root) DO UPDATE SET data = excluded.data', [
          o.unitId,
          o.root,
          Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength),
        ]);
      }
      for (const o of batch.droppedOutputs ?? []) await c.query('DELETE FROM outputs WHERE unit_id = $1 AND root = $2', [o.unitId, o.root]);
    });
  }

  async output(unitId: string, root: string): Promise<Uint8Array | undefined> {
    await this.ready;
    // An output accepted in memory may still be on its way to the database.
    await this.queue.flushed();
    const r = await this.guard('read', () => this.pool.query<{ data: Buffer }>('SELECT data FROM outputs WHERE unit_id = $1 AND root = $2', [unitId, root]));
    const data = r.rows[0]?.data;
    return data && new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }

  /** As SqliteHostStore: chunks in transactions of DATASET_CHUNKS_PER_TRANSACTION, the dataset's row last. */
  async saveDataset(d: StoredDataset): Promise<void> {
    if (d.data.length === 0) throw new TabgridError(ErrorCode.Storage, `cannot store dataset ${d.root}: it has no bytes`);
    await this.ready;
    const known = await this.guard('read', () => this.pool.query('SELECT 1 FROM datasets WHERE root = $1', [d.root]));
    if (known.rows.length > 0) return;
    const count = Math.ceil(d.data.length / DATASET_CHUNK_BYTES);
    for (let first = 0; first < count; first += DATASET_CHUNKS_PER_TRANSACTION) {
      await this.transaction('write', async (c) => {
        for (let i = first; i < Math.min(count, first + DATASET_CHUNKS_PER_TRANSACTION); i++) {
          const chunk = d.data.subarray(i * DATASET_CHUNK_BYTES, (i + 1) * DATASET_CHUNK_BYTES);
          await c.query('INSERT INTO dataset_chunks (root, idx, data) VALUES ($1, $2, $3) ON CONFLICT (root, idx) DO UPDATE SET data = excluded.data', [
            d.root,
            i,
            Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
          ]);
        }
      });
    }
    await this.guard('write', () =>
      this.pool.query('INSERT INTO datasets (root, bytes, created_at) VALUES ($1, $2, $3) ON CONFLICT (root) DO NOTHING', [d.root, d.data.length, d.createdAt]),
    );
  }

  async loadDataset(root: string): Promise<StoredDataset | undefined> {
    await this.ready;
    return this.transaction(
      'read',
      async (c) => {
        const row = (await c.query<{ bytes: number; created_at: number }>('SELECT bytes, created_at FROM datasets WHERE root = $1', [root])).rows[0];
        if (!row) return undefined;
        const data = new Uint8Array(row.bytes);
        let at = 0;
        const chunks = await c.query<{ idx: number; data: Buffer }>('SELECT idx, data FROM dataset_chunks WHERE root = $1 ORDER BY idx', [root]);
        for (const ch of chunks.rows) {
          if (ch.idx * DATASET_CHUNK_BYTES !== at || at + ch.data.length > row.bytes) break;
          data.set(ch.data, at);
          at += ch.data.length;
        }
        if (at !== row.bytes) throw new Error(`dataset ${root} is damaged: its chunks hold ${at} of its ${row.bytes} bytes`);
        return { root, data, createdAt: row.created_at };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  async datasetRoots(): Promise<string[]> {
    await this.ready;
    const r = await this.guard('read', () => this.pool.query<{ root: string }>('SELECT root FROM datasets ORDER BY root'));
    return r.rows.map((x) => x.root);
  }

  hostIdentity(): Promise<Identity> {
    this.identity ??= this.ready
      .then(() => loadOrCreatePgHostIdentity(this.pool))
      .catch((err: unknown) => {
        this.identity = undefined;
        if (err instanceof TabgridError) throw err;
        throw new TabgridError(ErrorCode.Storage, `cannot read the host key from ${redactedUrl(this.url)}: ${(err as Error).message}`, { cause: err });
      });
    return this.identity;
  }

  // The shared port (shared-store.ts; docs/MULTI-HOST.md).

  async beat(): Promise<void> {
    await this.ready;
    await this.guard('write', () =>
      this.pool.query('INSERT INTO host_processes (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()', [this.processId]),
    );
    this.beaten = true;
  }

  async exclusive<T>(f: () => Promise<T>): Promise<T> {
    await this.ready;
    const c = await this.guard('read', () => this.pool.connect());
    try {
      await this.guard('write', () => c.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]));
      try {
        return await f();
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
      }
    } finally {
      c.release();
    }
  }

  claim(jobId: string, n: number): Promise<Claimed> {
    // SKIP LOCKED: processes claiming at once each take other rows instead of queueing behind one another.
    return this.take(
      `UPDATE units SET owner = $1 WHERE unit_id IN (
         SELECT unit_id FROM units WHERE job_id = $2 AND state = 'queued' AND (owner IS NULL OR (owner <> $1 AND NOT ${LIVE_OWNER}))
         ORDER BY idx LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [jobId, n],
    );
  }

  adopt(unitIds: readonly string[]): Promise<Claimed> {
    // The one taking query that may return a unit this process owns (owner = $1): a commit of ours in flight may be writing it,
    // and the row read before that commit would overwrite newer memory. The others take only other processes' units.
    return this.take(
      `UPDATE units SET owner = $1 WHERE unit_id = ANY($2) AND (owner IS NULL OR owner = $1 OR NOT ${LIVE_OWNER}) RETURNING *`,
      [[...unitIds]],
      true,
    );
  }

  adoptHeldBy(key: string): Promise<Claimed> {
    return this.take(
      `UPDATE units SET owner = $1 WHERE holder = $2 AND state IN ('leased', 'verifying') AND (owner IS NULL OR (owner <> $1 AND NOT ${LIVE_OWNER})) RETURNING *`,
      [key],
    );
  }

  adoptLapsed(now: number, n: number): Promise<Claimed> {
    return this.take(
      `UPDATE units SET owner = $1 WHERE unit_id IN (
         SELECT unit_id FROM units WHERE state IN ('leased', 'verifying') AND lease_deadline < $2 AND (owner IS NULL OR (owner <> $1 AND NOT ${LIVE_OWNER}))
         LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [now, n],
    );
  }

  /** Runs the claiming UPDATE … RETURNING * and reads the taken units' receipts in the same statement: one round trip. */
  private async take(sql: string, params: unknown[], ours = false): Promise<Claimed> {
    await this.ready;
    if (ours) await this.queue.flushed();
    const r = await this.guard('write', () =>
      this.pool.query<{ units: UnitRow[]; receipts: ReceiptRow[] }>(
        `WITH taken AS (${sql})
         SELECT coalesce((SELECT json_agg(t) FROM taken t), '[]'::json) AS units,
                coalesce((SELECT json_agg(r ORDER BY r.issued_at, r.receipt_id) FROM receipts r WHERE r.unit_id IN (SELECT unit_id FROM taken)), '[]'::json) AS receipts`,
        [this.processId, ...params],
      ),
    );
    const { units, receipts } = r.rows[0]!;
    return { units: units.map(unitOf).sort((a, b) => a.index - b.index), receipts: receipts.map(receiptOf) };
  }

  async heldElsewhere(unitId: string): Promise<boolean> {
    await this.ready;
    const r = await this.guard('read', () =>
      this.pool.query(`SELECT 1 FROM units WHERE unit_id = $2 AND owner <> $1 AND ${LIVE_OWNER}`, [this.processId, unitId]),
    );
    return r.rows.length > 0;
  }

  async ownedUnitIds(): Promise<string[]> {
    await this.ready;
    // The partial index units_owner covers exactly these rows.
    const r = await this.guard('read', () =>
      this.pool.query<{ unit_id: string }>(`SELECT unit_id FROM units WHERE owner = $1 AND state <> 'accepted'`, [this.processId]),
    );
    return r.rows.map((row) => row.unit_id);
  }

  async release(unitIds: readonly string[]): Promise<void> {
    if (unitIds.length === 0) return;
    await this.ready;
    // Released by what memory says is queued: a commit of ours in flight that writes one of them goes first (else it would be fenced).
    await this.queue.flushed();
    await this.guard('write', () =>
      this.pool.query(`UPDATE units SET owner = NULL WHERE unit_id = ANY($2) AND owner = $1 AND state = 'queued'`, [this.processId, [...unitIds]]),
    );
  }

  async refreshKey(key: string): Promise<{ volunteer?: StoredVolunteer; trust: StoredTrust[] }> {
    await this.ready;
    // Our own increments to the key still in flight would be read as missing and lost from memory: wait for them.
    await this.queue.flushed(key);
    const r = await this.guard('read', () =>
      this.pool.query<{ v: VolunteerRow | null; t: TrustRow[] }>(
        `SELECT (SELECT row_to_json(v) FROM volunteers v WHERE v.id = $1) AS v,
                (SELECT coalesce(json_agg(t), '[]'::json) FROM trust t WHERE t.key = $1) AS t`,
        [key],
      ),
    );
    const row = r.rows[0]!;
    return { ...(row.v ? { volunteer: volunteerOf(row.v) } : {}), trust: row.t.map(trustOf) };
  }

  async teamsNow(keys: readonly string[]): Promise<StoredTeam[]> {
    await this.ready;
    if (keys.length === 0) return [];
    // Our own increments to these teams still in flight would be read as missing and lost from memory: wait for them.
    await Promise.all(keys.map((k) => this.queue.flushed(teamNoticeKey(k))));
    const r = await this.guard('read', () => this.pool.query<TeamRow>('SELECT * FROM teams WHERE key = ANY($1::text[])', [keys]));
    return r.rows.map(teamOf);
  }

  /** Not held for our commits in flight: the counts go to no record memory builds on, and they only ever lag (see remaining()). */
  async counts(): Promise<UnitCounts> {
    await this.ready;
    const r = await this.guard('read', () =>
      this.pool.query<{ state: StoredUnitState; n: number }>('SELECT state, count(*)::integer AS n FROM units GROUP BY state'),
    );
    const counts = { total: 0, queued: 0, leased: 0, verifying: 0, accepted: 0 };
    for (const { state, n } of r.rows) {
      counts[state] += n;
      counts.total += n;
    }
    return counts;
  }

  /**
   * Not held for our commits in flight: what a message or an expiry commits never makes an
   * accepted unit anything else (adding a job waits for its commit in its turn), so what is in
   * flight can only lower the count: read before it, the count is never below the truth, and
   * `done` comes late, never early.
   */
  async remaining(): Promise<number> {
    await this.ready;
    const r = await this.guard('read', () =>
      this.pool.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM units u JOIN jobs j ON j.id = u.job_id
         WHERE u.state <> 'accepted' AND NOT (u.state = 'queued' AND j.status IS NOT DISTINCT FROM 'cancelled')`,
      ),
    );
    return r.rows[0]!.n;
  }

  get listening(): boolean {
    return this.heard;
  }

  listen(listener: SharedListener): void {
    this.listener = listener;
    void this.openListener();
  }

  /** Opens the listening connection; when it drops, every cached key is stale (reset) and it is opened again shortly. */
  private async openListener(): Promise<void> {
    if (this.closed || this.listenClient) return;
    const client = new pg.Client({ connectionString: this.url });
    this.listenClient = client;
    const lost = () => {
      if (this.listenClient !== client) return;
      this.listenClient = undefined;
      this.heard = false;
      this.listener?.reset();
      client.end().catch(() => undefined);
      if (!this.closed) this.listenRetry = setTimeout(() => void this.openListener(), LISTEN_RETRY_MS);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload !== undefined) this.noticed(n.payload);
    });
    try {
      await this.ready;
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      if (this.listenClient !== client) return;
      // Whatever changed before now was not heard: start from nothing fresh.
      this.listener?.reset();
      this.heard = true;
    } catch {
      lost();
    }
  }

  /** Hands another process's notice on; its own, and any payload that is not one, are ignored. */
  private noticed(payload: string): void {
    let wire: NoticeWire;
    try {
      wire = JSON.parse(payload) as NoticeWire;
    } catch {
      return;
    }
    if (wire.p === this.processId || typeof wire.p !== 'string') return;
    const notice: SharedNotice | undefined =
      'k' in wire && Array.isArray(wire.k)
        ? { kind: 'keys', from: wire.p, keys: wire.k }
        : 'to' in wire && typeof wire.to === 'string' && typeof wire.m === 'object' && wire.m !== null
          ? { kind: 'owed', from: wire.p, to: wire.to, message: wire.m }
          : undefined;
    if (!notice) return;
    this.noticesHeard++;
    this.listener?.notice(notice);
  }

  async retire(): Promise<void> {
    if (!this.beaten) return;
    this.beaten = false;
    await this.guard('write', () => this.pool.query('DELETE FROM host_processes WHERE id = $1', [this.processId]));
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      clearTimeout(this.listenRetry);
      const listening = this.listenClient;
      this.listenClient = undefined;
      this.heard = false;
      await listening?.end().catch(() => undefined);
      await this.queue.flushed();
      await this.retire().catch(() => undefined);
      await this.pool.end();
    })();
    return this.closed;
  }

  /** Runs `f` in one transaction on one connection, rolled back if it throws; failures as TabgridError 'storage'. */
  private async transaction<T>(what: 'read' | 'write' | 'migrate', f: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.guard(what === 'migrate' ? 'write' : what, async () => {
      const c = await this.pool.connect();
      try {
        await c.query(begin);
        const result = await f(c);
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    });
  }

  /**
   * Runs `f`, reporting any failure (constraint, connection, closed store) as 'storage', the
   * driver's error as its cause. A deadlock or serialization failure is run again: PostgreSQL
   * rolled the statement or transaction back whole, and two processes' groups lock teams,
   * volunteers and trust rows in their batches' orders, so crossing groups deadlock in ordinary
   * running (one failing would fail its whole chain, and the host with it, until a restart).
   */
  private async guard<T>(what: 'read' | 'write', f: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await f();
      } catch (err) {
        if (err instanceof TabgridError) throw err;
        if (attempt < TRANSIENT_TRIES && TRANSIENT.has((err as { code?: string }).code ?? '')) {
          this.retried++;
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
          continue;
        }
        throw new TabgridError(ErrorCode.Storage, `cannot ${what} host database ${redactedUrl(this.url)}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
