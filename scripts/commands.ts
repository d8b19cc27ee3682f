/**
 * Every npm command's command line, declared once (args.ts defineCommand): the options each
 * takes, with type, value name, default and what it does. The scripts parse with these, --help
 * prints them, and test/unit/cli-help.test.ts reads them without running any command.
 */
import { DEFAULT_SIGNAL_URL, DEMO_HOST_ID } from '../src/net/signal';
import { defineCommand } from './args';
import { ICE_FLAGS } from './ice-flags';
import { DEFAULT_ICE_PER_MINUTE } from './ice-endpoint';
import { DEFAULT_MAX_PER_IP } from './signal-server';

const DASHBOARD_URL = 'http://localhost:5173/dashboard.html';

const HOSTING = 'Hosting';
const STORE = 'Store';
const EXPORT = 'Results out of a store, instead of hosting (export-command.ts)';
const JOB_CONTROL = "A job changed in a stopped host's store, instead of hosting (job-command.ts)";
const WATCH = 'Watching';

export const HOST_COMMAND = defineCommand({
  command: 'npm run host',
  synopsis: '-- [--job FILE.json]… [--db FILE.sqlite|postgres://…] [options]',
  about: [
    'A job host in Node on a running signaling server (npm run signal). With --db its state is durable: stop it at any',
    'moment, start it again with the same --db, and the job goes on with nothing accepted lost.',
  ].join('\n'),
  options: {
    job: {
      type: 'string',
      multiple: true,
      value: 'FILE.json',
      group: HOSTING,
      shownDefault: 'the demo job',
      describe: 'a job spec, or a job request naming its own input files (README "Your own data"); several serve by priority',
    },
    signal: { type: 'string', value: 'URL', group: HOSTING, env: 'TABGRID_SIGNAL', shownDefault: DEFAULT_SIGNAL_URL, describe: 'the signaling server' },
    id: {
      type: 'string',
      value: 'ID',
      group: HOSTING,
      env: 'TABGRID_HOST_ID',
      shownDefault: DEMO_HOST_ID,
      describe: "the host's peer id (volunteers ask for it)",
    },
    'lease-ms': { type: 'string', value: 'N', group: HOSTING, shownDefault: '60000', describe: 'how long a volunteer holds a unit per lease, ≥ 1000' },
    'max-hold-ms': {
      type: 'string',
      value: 'N',
      group: HOSTING,
      shownDefault: '10 leases',
      describe: 'the longest one volunteer may hold a unit, renewals included',
    },
    'grace-ms': {
      type: 'string',
      value: 'N',
      group: HOSTING,
      shownDefault: 'one lease',
      describe: "how long a gone volunteer's units wait for it to come back",
    },
    'max-connections': {
      type: 'string',
      value: 'N',
      group: HOSTING,
      shownDefault: 'no cap',
      describe: 'direct connections taken; past them volunteers go through relays',
    },
    'exit-when-done': { type: 'boolean', group: HOSTING, describe: 'print the results as JSON and exit once every job is done' },
    db: {
      type: 'string',
      value: 'SPEC',
      group: STORE,
      shownDefault: 'memory',
      describe: 'the store: a SQLite file, sqlite:PATH, memory, or a postgres:// URL several hosts may share (docs/MULTI-HOST.md)',
    },
    store: { type: 'string', value: 'SPEC', group: STORE, describe: 'another name for --db' },
    'no-group-commit': {
      type: 'boolean',
      group: STORE,
      describe: 'every commit its own durable transaction, and each message waits for it (SQLite or PostgreSQL; for before/after figures)',
    },
    'observer-token': {
      type: 'string',
      value: 'T',
      group: WATCH,
      env: 'TABGRID_OBSERVER_TOKEN',
      shownDefault: 'a fresh random one',
      describe: 'the token that lets a dashboard watch this host read-only',
    },
    'dashboard-url': {
      type: 'string',
      value: 'URL',
      group: WATCH,
      env: 'TABGRID_DASHBOARD_URL',
      shownDefault: DASHBOARD_URL,
      describe: 'the dashboard the printed link opens',
    },
    export: { type: 'string', value: 'JOB', group: EXPORT, describe: "write job JOB's results to --out DIR (with --db)" },
    out: { type: 'string', value: 'DIR', group: EXPORT, describe: 'where --export writes: an empty or new folder' },
    force: { type: 'boolean', group: EXPORT, describe: '--export into a folder that is not empty' },
    'list-jobs': { type: 'boolean', group: EXPORT, describe: 'list the jobs in the --db store' },
    pause: { type: 'string', value: 'JOB', group: JOB_CONTROL, describe: 'a paused job leases nothing until resumed' },
    resume: { type: 'string', value: 'JOB', group: JOB_CONTROL, describe: 'a paused job leases again' },
    cancel: { type: 'string', value: 'JOB', group: JOB_CONTROL, describe: 'leases nothing ever again; what was accepted stays' },
    delete: {
      type: 'string',
      value: 'JOB',
      group: JOB_CONTROL,
      describe: 'a finished or cancelled job: its units, kept output and the datasets no other job reads',
    },
    ...ICE_FLAGS,
  },
  more: [
    'Also: npm run host -- --export JOB --out DIR --db FILE.sqlite [--force]; npm run host -- --list-jobs --db FILE.sqlite;',
    'npm run host -- --pause|--resume|--cancel|--delete JOB --db FILE.sqlite.',
  ].join('\n'),
});

