/**
 * `npm run host -- --job FILE.json [--db FILE.sqlite] [--signal URL] [--id ID] [--lease-ms N]
 * [--max-hold-ms N] [--grace-ms N] [--max-connections N] [--exit-when-done] [--observer-token T] [--dashboard-url URL]`: a job host in Node on a running signaling server. With --db its state
 * is durable: kill the process at any moment, start it again with the same --db, and the job
 * goes on with nothing accepted lost. Several --job flags serve several jobs (by priority). A job
 * file may name its own inputs (.npy matrices, a records file, a headers file: README "Your own
 * data"); they are read, checked and stored as datasets before the host starts.
 * --db (or --store) names a store as open-host-store.ts reads it: a SQLite file, sqlite:PATH, memory, or a
 * postgres:// URL, which several host processes (each its own --id) may share (docs/MULTI-HOST.md).
 * --no-group-commit writes every SQLite commit as its own fsynced transaction (sqlite-group-commit.ts: the fallback).
 * The host prints a token (--observer-token or TABGRID_OBSERVER_TOKEN, else a fresh random one)
 * and the dashboard URL that watches it read-only with that token (--dashboard-url or
 * TABGRID_DASHBOARD_URL, default npm start's http://localhost:5173/dashboard.html).
 * ICE: --ice FILE.json, --stun URL, --turn URL with --turn-user/--turn-credential or
 * --turn-secret S (TABGRID_TURN_SECRET; the host then mints short-lived TURN credentials for
 * itself and hands each volunteer its own in the welcome), --turn-ttl S, --relay-only (ice-flags.ts).
 *
 * `npm run host -- --export JOB --out DIR --db FILE.sqlite [--force]` and `--list-jobs`: results
 * out of a store, stopped or running, instead of hosting (export-command.ts).
 *
 * `npm run host -- --pause|--resume|--cancel|--delete JOB --db FILE.sqlite`: a job changed in a
 * stopped host's store, instead of hosting (job-command.ts).
 */
import './node-webrtc';
import { DEMO_JOB, describeLayout, type JobSpec } from '../src/host/job';
import { openHostStore, parseStoreSpec, StoreKind } from '../src/host/store/open-host-store';
import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../src/net/signal';
import { parseCommand, readJobs } from './args';
import { HOST_COMMAND } from './commands';
import { runExportCommand } from './export-command';
import { JobCommandAction, runJobCommand } from './job-command';
import { checkObserverToken, newObserverToken } from '../src/proof/observer-token';
import { startHost, watchUrl } from './stack';
import { iceFromFlags } from './ice-flags';

const cli = parseCommand(HOST_COMMAND);
const { values } = cli;

if (values.db !== undefined && values.store !== undefined) cli.fail('--store is another name for --db: give one');
values.db ??= values.store;

if (values.export !== undefined || values['list-jobs']) {
  const code = await runExportCommand(
    { export: values.export, out: values.out, db: values.db, force: values.force, listJobs: values['list-jobs'] },
    (line) => console.log(line),
    (line) => console.error(line),
  );
  process.exit(code);
}

const jobActions = Object.values(JobCommandAction).filter((a) => values[a] !== undefined);
if (jobActions.length > 1) cli.fail(`give one of --${jobActions.join(', --')}`);
if (jobActions.length === 1) {
  const action = jobActions[0]!;
  process.exit(
    await runJobCommand(
      { action, jobId: values[action]!, db: values.db },
      (line) => console.log(line),
      (line) => console.error(line),
    ),
  );
}

