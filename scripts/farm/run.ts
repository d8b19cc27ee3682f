/**
 * One farm run (see scripts/farm.ts for the command): signaling, a host child on a SQLite file,
 * honest volunteers (Chromium pages, or Node sessions), Node cheaters, faults at seeded points
 * of the job's progress; then the results checked against the CPU reference on the farm's own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ViteDevServer } from 'vite';
import { sleep } from '../../src/async';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { shelf } from '../../src/data/shelf';
import { DATASET_CHUNK_BYTES } from '../../src/data/dataset';
import { datasetsOf, type JobSpec } from '../../src/host/job';
import { openHostStore } from '../../src/host/store/open-host-store';
import { startSignaling, startWeb, type Signaling } from '../stack';
import { freePort } from '../free-port';
import { CHEAT_KINDS, usableIn, type CheatKind } from './cheat-kind';
import { startCheater, type Cheater } from './cheater';
import { datasetJobs } from './dataset-jobs';
import { defaultJobs } from './default-jobs';
import { backgroundPages, FaultKind, planFaults, type PlannedFault } from './faults';
import { BackgroundPages, FREEZE_MS } from './background-pages';
import { brokenCredit, checkFarmDb, creditFacts, FarmDb as FarmDbName, HostGroup, movedVolunteers } from './host-group';
import { localityFigure } from './locality';
import { isOutputCheat } from './lying-computer';
import { judgingSeconds } from './host-stats';
import { NodeVolunteers } from './node-volunteers';
import { PageFarm } from './pages';
import { connectionFigures, farmIce, startFarmTurn, turnInvariant } from './turn';
import type { IceSetup } from '../ice-flags';
import { brokenInvariants, judgeResults, type FarmSummary } from './summary';
import { closeWhileServing, swarmFigure, swarmInvariants } from './swarm';
import { startLyingPeer, type LyingPeer } from './lying-peer';

export interface FarmOptions {
  readonly volunteers: number;
  /** Default: defaultJobs(seed). */
  readonly jobs?: readonly JobSpec[];
  readonly cheaters?: number;
  readonly kill?: number;
  readonly reload?: number;
  readonly dropSignal?: boolean;
  readonly restartHost?: boolean;
  /** Pages hidden behind another tab for the rest of the run, and pages frozen for FREEZE_MS (background-pages.ts). */
  readonly hide?: number;
  readonly freeze?: number;
  readonly seed?: number;
  /** Stop and report after this long, seconds (default 600). */
  readonly timeLimitS?: number;
  /** Honest volunteers in Node (CPU reference) instead of Chromium pages. */
  readonly node?: boolean;
  readonly leaseMs?: number;
  /** Node flags for the host child, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  readonly hostFlags?: readonly string[];
  readonly log?: (line: string) => void;
  /** Make every page run every kernel on this backend (the page's ?backend=), instead of choosing. */
  readonly backend?: 'webgpu' | 'cpu';
  /** The default jobs on dataset inputs (dataset-jobs.ts) instead of seeds; measures locality. Not with `jobs`. */
  readonly dataset?: boolean;
  /** With `dataset`: run only the dataset jobs with these ids (a shorter farm, for tests). */
  readonly datasetJobs?: readonly string[];
  /** Lying peers (issue 18, lying-peer.ts): Node volunteers that hold every dataset and serve corrupted chunks. */
  readonly liars?: number;
  /** Close a page's tab while other volunteers fetch inputs from it (issue 18). */
  readonly closeServing?: boolean;
  /** Force every connection through a coturn on loopback the farm starts (farm/turn.ts). */
  readonly turn?: boolean;
  /** Or connect every peer with this ICE configuration (the ICE flags; farm/turn.ts farmIce). */
  readonly ice?: IceSetup;
  /** Host processes on one store (default 1); several need `db` postgres (host-group.ts). */
  readonly hosts?: number;
  /** sqlite (default for one host), postgres (a throwaway cluster) or a postgres:// URL. */
  readonly db?: string;
  /** SIGKILL the last host process, for good, once 5 % of the units are accepted (stats come each second, so it strikes a little later): its volunteers move to the others. */
  readonly killHost?: boolean;
  /** Hosts commit without group commit (`npm run host -- --no-group-commit`): SQLite's, and PostgreSQL's in shared mode. */
  readonly noGroupCommit?: boolean;
}

/** Cheat kinds that have something to lie about in these jobs, in CHEAT_KINDS order. */
function usableKinds(jobs: readonly JobSpec[]): CheatKind[] {
  return CHEAT_KINDS.filter((k) => usableIn(k, jobs));
}

