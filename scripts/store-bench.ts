/**
 * `npm run bench -- --store [--units 16000] [--volunteers 32] [--modes off,on] [--runs 1] [--cpu-prof DIR] [--out bench-results/store.json]`:
 * one host process's cost per unit on SQLite, with group commit off (every commit its own
 * fsynced transaction, as before) and on. A real HostCore on a real SQLite file (WAL,
 * synchronous = FULL, in the temp directory) runs in a child process (store-bench/host-process.ts);
 * this process drives it over Node's IPC with honest volunteers speaking the real protocol,
 * their results computed before the clock starts (store-bench/driver.ts). The host's figures
 * are its own process's: CPU (process.cpuUsage) and event-loop busy time (CPU plus the
 * synchronous fsyncs), per accepted unit, over the timed run, and the CPU over its middle half
 * (V8 compiles the host's hot code on background threads through the first few thousand units: a
 * once-a-process cost, about 0.4 s of CPU here, which the whole run's figure spreads over its
 * units). WebRTC is left out: the IPC pipe stands in for the data channels (README "Host
 * scaling" measures them with the farm).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createCpuSha256 } from '../src/hash/sha256-cpu';
import { createKeyPair, identityFromKeyPair } from '../src/proof/identity';
import { parseCommand } from './args';
import { BENCH_STORE_COMMAND } from './commands';
import { BenchVolunteer, HostProcess, computeAll, newAnnounced, type Announced } from './store-bench/driver';
import type { HostProcessStats } from './store-bench/wire';

export interface StoreBenchRow {
  readonly groupCommit: boolean;
  readonly volunteers: number;
  readonly units: number;
  readonly seconds: number;
  readonly unitsPerSecond: number;
  readonly hostCpuSeconds: number;
  readonly hostCpuMsPerUnit: number;
  /** The part of hostCpuMsPerUnit spent in the kernel. */
  readonly hostSystemMsPerUnit: number;
  /** Units per second of host CPU: the figure the 4× goal is about. */
  readonly unitsPerHostCpuSecond: number;
  readonly hostBusyMsPerUnit: number;
  readonly transactionsPerUnit: number;
  readonly batchesPerTransaction: number;
  /**
   * Host CPU per unit over the middle half of the run (from the 1/4th receipt to the 3/4th): the
   * whole run's figure includes V8 compiling the host's code on its background threads, a cost a
   * process pays once, which a short run spreads over few units.
   */
  readonly middleCpuMsPerUnit: number | null;
  readonly middleUnitsPerHostCpuSecond: number | null;
}

export async function storeBenchMain(argv: readonly string[]): Promise<void> {
  const cli = parseCommand(BENCH_STORE_COMMAND, argv);
  const { values } = cli;
  const units = cli.check(() => whole(values.units, '--units', 1, 1_000_000));
  const volunteerCount = cli.check(() => whole(values.volunteers, '--volunteers', 1, 10_000));
  const runs = cli.check(() => whole(values.runs, '--runs', 1, 100));
  const modes = values.modes.split(',').map((m) => {
    if (m !== 'on' && m !== 'off') cli.fail(`--modes takes on and/or off (group commit), not ${m}`);
    return m === 'on';
  });
  const outFile = values.out;
  const hash = await createCpuSha256();
  console.log(`computing the ${units} units' results once, before any timing…`);
  const computed = computeAll(units, hash);
  const identities = await Promise.all(Array.from({ length: volunteerCount }, async () => identityFromKeyPair(await createKeyPair())));
  const dir = mkdtempSync(join(tmpdir(), 'tabgrid-store-bench-'));
  const rows: StoreBenchRow[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      for (const groupCommit of modes) {
        const profDir = values['cpu-prof'];
        const host = await HostProcess.start({
          db: join(dir, `run-${run}-${groupCommit ? 'on' : 'off'}.sqlite`),
          units,
          groupCommit,
          execArgv: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
        });
        const announced = newAnnounced();
        const volunteers = identities.map((id, i) => new BenchVolunteer(`v${i}`, id, computed, announced));
        await Promise.all(volunteers.map((v) => v.greet(host)));
        const before = await host.stats();
        const start = performance.now();
        const middle = middleWindow(units, announced, host);
        await Promise.all(volunteers.map((v) => v.work(host)));
        const [quarter, threeQuarters] = await middle;
        const seconds = (performance.now() - start) / 1000;
        const after = await host.stats();
        await host.stop();
        if (after.accepted !== units || announced.receipts.size !== units) {
          throw new Error(`the host accepted ${after.accepted} of ${units} units (${announced.receipts.size} receipts announced)`);
        }
        const cpu = after.cpuSeconds - before.cpuSeconds;
        const transactions = after.transactions - before.transactions;
        const row: StoreBenchRow = {
          groupCommit,
          volunteers: volunteerCount,
          units,
          seconds: round(seconds, 2),
          unitsPerSecond: Math.round(units / seconds),
          hostCpuSeconds: round(cpu, 2),
          hostCpuMsPerUnit: round((cpu * 1000) / units, 3),
          hostSystemMsPerUnit: round(((after.systemSeconds - before.systemSeconds) * 1000) / units, 3),
          unitsPerHostCpuSecond: Math.round(units / cpu),
          hostBusyMsPerUnit: round(((after.busySeconds - before.busySeconds) * 1000) / units, 3),
          transactionsPerUnit: round(transactions / units, 3),
          batchesPerTransaction: round((after.batches - before.batches) / transactions, 1),
          ...middleFigures(quarter, threeQuarters),
        };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const table = storeBenchTable(rows);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), rows, table }, null, 2));
  writeFileSync(outFile.replace(/\.json$/, '.md'), table + '\n');
  console.log(`\n${table}\n\nwrote ${outFile}`);
}