export const SIGNAL_COMMAND = defineCommand({
  command: 'npm run signal',
  synopsis: '-- [--host ADDR] [--port N] [options]',
  about: [
    'The PeerJS signaling server on its own, for a deployment (docs/DEPLOY.md). GET /health answers JSON;',
    "with ICE flags, GET /ice answers a page's ICE servers, TURN credentials minted per request (a widget's ice-url);",
    'SIGINT/SIGTERM drop every peer and exit 0.',
  ].join('\n'),
  options: {
    host: {
      type: 'string',
      value: 'ADDR',
      env: 'TABGRID_SIGNAL_HOST',
      shownDefault: '127.0.0.1',
      describe: 'the address to bind: 0.0.0.0 takes connections from the network',
    },
    port: { type: 'string', value: 'N', env: 'TABGRID_SIGNAL_PORT', shownDefault: '9000', describe: 'the port, 1..65535' },
    path: { type: 'string', value: 'PATH', default: '/', describe: "PeerJS's path (the volunteer page's ?signal URL ends with it)" },
    'tls-cert': { type: 'string', value: 'FILE', group: 'TLS', describe: 'serve wss:// with this PEM certificate (with --tls-key)' },
    'tls-key': { type: 'string', value: 'FILE', group: 'TLS', describe: 'the PEM private key of --tls-cert' },
    'trust-proxy': { type: 'boolean', group: 'TLS', describe: 'behind a TLS reverse proxy: count clients by X-Forwarded-For, not the proxy' },
    'max-per-ip': { type: 'string', value: 'N', group: 'Limits', shownDefault: String(DEFAULT_MAX_PER_IP), describe: 'connections one IP address may hold' },
    'max-peers': { type: 'string', value: 'N', group: 'Limits', shownDefault: "PeerJS's", describe: 'peers the server holds at once' },
    ...ICE_FLAGS,
    'ice-origin': {
      type: 'string',
      multiple: true,
      value: 'ORIGIN',
      group: 'ICE endpoint (GET /ice, with any ICE flag)',
      shownDefault: 'any',
      describe: 'a page origin (https://site.example) that may read GET /ice',
    },
    'ice-per-minute': {
      type: 'string',
      value: 'N',
      group: 'ICE endpoint (GET /ice, with any ICE flag)',
      shownDefault: String(DEFAULT_ICE_PER_MINUTE),
      describe: 'GET /ice requests one IP may make a minute',
    },
  },
});