export async function runFarm(options: FarmOptions, signal: AbortSignal): Promise<FarmSummary> {
  const seed = options.seed ?? 1;
  if (options.dataset && options.jobs) throw new Error('--dataset runs its own jobs: give it no --job');
  const log = options.log ?? (() => undefined);
  const faults = planFaults(
    {
      volunteers: options.volunteers,
      kill: options.kill ?? 0,
      reload: options.reload ?? 0,
      dropSignal: !!options.dropSignal,
      restartHost: !!options.restartHost,
      hide: options.hide,
      freeze: options.freeze,
    },
    seed,
  );
  const toBackground = backgroundPages(faults);
  if (options.node && toBackground.size > 0) throw new Error('--hide and --freeze need pages (Node volunteers have no page to hide)');
  if (options.node && options.backend) throw new Error('--backend needs pages (Node volunteers compute with the CPU reference)');
  if (options.node && faults.some((f) => f.kind === FaultKind.Reload)) throw new Error('--reload needs pages (Node volunteers have no store to resume from)');
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-farm-'));
  const hash = await createCpuSha256();
  // With --dataset the farm holds the datasets on its shelf for the whole run: its recheck (and the protocol cheaters, which compute without fetching) read them there.
  const data = options.dataset ? await datasetJobs(seed, dir, hash, options.datasetJobs) : undefined;
  const unshelve = [...(data?.datasets ?? [])].map(([root, bytes]) => shelf.holdDataset(root, bytes));
  const jobs = data?.specs ?? options.jobs ?? defaultJobs(seed);
  const jobFiles =
    data?.files ??
    jobs.map((j, i) => {
      const file = join(dir, `job-${i}.json`);
      writeFileSync(file, JSON.stringify(j));
      return file;
    });
  const hostId = `farm-${process.pid}-${seed}`;
  const hosts = options.hosts ?? 1;
  const db = checkFarmDb(options.db, hosts);
  if (options.killHost && hosts < 2) throw new Error('--kill-host needs --hosts 2 or more: the volunteers of the killed process move to the others');
  const signalPort = await freePort();
  let signaling: Signaling | undefined = await startSignaling(signalPort);
  const signalUrl = signaling.url;
  if (options.turn && options.ice) throw new Error('--coturn starts its own TURN server: give it no ICE flags');
  const turn = options.turn ? await startFarmTurn(log) : options.ice ? farmIce(options.ice, join(dir, 'ice.json')) : undefined;
  const run = new AbortController();
  const stopAll = () => run.abort();
  signal.addEventListener('abort', stopAll, { once: true });
  const host = new HostGroup({
    hosts,
    db,
    dir,
    jobFiles,
    signalUrl,
    hostId,
    leaseMs: options.leaseMs ?? 6000,
    log,
    nodeFlags: options.hostFlags,
    hostArgs: [...(turn?.hostArgs ?? []), ...(options.noGroupCommit ? ['--no-group-commit'] : [])],
  });
  // Volunteer i starts on process i mod N and moves on to the next when its process cannot be reached.
  const hostsFor = (i: number) => host.ids.map((_, k) => host.ids[(i + k) % host.ids.length]!);
  let hostKilled = false;
  /** With killHost and Node volunteers: units each had done when their first process was killed. */
  let doneAtKill: number[] | undefined;
  const pages = new PageFarm();
  const background = new BackgroundPages();
  const nodes = new NodeVolunteers();
  const cheaters: Cheater[] = [];
  const liars: LyingPeer[] = [];
  let closing: Promise<{ page: number; uploading: number } | undefined> | undefined;
  let web: ViteDevServer | undefined;
  const faultLog: string[] = [];
  const reloaded = new Set<number>();
  let outboxRedelivered = 0;
  try {
    if (!options.node) web = await startWeb(await freePort(), { signalUrl, hostId });
    await host.start(signal);
    const query = new URLSearchParams({
      signal: signalUrl,
      host: host.ids.join(','),
      'checkpoint-ms': '200',
      ...(options.backend ? { backend: options.backend } : {}),
    });
    for (let i = 0; i < options.volunteers; i++) {
      const ice = turn?.iceFor(`farm-volunteer-${i}`);
      if (options.node) {
        const [first, ...others] = hostsFor(i);
        await nodes.add(signalUrl, first!, ice, others);
        continue;
      }
      // Pages only: Node volunteers have no web server to load from.
      const url = `http://localhost:${web!.config.server.port}/?${query}${ice ? `&${new URLSearchParams({ ice: JSON.stringify(ice) })}` : ''}`;
      if (toBackground.has(i)) await background.add(pages, url);
      else await pages.add(url);
    }
    // The clock starts once every volunteer is loaded: from here on the job runs.
    const started = performance.now();
    const dbCpuAtStart = host.dbCpuSeconds();
    const farmCpuAtStart = process.cpuUsage();
    const kinds = usableKinds(jobs);
    for (let i = 0; i < (options.cheaters ?? 0); i++) {
      cheaters.push(await startCheater({ kind: kinds[i % kinds.length]!, signalUrl, hostId: host.ids[i % hosts]!, jobs, signal: run.signal, log }));
    }
    // A head start until each cheater has told its first lie (≤ 10 s): a small job must not be
    // done before they reach units of the kernel they lie about.
    const lying = () => cheaters.every((c) => c.report.lies > 0);
    for (const until = performance.now() + 10_000; cheaters.length > 0 && !lying() && performance.now() < until;) await sleep(100, run.signal);
    // Lying peers hold every dataset before the volunteers start: the first to need one is named a liar.
    const roots = [...(data?.datasets ?? [])].map(([root, bytes]) => ({ root, bytes: bytes.length }));
    for (let i = 0; i < (options.liars ?? 0); i++) liars.push(await startLyingPeer({ signalUrl, hostId, datasets: roots, signal: run.signal, log }));
    nodes.startAll();
    await Promise.all(pages.pages.map((p) => p.start()));
    if (options.closeServing) closing = closeWhileServing(pages, run.signal, log, data?.swarm ? data.swarm.bytes + DATASET_CHUNK_BYTES : 0);
    log(`farm: ${options.volunteers} volunteer(s), ${cheaters.length} cheater(s), ${faults.length} fault(s) planned`);

    const deadline = started + (options.timeLimitS ?? 600) * 1000;
    const pending: PlannedFault[] = [...faults];
    const progressNow = () => (host.latest && host.latest.total > 0 ? host.latest.accepted / host.latest.total : 0);
    // Faults fall in the part of the job the honest volunteers see (the cheaters' head start may have done some).
    const from = progressNow();
    for (;;) {
      const stats = host.latest;
      const progress = (progressNow() - from) / (1 - from || 1);
      if (stats && stats.total > 0 && stats.accepted === stats.total) break;
      if (performance.now() > deadline) {
        log('farm: time limit reached');
        break;
      }
      if (options.killHost && !hostKilled && progress >= 0.05) {
        hostKilled = true;
        const what = `SIGKILL of host process ${hosts - 1} at ${(progressNow() * 100).toFixed(0)}% accepted`;
        log(`farm: fault ${what}`);
        faultLog.push(what);
        doneAtKill = nodes.sessions.map((s) => s.unitsDone);
        await host.killOne(hosts - 1);
      }
      while (pending.length > 0 && pending[0]!.at <= progress) {
        const f = pending.shift()!;
        const what = `${f.kind}${f.page === undefined ? '' : ` page ${f.page}`} at ${(progressNow() * 100).toFixed(0)}% accepted`;
        log(`farm: fault ${what}`);
        faultLog.push(what);
        if (f.kind === FaultKind.Kill) {
          if (options.node) nodes.sessions[f.page!]!.close();
          else await pages.pages[f.page!]!.close();
        } else if (f.kind === FaultKind.Reload) {
          outboxRedelivered += (await pages.pages[f.page!]!.reload()).outbox;
          reloaded.add(f.page!);
        } else if (f.kind === FaultKind.Hide) {
          await background.hide(f.page!);
        } else if (f.kind === FaultKind.Freeze) {
          await background.freeze(f.page!, FREEZE_MS, log);
        } else if (f.kind === FaultKind.SignalOutage) {
          await signaling?.close();
          signaling = undefined;
          await sleep(3000, run.signal);
          signaling = await startSignaling(signalPort);
        } else {
          await host.kill();
          await host.start(signal);
        }
      }
      await sleep(250, run.signal);
    }
    const seconds = (performance.now() - started) / 1000;
    // A frozen page's facts cannot be read until it thaws.
    await background.thawed();
    const dbCpuEnd = host.dbCpuSeconds();
    const farmCpu = process.cpuUsage(farmCpuAtStart);
    const dbCpu = dbCpuEnd === undefined || dbCpuAtStart === undefined ? undefined : dbCpuEnd - dbCpuAtStart;
    const closedWhileServing = await closing;
    if (closedWhileServing) faultLog.push(`closed page ${closedWhileServing.page} while ${closedWhileServing.uploading} volunteer(s) fetched from it`);

    const facts = await Promise.all(pages.pages.map((p) => p.facts()));
    const paths = options.node ? nodes.sessions.map((x) => x.path) : facts.map((f) => f.path);
    const computeSeconds = options.node ? nodes.computeSeconds : facts.reduce((n, f) => n + f.computeMs, 0) / 1000;
    const resumed = [...reloaded].filter((i) => facts[i]!.resumed).length;
    run.abort();
    for (const l of liars) l.close();
    await Promise.all(cheaters.map((c) => c.done));
    nodes.close();
    await pages.close();
    await background.close();
    await host.stop();
    const store = await openHostStore(host.store, { existing: true });
    const snapshot = await store.load();
    const results = await judgeResults(
      snapshot,
      cheaters.map((c) => ({ id: c.id, keys: c.keys, kind: c.kind, liesByKey: c.report.liesByKey })),
      hash,
      (unitId, root) => store.output(unitId, root),
    );
    await store.close();
    const credit = creditFacts(snapshot);
    const accepted = new Set(snapshot.units.filter((u) => u.state === 'accepted').map((u) => u.unitId));
    const hostStats = host.total();
    const readsData = new Set(jobs.filter((j) => datasetsOf(j).length > 0).map((j) => j.id));
    const dataUnits = snapshot.units.filter((u) => u.state === 'accepted' && readsData.has(u.jobId)).length;
    // Protocol cheaters compute from the farm's own copy of the datasets, fetching nothing: their units would flatter the figure. Output cheaters run the real session, fetching as honest volunteers do.
    const fetchesNothing = new Set(cheaters.filter((c) => !isOutputCheat(c.kind)).flatMap((c) => c.keys));
    const figure = (ids: readonly string[]) =>
      localityFigure(
        snapshot,
        jobs.filter((j) => ids.includes(j.id)),
        hostStats.inputBytesByKey,
        (key) => !fetchesNothing.has(key),
      );
    const summary: FarmSummary = {
      volunteers: options.volunteers,
      ...results,
      units_lost: [...host.announced.keys()].filter((id) => !accepted.has(id)).length,
      duplicates_accepted: [...host.announced.values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
      cheaters: cheaters.length,
      cheater_kinds: cheaters.map((c) => c.kind),
      resumed_from_checkpoint: resumed,
      outbox_redelivered: outboxRedelivered,
      faults_injected: faultLog.length,
      fault_log: faultLog,
      seconds,
      units_per_second: results.units_accepted / seconds,
      verify_cpu_seconds: judgingSeconds(hostStats.busy),
      host_cpu_seconds: hostStats.cpuSeconds,
      hosts,
      db: db.startsWith('postgres') ? FarmDbName.Postgres : FarmDbName.Sqlite,
      host_cpu_ms_per_unit: results.units_accepted > 0 ? (hostStats.cpuSeconds * 1000) / results.units_accepted : 0,
      farm_cpu_seconds: (farmCpu.user + farmCpu.system) / 1e6,
      ...(dbCpu === undefined ? {} : { db_cpu_seconds: dbCpu, db_cpu_ms_per_unit: results.units_accepted > 0 ? (dbCpu * 1000) / results.units_accepted : 0 }),
      ...credit,
      ...(doneAtKill ? { moved: movedVolunteers(doneAtKill, nodes, (i) => hostsFor(i)[0] === host.ids[hosts - 1]) } : {}),
      host_busy: hostStats.busy,
      compute_seconds: computeSeconds,
      input_bytes_sent: hostStats.inputBytes,
      input_bytes_per_unit: dataUnits > 0 ? hostStats.inputBytes / dataUnits : 0,
      ...(data ? { dataset: true, locality: figure(data.sharedB), locality_tiled: figure(data.tiled) } : {}),
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.turn ? { turn: true } : {}),
      ...connectionFigures(paths, turn?.isRelayAddress),
      ...(options.node ? {} : { page_backends: [...new Set(facts.filter((f) => f.backend).map((f) => f.backend))] }),
      swarm: swarmFigure({
        stats: hostStats,
        facts,
        nodePeerBytes: nodes.peerInputBytes,
        sharedB: data?.swarm,
        liars: liars.map((l) => l.report),
        closedWhileServing,
      }),
      failures: [],
    };
    summary.failures = [...brokenInvariants(summary), ...turnInvariant(summary), ...brokenCredit(credit), ...swarmInvariants(summary.swarm!)];
    return summary;
  } finally {
    signal.removeEventListener('abort', stopAll);
    run.abort();
    nodes.close();
    for (const l of liars) l.close();
    await pages.close();
    await background.close();
    await host.close().catch(() => undefined);
    await web?.close();
    await signaling?.close();
    await turn?.close();
    for (const release of unshelve) release();
    rmSync(dir, { recursive: true, force: true });
  }
}
