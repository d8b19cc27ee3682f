/**
 * The PostgreSQL host store's schema (pg-store.ts), as migrations: migration i takes a database
 * from version i to i + 1 (table tabgrid_schema). Append, never edit: a database was made by
 * some prefix of this list. PostgreSQL has its own list, apart from SQLite's user_version.
 *
 * Text keys sort with COLLATE "C" (code-unit order, as the other stores sort), whatever locale
 * the cluster was made with. JSON-valued fields are kept as the JSON text the host wrote (as
 * SQLite keeps them), so a job's spec reads back byte for byte. Epoch-ms times are float8.
 *
 * One commit is one call of tabgrid_commit(batch, owner): one round trip, one transaction. With
 * owner NULL it overwrites (the snapshot store's contract); with this process's id it is the
 * shared mode of docs/MULTI-HOST.md: a unit row changes only while this process owns it (else
 * the whole batch fails with SQLSTATE TG001), and volunteers, teams and trust records take the
 * batch's changes as increments, so processes judging the same key at once never lose credit.
 */

/** SQLSTATE raised when a batch writes a unit another host process owns. */
export const FENCED = 'TG001';
/** The channel the processes' notices go on (SharedNotice). */
export const NOTICE_CHANNEL = 'tabgrid_shared';

const MIGRATION_1 = `
  CREATE TABLE jobs (
    id text COLLATE "C" NOT NULL PRIMARY KEY,
    spec text NOT NULL,
    priority float8 NOT NULL,
    created_at float8 NOT NULL,
    status text
  );
  CREATE TABLE units (
    unit_id text COLLATE "C" NOT NULL PRIMARY KEY,
    job_id text COLLATE "C" NOT NULL,
    idx integer NOT NULL,
    state text NOT NULL CHECK (state IN ('queued', 'leased', 'verifying', 'accepted')),
    holder text,
    lease_deadline float8,
    progress float8 NOT NULL,
    root text,
    challenge text,
    rejected_by text NOT NULL,
    accepted_at float8,
    solutions text,
    votes text,
    leased_to text,
    awaiting text,
    hold text,
    backend text,
    adapter text,
    shares text,
    owner text
  );
  CREATE INDEX units_order ON units (job_id, idx, unit_id);
  CREATE INDEX units_queued ON units (job_id, idx) WHERE state = 'queued';
  CREATE INDEX units_owner ON units (owner) WHERE owner IS NOT NULL AND state <> 'accepted';
  CREATE INDEX units_holder ON units (holder) WHERE state IN ('leased', 'verifying');
  CREATE TABLE volunteers (
    id text COLLATE "C" NOT NULL PRIMARY KEY,
    credit float8 NOT NULL,
    accepted integer NOT NULL,
    rejected integer NOT NULL,
    name text,
    team text,
    profile_at float8,
    last_seen float8,
    rac float8,
    rac_at float8
  );
  CREATE TABLE receipts (
    receipt_id text COLLATE "C" NOT NULL PRIMARY KEY,
    job_id text NOT NULL,
    unit_id text NOT NULL,
    volunteer text NOT NULL,
    credit float8 NOT NULL,
    root text NOT NULL,
    issued_at float8 NOT NULL,
    signature text
  );
  CREATE INDEX receipts_order ON receipts (issued_at, receipt_id);
  CREATE INDEX receipts_unit ON receipts (unit_id);
  CREATE TABLE trust (
    job_id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    streak integer NOT NULL,
    valid integer NOT NULL,
    invalid integer NOT NULL,
    banned boolean NOT NULL,
    PRIMARY KEY (job_id, key)
  );
  CREATE INDEX trust_key ON trust (key);
  CREATE TABLE teams (
    key text COLLATE "C" NOT NULL PRIMARY KEY,
    name text NOT NULL,
    credit float8 NOT NULL,
    accepted integer NOT NULL,
    rac float8 NOT NULL,
    rac_at float8 NOT NULL,
    last_seen float8 NOT NULL
  );
  CREATE TABLE outputs (
    unit_id text NOT NULL,
    root text NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (unit_id, root)
  );
  CREATE TABLE datasets (
    root text COLLATE "C" NOT NULL PRIMARY KEY,
    bytes integer NOT NULL CHECK (bytes > 0),
    created_at float8 NOT NULL
  );
  CREATE TABLE dataset_chunks (
    root text NOT NULL,
    idx integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (root, idx)
  );
  CREATE TABLE host_key (
    id integer NOT NULL PRIMARY KEY CHECK (id = 1),
    private_jwk text NOT NULL,
    public_jwk text NOT NULL
  );
  -- The host processes serving from this database, and when each last said it was alive (the database's clock).
  CREATE TABLE host_processes (
    id text NOT NULL PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz NOT NULL DEFAULT now()
  );

  CREATE FUNCTION tabgrid_commit(b jsonb, me text) RETURNS void LANGUAGE plpgsql AS $fn$
  DECLARE
    n integer;
  BEGIN
    IF b ? 'deletedJobs' THEN
      DELETE FROM outputs WHERE unit_id IN (SELECT unit_id FROM units WHERE job_id IN (SELECT jsonb_array_elements_text(b->'deletedJobs')));
      DELETE FROM units WHERE job_id IN (SELECT jsonb_array_elements_text(b->'deletedJobs'));
      DELETE FROM trust WHERE job_id IN (SELECT jsonb_array_elements_text(b->'deletedJobs'));
      DELETE FROM jobs WHERE id IN (SELECT jsonb_array_elements_text(b->'deletedJobs'));
    END IF;
    IF b ? 'deletedDatasets' THEN
      DELETE FROM dataset_chunks WHERE root IN (SELECT jsonb_array_elements_text(b->'deletedDatasets'));
      DELETE FROM datasets WHERE root IN (SELECT jsonb_array_elements_text(b->'deletedDatasets'));
    END IF;

    INSERT INTO jobs (id, spec, priority, created_at, status)
      SELECT x.id, x.spec, x.priority, x."createdAt", x.status
      FROM jsonb_to_recordset(coalesce(b->'jobs', '[]')) AS x(id text, spec text, priority float8, "createdAt" float8, status text)
      ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, priority = excluded.priority, created_at = excluded.created_at, status = excluded.status;

    -- Units: a new row is inserted owned by nobody; an existing one changes only under its owner (shared mode).
    -- The jobs above are written first, so a batch adding a job adds its units.
    INSERT INTO units (unit_id, job_id, idx, state, holder, lease_deadline, progress, root, challenge, rejected_by, accepted_at,
                       solutions, votes, leased_to, awaiting, hold, backend, adapter, shares)
      SELECT x."unitId", x."jobId", x.index, x.state, x.holder, x."leaseDeadline", x.progress, x.root, x.challenge, x."rejectedBy",
             x."acceptedAt", x.solutions, x.votes, x."leasedTo", x.awaiting, x.hold, x.backend, x.adapter, x.shares
      FROM jsonb_to_recordset(coalesce(b->'units', '[]')) AS x("unitId" text, "jobId" text, index integer, state text, holder text,
             "leaseDeadline" float8, progress float8, root text, challenge text, "rejectedBy" text, "acceptedAt" float8, solutions text,
             votes text, "leasedTo" text, awaiting text, hold text, backend text, adapter text, shares text)
      -- Shared mode never brings back a unit whose job another process deleted.
      WHERE me IS NULL OR EXISTS (SELECT 1 FROM jobs WHERE jobs.id = x."jobId")
      ON CONFLICT (unit_id) DO UPDATE SET job_id = excluded.job_id, idx = excluded.idx, state = excluded.state, holder = excluded.holder,
        lease_deadline = excluded.lease_deadline, progress = excluded.progress, root = excluded.root, challenge = excluded.challenge,
        rejected_by = excluded.rejected_by, accepted_at = excluded.accepted_at, solutions = excluded.solutions, votes = excluded.votes,
        leased_to = excluded.leased_to, awaiting = excluded.awaiting, hold = excluded.hold, backend = excluded.backend,
        adapter = excluded.adapter, shares = excluded.shares
      WHERE me IS NULL OR units.owner = me;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> jsonb_array_length(coalesce(b->'units', '[]')) THEN
      RAISE EXCEPTION 'a unit of this batch belongs to another host process' USING ERRCODE = '${FENCED}';
    END IF;

    IF me IS NULL THEN
      INSERT INTO volunteers (id, credit, accepted, rejected, name, team, profile_at, last_seen, rac, rac_at)
        SELECT x.id, x.credit, x.accepted, x.rejected, x.name, x.team, x."profileAt", x."lastSeen", x.rac, x."racAt"
        FROM jsonb_to_recordset(coalesce(b->'volunteers', '[]')) AS x(id text, credit float8, accepted integer, rejected integer, name text,
               team text, "profileAt" float8, "lastSeen" float8, rac float8, "racAt" float8)
        ON CONFLICT (id) DO UPDATE SET credit = excluded.credit, accepted = excluded.accepted, rejected = excluded.rejected, name = excluded.name,
          team = excluded.team, profile_at = excluded.profile_at, last_seen = excluded.last_seen, rac = excluded.rac, rac_at = excluded.rac_at;
      INSERT INTO teams (key, name, credit, accepted, rac, rac_at, last_seen)
        SELECT x.key, x.name, x.credit, x.accepted, x.rac, x."racAt", x."lastSeen"
        FROM jsonb_to_recordset(coalesce(b->'teams', '[]')) AS x(key text, name text, credit float8, accepted integer, rac float8, "racAt" float8, "lastSeen" float8)
        ON CONFLICT (key) DO UPDATE SET name = excluded.name, credit = excluded.credit, accepted = excluded.accepted, rac = excluded.rac,
          rac_at = excluded.rac_at, last_seen = excluded.last_seen;
      INSERT INTO trust (job_id, key, streak, valid, invalid, banned)
        SELECT x."jobId", x.key, x.streak, x.valid, x.invalid, x.banned
        FROM jsonb_to_recordset(coalesce(b->'trust', '[]')) AS x("jobId" text, key text, streak integer, valid integer, invalid integer, banned boolean)
        ON CONFLICT (job_id, key) DO UPDATE SET streak = excluded.streak, valid = excluded.valid, invalid = excluded.invalid, banned = excluded.banned;
    ELSE
      -- Shared mode: the batch carries increments (what this process added to the record it read). Counters add up; the
      -- latest profile, the latest times and a ban win; a streak is the last judge's.
      INSERT INTO volunteers (id, credit, accepted, rejected, name, team, profile_at, last_seen, rac, rac_at)
        SELECT x.id, x.credit, x.accepted, x.rejected, x.name, x.team, x."profileAt", x."lastSeen", x.rac, x."racAt"
        FROM jsonb_to_recordset(coalesce(b->'volunteers', '[]')) AS x(id text, credit float8, accepted integer, rejected integer, name text,
               team text, "profileAt" float8, "lastSeen" float8, rac float8, "racAt" float8)
        ON CONFLICT (id) DO UPDATE SET credit = volunteers.credit + excluded.credit, accepted = volunteers.accepted + excluded.accepted,
          rejected = volunteers.rejected + excluded.rejected,
          name = CASE WHEN excluded.profile_at > coalesce(volunteers.profile_at, '-infinity') THEN excluded.name ELSE volunteers.name END,
          team = CASE WHEN excluded.profile_at > coalesce(volunteers.profile_at, '-infinity') THEN excluded.team ELSE volunteers.team END,
          profile_at = greatest(volunteers.profile_at, excluded.profile_at), last_seen = greatest(volunteers.last_seen, excluded.last_seen),
          rac = CASE WHEN excluded.rac IS NULL THEN volunteers.rac ELSE coalesce(volunteers.rac, 0) + excluded.rac END,
          rac_at = greatest(volunteers.rac_at, excluded.rac_at);
      INSERT INTO teams (key, name, credit, accepted, rac, rac_at, last_seen)
        SELECT x.key, x.name, x.credit, x.accepted, x.rac, x."racAt", x."lastSeen"
        FROM jsonb_to_recordset(coalesce(b->'teams', '[]')) AS x(key text, name text, credit float8, accepted integer, rac float8, "racAt" float8, "lastSeen" float8)
        ON CONFLICT (key) DO UPDATE SET credit = teams.credit + excluded.credit, accepted = teams.accepted + excluded.accepted,
          rac = teams.rac + excluded.rac, rac_at = greatest(teams.rac_at, excluded.rac_at), last_seen = greatest(teams.last_seen, excluded.last_seen);
      INSERT INTO trust (job_id, key, streak, valid, invalid, banned)
        SELECT x."jobId", x.key, x.streak, x.valid, x.invalid, x.banned
        FROM jsonb_to_recordset(coalesce(b->'trust', '[]')) AS x("jobId" text, key text, streak integer, valid integer, invalid integer, banned boolean)
        ON CONFLICT (job_id, key) DO UPDATE SET streak = excluded.streak, valid = trust.valid + excluded.valid,
          invalid = trust.invalid + excluded.invalid, banned = trust.banned OR excluded.banned;
    END IF;

    INSERT INTO receipts (receipt_id, job_id, unit_id, volunteer, credit, root, issued_at, signature)
      SELECT x."receiptId", x."jobId", x."unitId", x.volunteer, x.credit, x.root, x."issuedAt", x.signature
      FROM jsonb_to_recordset(coalesce(b->'receipts', '[]')) AS x("receiptId" text, "jobId" text, "unitId" text, volunteer text, credit float8,
             root text, "issuedAt" float8, signature text)
      ON CONFLICT (receipt_id) DO UPDATE SET job_id = excluded.job_id, unit_id = excluded.unit_id, volunteer = excluded.volunteer,
        credit = excluded.credit, root = excluded.root, issued_at = excluded.issued_at, signature = excluded.signature;
    DELETE FROM outputs o USING jsonb_to_recordset(coalesce(b->'droppedOutputs', '[]')) AS x("unitId" text, root text)
      WHERE o.unit_id = x."unitId" AND o.root = x.root;
  END
  $fn$;
`;