export const VOLUNTEER_COMMAND = defineCommand({
  command: 'npm run volunteer',
  synopsis: '-- [--signal URL] [--host ID] [--count N] [--gpu dawn|none] [options]',
  about: [
    "Honest volunteers in Node, on the farm's code: the real session over PeerJS, computing with the CPU reference",
    "(--gpu none) or with the pages' engine on Dawn's WebGPU (--gpu dawn; without a GPU, scripts/lavapipe.sh -- npm run",
    'volunteer -- --gpu dawn gives Dawn a software Vulkan). Prints each session status; SIGINT/SIGTERM stop it.',
  ].join('\n'),
  options: {
    signal: { type: 'string', value: 'URL', env: 'TABGRID_SIGNAL', shownDefault: DEFAULT_SIGNAL_URL, describe: 'the signaling server' },
    host: { type: 'string', value: 'ID', env: 'TABGRID_HOST_ID', shownDefault: DEMO_HOST_ID, describe: 'the host to volunteer for' },
    count: { type: 'string', value: 'N', shownDefault: '1', describe: 'volunteers in this process, 1..64' },
    gpu: { type: 'string', value: 'dawn|none', shownDefault: 'none', describe: "none: the CPU reference; dawn: the pages' engine on Dawn" },
    'dawn-flag': { type: 'string', multiple: true, value: 'F', describe: 'a Dawn switch (needs --gpu dawn)' },
    backend: { type: 'string', value: 'webgpu|cpu', describe: "every kernel on this backend, as the page's ?backend= (needs --gpu dawn)" },
    ...ICE_FLAGS,
  },
});

const FARM_FAULTS = 'Faults (at seeded points of the job)';
const FARM_DATA = 'Datasets and the swarm';
const FARM_HOSTS = 'Hosts';
export const FARM_COMMAND = defineCommand({
  command: 'npm run farm',
  synopsis: '-- --volunteers N [--job FILE.json]… [options]',
  about: [
    'A headless test farm: a signaling server, a host child, N volunteer pages (Chromium; --node: Node sessions),',
    'cheaters and faults. Prints a table, writes the summary JSON to --out, and exits 1 when an invariant broke.',
  ].join('\n'),
  options: {
    volunteers: { type: 'string', value: 'N', shownDefault: '4', describe: 'honest volunteers, ≥ 1' },
    job: { type: 'string', multiple: true, value: 'FILE.json', shownDefault: 'every kernel, small units', describe: 'a job spec to run' },
    node: { type: 'boolean', describe: 'Node volunteers computing with the CPU reference instead of Chromium pages' },
    backend: { type: 'string', value: 'webgpu|cpu', describe: 'every page runs every kernel on this backend (?backend=)' },
    seed: { type: 'string', value: 'N', shownDefault: '1', describe: 'where the faults fall' },
    'time-limit': { type: 'string', value: 'SECONDS', shownDefault: '600', describe: 'the run fails past it' },
    out: { type: 'string', value: 'FILE.json', describe: 'write the summary JSON here' },
    quiet: { type: 'boolean', describe: 'print only the table' },
    'host-cpu-prof': { type: 'string', value: 'DIR', describe: "write the host processes' CPU profiles (node --cpu-prof) here" },
    cheaters: { type: 'string', value: 'N', group: FARM_FAULTS, shownDefault: '0', describe: 'cheating Node volunteers, cycling through the cheat kinds' },
    kill: { type: 'string', value: 'N', group: FARM_FAULTS, shownDefault: '0', describe: 'volunteer pages killed' },
    reload: { type: 'string', value: 'N', group: FARM_FAULTS, shownDefault: '0', describe: 'volunteer pages reloaded' },
    hide: { type: 'string', value: 'N', group: FARM_FAULTS, shownDefault: '0', describe: 'pages hidden behind another tab' },
    freeze: { type: 'string', value: 'N', group: FARM_FAULTS, shownDefault: '0', describe: 'pages frozen for a while' },
    'drop-signal': { type: 'boolean', group: FARM_FAULTS, describe: 'a signaling server outage mid-job' },
    'restart-host': { type: 'boolean', group: FARM_FAULTS, describe: 'kill the host process mid-job and start it again on its store' },
    dataset: { type: 'boolean', group: FARM_DATA, describe: 'the default jobs on dataset inputs; measures locality' },
    'dataset-jobs': { type: 'string', value: 'ID,…', group: FARM_DATA, describe: 'the dataset jobs to run, by id (farm-ds-swarm only by id)' },
    liars: { type: 'string', value: 'N', group: FARM_DATA, shownDefault: '0', describe: 'lying peers in the swarm' },
    'close-serving': { type: 'boolean', group: FARM_DATA, describe: 'close a tab while others fetch from it' },
    hosts: {
      type: 'string',
      value: 'N',
      group: FARM_HOSTS,
      shownDefault: '1',
      describe: 'host processes on one PostgreSQL database, volunteers spread over them: docs/MULTI-HOST.md',
    },
    db: {
      type: 'string',
      value: 'sqlite|postgres|URL',
      group: FARM_HOSTS,
      shownDefault: 'sqlite',
      describe: "the hosts' store (postgres: a throwaway cluster)",
    },
    'kill-host': { type: 'boolean', group: FARM_HOSTS, describe: 'SIGKILL one host process for good mid-job (needs --hosts 2 or more)' },
    'no-group-commit': {
      type: 'boolean',
      group: FARM_HOSTS,
      describe: "the hosts without group commit (SQLite's, or PostgreSQL's in shared mode), for before/after figures",
    },
    coturn: { type: 'boolean', group: ICE_FLAGS.ice.group, describe: "every connection through a coturn on loopback (Debian's coturn)" },
    ...ICE_FLAGS,
  },
});

