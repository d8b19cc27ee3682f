/**
 * `npm run farm -- --volunteers N [--job FILE.json]… [--cheaters K] [--kill M] [--reload M]
 * [--drop-signal] [--restart-host] [--hide M] [--freeze M] [--seed S] [--time-limit SECONDS] [--node] [--backend webgpu|cpu]
 * [--dataset [--dataset-jobs ID,…]] [--liars L] [--close-serving] [--coturn | ICE flags] [--hosts N] [--db sqlite|postgres|URL] [--kill-host]
 * [--out FILE.json]`
 *
 * A headless test farm: a signaling server, a host child on a SQLite file, N volunteer pages
 * (Chromium, up to 8 per browser process; --node: Node sessions computing with the CPU
 * reference), K cheating Node volunteers cycling through the cheat kinds, and faults at seeded
 * points of the job's progress. Prints a table, writes the summary JSON (scripts/farm/summary.ts
 * defines each field) to --out, and exits 1 when an invariant broke. Without --job it runs
 * defaultJobs (every kernel, small units). --backend makes every page run every kernel there
 * (?backend=): on SwiftShader the chooser would put most kernels on the CPU, so
 * --backend webgpu is how the farm exercises the GPU kernels end to end. --dataset runs the
 * default jobs on dataset inputs (random .npy matrices, records and headers files, ingested as
 * `npm run host -- --job` does) and measures locality: the summary's input_bytes_sent,
 * input_bytes_per_unit and the shared-B figure (scripts/farm/locality.ts), bounded by 1.1.
 * --dataset-jobs picks dataset jobs by id (farm-ds-swarm: the swarm's product, only by id).
 * The swarm (issue 18, scripts/farm/swarm.ts): the summary's `swarm` reports input bytes from
 * the host and from peers and the peers' share; --liars starts lying peers (lying-peer.ts);
 * --close-serving closes a tab while others fetch from it.
 * --coturn forces every connection through a coturn the farm starts on loopback (farm/turn.ts;
 * needs Debian's coturn): the summary's connection_paths and volunteers_via_turn come from
 * each volunteer's getStats(), and a volunteer that went direct breaks the run. With --node it
 * can: libdatachannel's relay policy limits the candidates it offers, not the pairs its checks
 * find, and on loopback one Node volunteer in eight once paired directly (Chromium's is strict).
 * The ICE flags (--ice, --stun, --turn with --turn-secret or fixed credentials, --relay-only:
 * scripts/ice-flags.ts) run the farm on your own STUN/TURN servers instead.
 * --hosts N runs N host processes on one PostgreSQL database (--db postgres: a throwaway cluster;
 * or a URL), volunteers spread over them; --kill-host SIGKILLs one of them for good mid-job
 * (scripts/farm/host-group.ts, docs/MULTI-HOST.md). --no-group-commit runs the hosts without
 * group commit (SQLite's, or PostgreSQL's in shared mode), for before/after figures.
 */
import { writeFileSync } from 'node:fs';
import { ErrorCode, TabgridError } from '../src/errors';
import { parseCommand, readJob } from './args';
import { FARM_COMMAND } from './commands';
import { runFarm } from './farm/run';
import { summaryTable } from './farm/summary';
import { ICE_FLAGS, iceFromFlags } from './ice-flags';

const cli = parseCommand(FARM_COMMAND);
const { values } = cli;

function count(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) cli.fail(`--${name} ${raw} must be a whole number ≥ ${min}`);
  return n;
}

/** --backend, checked here: a typo must not run a farm on the backends the pages would choose. */
function backendOf(raw: string | undefined): 'webgpu' | 'cpu' | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'webgpu' || raw === 'cpu') return raw;
  return cli.fail(`--backend ${raw} must be webgpu or cpu`);
}

const hasIceFlags = Object.keys(ICE_FLAGS).some((k) => values[k as keyof typeof ICE_FLAGS] !== undefined);
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());
const profDir = values['host-cpu-prof'];
const summary = await runFarm(
  {
    volunteers: count('volunteers', values.volunteers, 4, 1),
    jobs: cli.check(() => values.job?.map(readJob)),
    cheaters: count('cheaters', values.cheaters, 0),
    kill: count('kill', values.kill, 0),
    reload: count('reload', values.reload, 0),
    dropSignal: values['drop-signal'],
    restartHost: values['restart-host'],
    // Pages really hidden behind another tab, and frozen for a while (scripts/farm/background-pages.ts).
    hide: count('hide', values.hide, 0),
    freeze: count('freeze', values.freeze, 0),
    seed: count('seed', values.seed, 1),
    timeLimitS: count('time-limit', values['time-limit'], 600, 1),
    node: values.node,
    backend: backendOf(values.backend),
    dataset: values.dataset,
    ...(values['dataset-jobs'] ? { datasetJobs: values['dataset-jobs'].split(',') } : {}),
    liars: count('liars', values.liars, 0),
    closeServing: values['close-serving'],
    turn: values.coturn,
    ...(hasIceFlags ? { ice: cli.check(() => iceFromFlags(values)) } : {}),
    hosts: count('hosts', values.hosts, 1, 1),
    db: values.db,
    killHost: values['kill-host'],
    noGroupCommit: values['no-group-commit'],
    hostFlags: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : undefined,
    log: values.quiet ? undefined : (line) => console.log(line),
  },
  controller.signal,
).catch((err: unknown) => {
  // runFarm refuses flag combinations before it starts anything, naming the flag first (or as BadInput): one line, not a stack.
  if ((err instanceof TabgridError && err.code === ErrorCode.BadInput) || (err instanceof Error && err.message.startsWith('--'))) return cli.fail(err.message);
  throw err;
});
console.log(summaryTable(summary));
if (values.out) writeFileSync(values.out, JSON.stringify(summary, null, 2) + '\n');
process.exit(summary.failures.length === 0 ? 0 : 1);