/**
 * Group commit (docs/MULTI-HOST.md "Group commit"): the shared commits one process handed over
 * while its previous group's round trip was in flight, as ONE statement and ONE transaction.
 * `g` is a JSON array of {b: batch, n: notices}; each batch runs in its own subtransaction (the
 * BEGIN … EXCEPTION block), so a batch fenced by another process's adoption (TG001) is rolled
 * back alone while the others commit. Its notices are sent only when its batch committed, and,
 * NOTIFY being transactional, delivered only once the whole group commits. Returns one outcome a
 * batch, in order: null when it committed, 'fenced' when it was rolled back. Any other error
 * fails the whole statement (the caller fails every batch of the group).
 */
const MIGRATION_2 = `
  CREATE FUNCTION tabgrid_commit_group(g jsonb, me text) RETURNS jsonb LANGUAGE plpgsql AS $fn$
  DECLARE
    e jsonb;
    outcomes jsonb := '[]';
  BEGIN
    FOR e IN SELECT x FROM jsonb_array_elements(g) AS x LOOP
      BEGIN
        PERFORM tabgrid_commit(e->'b', me);
      EXCEPTION WHEN SQLSTATE '${FENCED}' THEN
        outcomes := outcomes || '["fenced"]'::jsonb;
        CONTINUE;
      END;
      PERFORM pg_notify('${NOTICE_CHANNEL}', n) FROM jsonb_array_elements_text(coalesce(e->'n', '[]')) AS n;
      outcomes := outcomes || '[null]'::jsonb;
    END LOOP;
    RETURN outcomes;
  END
  $fn$;
`;

export const PG_MIGRATIONS: readonly string[] = [MIGRATION_1, MIGRATION_2];

/** The schema version this code writes; newer databases are refused. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;