const signalUrl = values.signal ?? process.env.TABGRID_SIGNAL ?? DEFAULT_SIGNAL_URL;
const hostId = values.id ?? process.env.TABGRID_HOST_ID ?? DEMO_HOST_ID;
const leaseMs = values['lease-ms'] === undefined ? undefined : Number(values['lease-ms']);
if (leaseMs !== undefined && !(Number.isInteger(leaseMs) && leaseMs >= 1000)) cli.fail(`--lease-ms ${values['lease-ms']} must be a whole number ≥ 1000`);
const maxHoldMs = values['max-hold-ms'] === undefined ? undefined : Number(values['max-hold-ms']);
if (maxHoldMs !== undefined && !(Number.isInteger(maxHoldMs) && maxHoldMs >= (leaseMs ?? 60_000))) {
  cli.fail(`--max-hold-ms ${values['max-hold-ms']} must be a whole number ≥ the lease (--lease-ms, default 60000)`);
}
const graceMs = values['grace-ms'] === undefined ? undefined : Number(values['grace-ms']);
if (graceMs !== undefined && !(Number.isInteger(graceMs) && graceMs >= 0)) cli.fail(`--grace-ms ${values['grace-ms']} must be a whole number ≥ 0`);
const maxDirect = values['max-connections'] === undefined ? undefined : Number(values['max-connections']);
if (maxDirect !== undefined && !(Number.isInteger(maxDirect) && maxDirect >= 1))
  cli.fail(`--max-connections ${values['max-connections']} must be a whole number ≥ 1`);
const givenToken = values['observer-token'] ?? process.env.TABGRID_OBSERVER_TOKEN;
const observerToken = givenToken === undefined ? newObserverToken() : cli.check(() => checkObserverToken(givenToken, '--observer-token'));
const dashboardUrl = values['dashboard-url'] ?? process.env.TABGRID_DASHBOARD_URL ?? 'http://localhost:5173/dashboard.html';
const iceSetup = cli.check(() => iceFromFlags(values));
const store = await cli.checkAsync(() => openHostStore(values.db, { groupCommit: !values['no-group-commit'] }));
/** Set by the first stop(): the done check and a signal may both ask. */
let stopping = false;
if (parseStoreSpec(values.db).kind === StoreKind.Memory) console.log('no --db: the host keeps its state in memory and loses it when it stops');
const jobs = values.job ? await readJobsOrFail(values.job) : [DEMO_JOB];

const { core, host } = await startHost({
  jobs,
  store,
  leaseMs,
  maxHoldMs,
  graceMs,
  maxDirect,
  signalUrl,
  hostId,
  observerToken,
  ice: iceSetup.ice,
  ...(iceSetup.turn ? { turn: iceSetup.turn } : {}),
  log: (line) => console.log(line),
  onAccepted: () => {
    if (!values['exit-when-done'] || !core.done) return;
    // Let the verdict that finished the job reach its volunteer before leaving.
    setTimeout(() => void stop(0, true), 500);
  },
});
const p = core.progress();
for (const job of jobs) console.log(`job ${job.id}: ${describeLayout(job)}`);
console.log(`host ${host.id} serves ${jobs.map((j) => j.id).join(', ')} via ${signalUrl}: ${p.accepted}/${p.total} units accepted so far`);
console.log(`host key ${core.publicKey} (receipts are signed with it: \`npm run verify-credit -- STATEMENT.json --host-key KEY\` checks a volunteer's credit)`);
if (iceSetup.turn) console.log(`TURN: minting credentials for ${iceSetup.turn.urls.join(', ')} (volunteers get theirs in the welcome)`);
console.log(`observer token ${observerToken} (whoever holds it can watch this host and download its results; keep it private)`);
console.log(`watch it from the dashboard: ${watchUrl(dashboardUrl, signalUrl, host.id, observerToken)}`);
// A database whose jobs are all finished gets no more acceptances to wait for: leave now.
if (values['exit-when-done'] && core.done) await stop(0, true);
// Sharing a database, the last acceptance may be another process's: the count it reads each second tells.
if (values['exit-when-done'])
  setInterval(() => {
    if (core.done) void stop(0, true);
  }, 1000).unref();

/** The job files, or one line naming the bad one (the store closed first: nothing of them was stored). */
async function readJobsOrFail(paths: string[]): Promise<JobSpec[]> {
  try {
    return await readJobs(paths, store);
  } catch (err) {
    await store.close();
    return cli.fail((err as Error).message);
  }
}

async function stop(code: number, printResults = false): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (printResults) console.log(JSON.stringify({ results: await core.allResults() }, null, 2));
  host.close();
  await store.close();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