/**
 * The host's stats as the driver records the receipt a quarter and three quarters of the way
 * through (the host answers a stats request after the messages already sent it, so the window is
 * off by the few units in flight, alike at both ends).
 */
export function middleWindow(units: number, announced: Announced, host: Pick<HostProcess, 'stats'>): Promise<[HostProcessStats, HostProcessStats]> {
  const marks = [Math.ceil(units / 4), Math.ceil((3 * units) / 4)];
  const taken: Promise<HostProcessStats>[] = [];
  return new Promise((resolve, reject) => {
    announced.onAnnounce = () => {
      while (taken.length < marks.length && announced.receipts.size >= marks[taken.length]!) taken.push(host.stats());
      if (taken.length === marks.length) {
        announced.onAnnounce = undefined;
        Promise.all(taken).then(([a, b]) => resolve([a!, b!]), reject);
      }
    };
  });
}

export function middleFigures(a: HostProcessStats, b: HostProcessStats): Pick<StoreBenchRow, 'middleCpuMsPerUnit' | 'middleUnitsPerHostCpuSecond'> {
  const cpu = b.cpuSeconds - a.cpuSeconds;
  const units = b.accepted - a.accepted;
  if (units <= 0 || cpu <= 0) return { middleCpuMsPerUnit: null, middleUnitsPerHostCpuSecond: null };
  return { middleCpuMsPerUnit: round((cpu * 1000) / units, 3), middleUnitsPerHostCpuSecond: Math.round(units / cpu) };
}

/** The README's table: one row per run. */
export function storeBenchTable(rows: readonly StoreBenchRow[]): string {
  const head =
    '| SQLite group commit | volunteers | units | seconds | units/s | host CPU ms/unit | of it system ms/unit | units per host CPU s | middle half: host CPU ms/unit | middle half: units per host CPU s | host busy ms/unit | transactions/unit | commits/transaction |';
  const rule = '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = rows.map(
    (r) =>
      `| ${r.groupCommit ? 'on' : 'off'} | ${r.volunteers} | ${r.units} | ${r.seconds} | ${r.unitsPerSecond} | ${r.hostCpuMsPerUnit} | ${r.hostSystemMsPerUnit} | ${r.unitsPerHostCpuSecond} | ${r.middleCpuMsPerUnit ?? '–'} | ${r.middleUnitsPerHostCpuSecond ?? '–'} | ${r.hostBusyMsPerUnit} | ${r.transactionsPerUnit} | ${r.batchesPerTransaction} |`,
  );
  return [head, rule, ...lines].join('\n');
}

function whole(raw: string, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} takes a whole number in ${min}..${max}, not ${raw}`);
  return n;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