export const START_COMMAND = defineCommand({
  command: 'npm start',
  synopsis: '-- [--job FILE.json] [--db FILE] [options]',
  about: 'The signaling server, the volunteer page and a job host, all on this machine.',
  options: {
    'signal-port': { type: 'string', value: 'N', env: 'TABGRID_SIGNAL_PORT', shownDefault: '9000', describe: "the signaling server's port" },
    'web-port': { type: 'string', value: 'N', env: 'TABGRID_WEB_PORT', shownDefault: '5173', describe: "the pages' port" },
    'host-id': { type: 'string', value: 'ID', env: 'TABGRID_HOST_ID', shownDefault: DEMO_HOST_ID, describe: "the host's peer id" },
    job: { type: 'string', value: 'FILE.json', shownDefault: 'the demo job', describe: 'a job file' },
    db: { type: 'string', value: 'FILE', shownDefault: 'memory', describe: "keep the host's state in this SQLite file" },
  },
});

export const VERIFY_CREDIT_COMMAND = defineCommand({
  command: 'npm run verify-credit',
  synopsis: '-- STATEMENT.json (--host-key HEX | --host-db FILE.sqlite)',
  about: [
    `Checks a volunteer's credit statement (the widget's "Download proof of credit") against the host's public key. Prints`,
    'the verified total and every receipt that does not verify; exits 1 if any does not.',
  ].join('\n'),
  options: {
    'host-key': { type: 'string', value: 'HEX', describe: 'the host key npm run host prints at start' },
    'host-db': { type: 'string', value: 'FILE.sqlite', describe: "the host's store, which holds its key" },
  },
  positionals: { value: 'STATEMENT.json', min: 1, max: 1 },
});

export const BENCH_COMMAND = defineCommand({
  command: 'npm run bench',
  synopsis: '[-- --sizes 256,512,1024] [--only kernels|transfer] [options]',
  about: [
    'Serves the bench pages and runs them in headless Chromium: the kernel benchmarks with WebGPU, then chunk delivery',
    'over loopback WebRTC. Writes the results as JSON and a Markdown table beside it.',
  ].join('\n'),
  options: {
    sizes: { type: 'string', value: 'N,…', describe: "the kernels' matrix sizes" },
    only: { type: 'string', value: 'kernels|transfer', describe: 'one half only' },
    'transfer-mib': { type: 'string', value: 'N', default: '32', describe: 'MiB delivered, 1..1024' },
    port: { type: 'string', value: 'N', default: '5199', describe: "the bench pages' port" },
    out: { type: 'string', value: 'FILE.json', default: 'bench-results/bench.json', describe: 'the results (a .md beside it)' },
  },
  more: [
    'Other benchmarks, each with its own options (add --help):',
    '  npm run bench -- --ingest   the tiling benchmark (.npy ingestion stage by stage, the unit grid, unit times)',
    '  npm run bench -- --store    the host-store benchmark (one host on SQLite, group commit off and on)',
    '  npm run bench -- --dawn     the kernels in Node through Dawn',
  ].join('\n'),
});

export const BENCH_INGEST_COMMAND = defineCommand({
  command: 'npm run bench -- --ingest',
  synopsis: '[--size 8192] [--units 3] [--out FILE.json]',
  about: [
    'The tiling benchmark: writes two size×size float32 .npy files, ingests them stage by stage, then as npm run host',
    "does, and reports each stage's MB/s, the unit grid, the time a few units take on the CPU and the peak memory.",
  ].join('\n'),
  options: {
    ingest: { type: 'boolean', describe: 'this benchmark' },
    size: { type: 'string', value: 'N', default: '8192', describe: 'the matrices are N×N, 1..16384' },
    units: { type: 'string', value: 'N', default: '3', describe: 'units timed on the CPU' },
    out: { type: 'string', value: 'FILE.json', default: 'bench-results/ingest.json', describe: 'the results' },
  },
});

export const BENCH_STORE_COMMAND = defineCommand({
  command: 'npm run bench -- --store',
  synopsis: '[--units 16000] [--volunteers 32] [options]',
  about: [
    "One host process's cost per unit on SQLite, with group commit off and on: units/s and host CPU ms a unit (the whole",
    'run and its middle half, past V8 compiling the hot code), with honest volunteers speaking the real protocol over IPC.',
  ].join('\n'),
  options: {
    store: { type: 'boolean', describe: 'this benchmark' },
    units: { type: 'string', value: 'N', default: '16000', describe: 'units in the job, 1..1000000' },
    volunteers: { type: 'string', value: 'N', default: '32', describe: 'volunteers, 1..10000' },
    modes: { type: 'string', value: 'off,on', default: 'off,on', describe: 'group commit off and/or on, in this order' },
    runs: { type: 'string', value: 'N', default: '1', describe: 'runs of every mode, 1..100' },
    'cpu-prof': { type: 'string', value: 'DIR', describe: "write the host process's CPU profile (node --cpu-prof) here" },
    out: { type: 'string', value: 'FILE.json', default: 'bench-results/store.json', describe: 'the results' },
  },
});

export const BENCH_DAWN_COMMAND = defineCommand({
  command: 'npm run bench -- --dawn',
  synopsis: '[--sizes 256,512] [options]',
  about: [
    'The kernels in Node through Dawn, on whatever Vulkan the process has (scripts/lavapipe.sh -- … gives a software one):',
    'wall and kernel time, TF.js, the unit stream, cuBLAS when torch is here. Exit status 3: no adapter (or a software',
    'one with --require-gpu); 4: Dawn did not load.',
  ].join('\n'),
  options: {
    dawn: { type: 'boolean', describe: 'this benchmark' },
    sizes: { type: 'string', value: 'N,…', default: '256,512', describe: 'matrix sizes, each 1..8192' },
    'sha-count': { type: 'string', value: 'N', shownDefault: '65536', describe: 'messages hashed' },
    'pow-nonces': { type: 'string', value: 'N', shownDefault: '1048576', describe: 'proof-of-work nonces tried' },
    'stream-units': { type: 'string', value: 'N', shownDefault: '6', describe: 'units in the unit stream, 1..1000' },
    'stream-size': { type: 'string', value: 'N', shownDefault: 'the first size', describe: "the unit stream's matrix size" },
    'dawn-flag': { type: 'string', multiple: true, value: 'F', describe: 'a Dawn switch' },
    'require-gpu': { type: 'boolean', describe: 'refuse a software adapter (exit 3)' },
    'no-tfjs': { type: 'boolean', describe: 'leave TF.js out' },
    'no-torch': { type: 'boolean', describe: 'leave torch (cuBLAS) out' },
    out: { type: 'string', value: 'FILE.json', default: 'bench-results/bench-dawn.json', describe: 'the results (a .md beside it)' },
  },
});

/** Every command, for the tests. */
export const COMMANDS = [
  HOST_COMMAND,
  SIGNAL_COMMAND,
  VOLUNTEER_COMMAND,
  FARM_COMMAND,
  START_COMMAND,
  VERIFY_CREDIT_COMMAND,
  BENCH_COMMAND,
  BENCH_INGEST_COMMAND,
  BENCH_STORE_COMMAND,
  BENCH_DAWN_COMMAND,
] as const;
